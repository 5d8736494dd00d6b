/**
 * The words Go's encoding/json uses for a syntax error (`invalid character 'x' looking for
 * beginning of value`, `unexpected EOF`), found by our own small scanner: moby answers
 * malformed bodies with them, and clients and scripts match on them.
 */

class Stop {
  constructor(readonly message: string) {}
}

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  const code = c.charCodeAt(0);
  if (code < 0x20) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

/** Go's message for the first syntax error in `text` read as one JSON value, or undefined if none. */
export function goJsonError(text: string): string | undefined {
  let i = 0;
  const peek = (): string | undefined => text[i];
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const bad = (context: string): never => {
    const c = peek();
    throw new Stop(c === undefined ? 'unexpected EOF' : `invalid character ${quoteChar(c)} ${context}`);
  };
  const literal = (word: string): void => {
    for (let k = 0; k < word.length; k++, i++) {
      if (text[i] !== word[k]) bad(k === 0 ? 'looking for beginning of value' : `in literal ${word} (expecting '${word[k]}')`);
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      const c = peek();
      if (c === undefined) bad('');
      if (c === '"') {
        i++;
        return;
      }
      if (c! < ' ') bad('in string literal');
      if (c === '\\') {
        i++;
        const e = peek();
        if (e === undefined) bad('');
        if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(peek() ?? '')) bad('in \\u hexadecimal character escape');
          continue;
        }
        if (!'"\\/bfnrt'.includes(e!)) bad('in string escape code');
      }
      i++;
    }
  };
  const number = (): void => {
    if (peek() === '-') i++;
    if (peek() === '0') i++;
    else if (/[1-9]/.test(peek() ?? '')) while (/[0-9]/.test(peek() ?? '')) i++;
    else bad('in numeric literal');
    if (peek() === '.') {
      i++;
      if (!/[0-9]/.test(peek() ?? '')) bad('after decimal point in numeric literal');
      while (/[0-9]/.test(peek() ?? '')) i++;
    }
    if (peek() === 'e' || peek() === 'E') {
      i++;
      if (peek() === '+' || peek() === '-') i++;
      if (!/[0-9]/.test(peek() ?? '')) bad('in exponent of numeric literal');
      while (/[0-9]/.test(peek() ?? '')) i++;
    }
  };
  const value = (): void => {
    ws();
    const c = peek();
    if (c === '{') {
      i++;
      ws();
      if (peek() === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (peek() !== '"') bad('looking for beginning of object key string');
        string();
        ws();
        if (peek() !== ':') bad('after object key');
        i++;
        value();
        ws();
        if (peek() === ',') {
          i++;
          continue;
        }
        if (peek() === '}') {
          i++;
          return;
        }
        bad('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (peek() === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (peek() === ',') {
          i++;
          continue;
        }
        if (peek() === ']') {
          i++;
          return;
        }
        bad('after array element');
      }
    }
    if (c === '"') return string();
    if (c === '-' || /[0-9]/.test(c ?? '')) return number();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    bad('looking for beginning of value');
  };
  try {
    value();
    // a Decoder reads one value and leaves the rest unread: trailing bytes are no error
    return undefined;
  } catch (err) {
    if (err instanceof Stop) return err.message;
    throw err;
  }
}
