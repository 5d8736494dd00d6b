/**
 * The Dockerfile language as the docker builder reads it: parser directives (`# escape=`), comments,
 * line continuations, instruction flags (`--from=`, `--chown=`), the exec (JSON) and shell forms, and
 * the stages a `FROM … AS name` opens. Variables are not expanded here: which instructions expand
 * and with which values depends on the build (ARG, ENV), see expand.ts and the builder.
 */

import { invalidArgument } from '../../util/errors.ts';
import { rawWords } from './expand.ts';

export interface Instruction {
  /** upper case: FROM, RUN, COPY… */
  readonly keyword: string;
  /** `--name=value` flags before the arguments, in order */
  readonly flags: ReadonlyMap<string, string>;
  /** the text after the keyword and flags, continuation lines joined */
  readonly rest: string;
  /** the exec form's list when the arguments are a JSON array of strings */
  readonly json?: readonly string[];
  /** the instruction as written (flags included), for `Step n/m : …` and history */
  readonly original: string;
  /** 1-based line of the keyword in the Dockerfile */
  readonly line: number;
}

export interface Stage {
  /** the FROM instruction's image argument, unexpanded */
  readonly from: Instruction;
  /** `AS name`, lower-cased as docker does */
  readonly name?: string;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** the escape character (`# escape=` directive): \\ or ` */
  readonly escape: string;
  /** ARG instructions before the first FROM: they may be used in FROM lines only */
  readonly globalArgs: readonly Instruction[];
  readonly stages: readonly Stage[];
}

const KEYWORDS = new Set(['ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);

/** Flags each instruction accepts (docker's legacy builder; BuildKit-only ones are refused by name). */
const FLAGS: Record<string, readonly string[]> = {
  FROM: ['platform'],
  COPY: ['from', 'chown', 'chmod'],
  ADD: ['chown', 'chmod'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

/** Parser directives: `# key=value` lines at the very top, before any comment or instruction. */
function directives(lines: string[]): { escape: string; first: number } {
  let escape = '\\';
  let first = 0;
  const seen = new Set<string>();
  for (; first < lines.length; first++) {
    const match = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[first]!);
    if (!match) break;
    const key = match[1]!.toLowerCase();
    if (seen.has(key)) throw invalidArgument(`dockerfile parse error on line ${first + 1}: only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (match[2] !== '\\' && match[2] !== '`') throw invalidArgument(`dockerfile parse error on line ${first + 1}: invalid escape token '${match[2]}' does not match ` + '` or \\');
      escape = match[2]!;
    }
  }
  return { escape, first };
}

/** Joins continuation lines; comment lines inside a continuation are dropped, as docker does. */
function logicalLines(text: string): { escape: string; lines: { text: string; line: number }[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const { escape, first } = directives(lines);
  const out: { text: string; line: number }[] = [];
  let current: string | undefined;
  let start = 0;
  for (let i = first; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (current === undefined) {
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      current = '';
      start = i + 1;
    } else if (trimmed.startsWith('#') || trimmed === '') {
      continue;
    }
    const stripped = raw.replace(/\s+$/, '');
    if (stripped.endsWith(escape)) {
      current += stripped.slice(0, -1);
      continue;
    }
    current += raw;
    out.push({ text: current.trim(), line: start });
    current = undefined;
  }
  if (current !== undefined && current.trim() !== '') out.push({ text: current.trim(), line: start });
  return { escape, lines: out };
}

function jsonArray(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(rest);
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed as string[];
  } catch {
    // not JSON: docker falls back to the shell form
  }
  return undefined;
}

/** One instruction's text (continuations joined), as in a Dockerfile or an ONBUILD trigger. */
export function parseInstruction(text: string, line: number): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(text)!;
  const keyword = match[1]!.toUpperCase();
  if (!KEYWORDS.has(keyword)) throw invalidArgument(`dockerfile parse error on line ${line}: unknown instruction: ${match[1]}`);
  let rest = match[2]!;
  const flags = new Map<string, string>();
  const allowed = FLAGS[keyword] ?? [];
  for (;;) {
    const flag = /^--([a-z][a-z-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!flag) break;
    const name = flag[1]!;
    if (!allowed.includes(name)) {
      const buildkit = ['mount', 'network', 'security', 'link', 'parents', 'exclude', 'keep-git-dir', 'checksum'].includes(name);
      throw invalidArgument(`dockerfile parse error on line ${line}: unknown flag: --${name}${buildkit ? ` (a BuildKit feature; berthd builds as docker's legacy builder does)` : ''}`);
    }
    if (flag[2] === undefined) throw invalidArgument(`dockerfile parse error on line ${line}: --${name} needs a value (--${name}=value)`);
    flags.set(name, flag[2]);
    rest = rest.slice(flag[0].length);
  }
  rest = rest.trim();
  if (/^<<-?["']?[A-Za-z_]/.test(rest) && (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD')) {
    throw invalidArgument(`dockerfile parse error on line ${line}: heredocs are a BuildKit feature; berthd builds as docker's legacy builder does`);
  }
  const json = jsonArray(rest);
  return { keyword, flags, rest, ...(json !== undefined ? { json } : {}), original: text, line };
}

/** Instructions that need arguments, and the minimum count docker asks for. */
function checkArguments(ins: Instruction, escape: string): void {
  const { keyword, rest, line } = ins;
  const empty = rest === '' || (ins.json !== undefined && ins.json.length === 0 && !['CMD', 'ENTRYPOINT', 'SHELL', 'RUN'].includes(keyword));
  if (empty && !['CMD', 'ENTRYPOINT'].includes(keyword)) throw invalidArgument(`dockerfile parse error on line ${line}: ${keyword} requires at least one argument`);
  if ((keyword === 'COPY' || keyword === 'ADD') && (ins.json ?? rawWords(rest, escape)).length < 2) {
    throw invalidArgument(`dockerfile parse error on line ${line}: ${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`);
  }
  if (keyword === 'SHELL' && (ins.json === undefined || ins.json.length === 0)) throw invalidArgument(`dockerfile parse error on line ${line}: SHELL requires the arguments to be in JSON form`);
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Instruction[] = [];
  const stages: { from: Instruction; name?: string; instructions: Instruction[] }[] = [];
  const { escape, lines } = logicalLines(text);
  for (const { text: line, line: number } of lines) {
    const ins = parseInstruction(line, number);
    checkArguments(ins, escape);
    if (ins.keyword === 'FROM') {
      const words = rawWords(ins.rest, escape);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as')) {
        throw invalidArgument(`dockerfile parse error on line ${number}: FROM requires either one or three arguments`);
      }
      const name = words[2]?.toLowerCase();
      if (name !== undefined && !/^[a-z][a-z0-9_.-]*$/.test(name)) throw invalidArgument(`dockerfile parse error on line ${number}: invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
      if (name !== undefined && stages.some((s) => s.name === name)) throw invalidArgument(`dockerfile parse error on line ${number}: duplicate name ${name}`);
      stages.push({ from: ins, ...(name !== undefined ? { name } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw invalidArgument(`dockerfile parse error on line ${number}: no build stage in current context (the first instruction must be FROM)`);
      globalArgs.push(ins);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  if (stages.length === 0) throw invalidArgument('the Dockerfile (Dockerfile) cannot be empty');
  return { escape, globalArgs, stages };
}
