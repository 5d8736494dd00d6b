/**
 * Variable expansion in Dockerfile arguments, as docker's shell lexer does it for ADD, COPY, ENV,
 * EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG: `$name`, `${name}`,
 * `${name:-word}`, `${name:+word}` (and the forms without `:`), single quotes keep text literal,
 * double quotes group words, the escape character protects `$`, quotes and spaces. Quotes are
 * removed from the result. RUN, CMD and ENTRYPOINT are left to the shell in the container.
 */

import { invalidArgument } from '../../util/errors.ts';

export type Lookup = (name: string) => string | undefined;

interface Word {
  text: string;
  /** whether anything (even an empty quoted string) made this word */
  present: boolean;
}

function readName(text: string, at: number): string {
  const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at));
  return match ? match[0] : '';
}

/** `${…}` body starting after `${`; returns the value and the index after `}`. */
function braced(text: string, at: number, lookup: Lookup, escape: string): { value: string; next: number } {
  const name = readName(text, at);
  if (name === '') throw invalidArgument(`failed to process "${text}": missing ':' in substitution`);
  let i = at + name.length;
  if (text[i] === '}') return { value: lookup(name) ?? '', next: i + 1 };
  if (i >= text.length) throw invalidArgument(`failed to process "${text}": syntax error: missing '}'`);
  const colon = text[i] === ':';
  if (colon) i++;
  const op = text[i];
  if (op !== '-' && op !== '+') throw invalidArgument(`failed to process "${text}": unsupported modifier (${op ?? 'end of text'}) in substitution`);
  i++;
  // the word runs to the matching brace; nested ${} are expanded inside it
  let depth = 1;
  let end = i;
  for (; end < text.length; end++) {
    if (text[end] === escape) end++;
    else if (text[end] === '$' && text[end + 1] === '{') {
      depth++;
      end++;
    } else if (text[end] === '}' && --depth === 0) break;
  }
  if (depth !== 0) throw invalidArgument(`failed to process "${text}": syntax error: missing '}'`);
  const word = expand(text.slice(i, end), lookup, escape);
  const value = lookup(name);
  const set = colon ? value !== undefined && value !== '' : value !== undefined;
  const out = op === '-' ? (set ? value! : word) : set ? word : '';
  return { value: out, next: end + 1 };
}

function variable(text: string, at: number, lookup: Lookup, escape: string): { value: string; next: number } {
  if (text[at + 1] === '{') return braced(text, at + 2, lookup, escape);
  const name = readName(text, at + 1);
  if (name === '') return { value: '$', next: at + 1 };
  return { value: lookup(name) ?? '', next: at + 1 + name.length };
}

function lex(text: string, lookup: Lookup, escape: string, split: boolean): string[] {
  const words: Word[] = [{ text: '', present: false }];
  const current = (): Word => words.at(-1)!;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === escape) {
      if (i + 1 < text.length) current().text += text[i + 1];
      current().present = true;
      i += 2;
    } else if (ch === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) throw invalidArgument(`failed to process "${text}": unexpected end of statement while looking for matching single-quote`);
      current().text += text.slice(i + 1, end);
      current().present = true;
      i = end + 1;
    } else if (ch === '"') {
      current().present = true;
      i++;
      for (;;) {
        if (i >= text.length) throw invalidArgument(`failed to process "${text}": unexpected end of statement while looking for matching double-quote`);
        const c = text[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === escape && (text[i + 1] === '"' || text[i + 1] === '$' || text[i + 1] === escape)) {
          current().text += text[i + 1];
          i += 2;
        } else if (c === '$') {
          const { value, next } = variable(text, i, lookup, escape);
          current().text += value;
          i = next;
        } else {
          current().text += c;
          i++;
        }
      }
    } else if (ch === '$') {
      const { value, next } = variable(text, i, lookup, escape);
      current().text += value;
      if (value !== '') current().present = true;
      i = next;
    } else if (split && /\s/.test(ch)) {
      if (current().present) words.push({ text: '', present: false });
      i++;
    } else {
      current().text += ch;
      current().present = true;
      i++;
    }
  }
  return words.filter((w) => w.present).map((w) => w.text);
}

/** One word: variables expanded, quotes removed, whitespace kept. */
export function expand(text: string, lookup: Lookup, escape = '\\'): string {
  return lex(text, lookup, escape, false).join('');
}

/** Words split on unquoted whitespace, each expanded (COPY sources, VOLUME, EXPOSE). */
export function expandWords(text: string, lookup: Lookup, escape = '\\'): string[] {
  return lex(text, lookup, escape, true);
}

/**
 * `key=value …` pairs of ENV, LABEL and ARG (values expanded, quotes removed), or the legacy
 * `ENV key value with spaces` form when the first word has no `=`.
 */
export function keyValues(keyword: string, rest: string, lookup: Lookup, escape = '\\'): [string, string | undefined][] {
  const raw = rawWords(rest, escape);
  if (raw.length === 0) throw invalidArgument(`${keyword} requires at least one argument`);
  if (!raw[0]!.includes('=')) {
    if (keyword === 'ARG') {
      if (raw.length !== 1) throw invalidArgument('ARG requires exactly one argument');
      return [[raw[0]!, undefined]];
    }
    const space = /\s/.exec(rest);
    if (space === null) throw invalidArgument(`${keyword} names can not be blank`);
    return [[rest.slice(0, space.index), expand(rest.slice(space.index).trim(), lookup, escape)]];
  }
  return raw.map((word) => {
    const at = word.indexOf('=');
    if (at <= 0) {
      if (keyword === 'ARG' && at === -1) return [word, undefined];
      throw invalidArgument(`${keyword} names can not be blank`);
    }
    return [expand(word.slice(0, at), lookup, escape), expand(word.slice(at + 1), lookup, escape)];
  });
}

/** Words split on unquoted whitespace with their quotes kept (for key=value parsing). */
export function rawWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === escape && i + 1 < text.length) {
      word += ch + text[++i];
    } else if (quote !== undefined) {
      word += ch;
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      word += ch;
      quote = ch;
    } else if (/\s/.test(ch)) {
      if (word !== '') words.push(word);
      word = '';
    } else {
      word += ch;
    }
  }
  if (word !== '') words.push(word);
  return words;
}
