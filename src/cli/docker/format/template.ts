/**
 * The subset of Go's text/template that docker users put in `--format`: field chains
 * (`{{.Config.Cmd}}`), `{{.}}`, the functions docker adds (`json`, `join`, `upper`, `lower`,
 * `title`, `index`, `println`), pipelines (`{{.Name | upper}}`), and the `table` prefix with
 * `\t` and `\n` escapes. Values print as Go prints them (`[a b]`, `map[k:v]`, `<no value>`),
 * so scripts written against docker keep working.
 */

import { invalidArgument } from '../../../util/errors.ts';

type Node = { kind: 'text'; text: string } | { kind: 'action'; pipeline: Command[] };
type Arg = { kind: 'field'; path: string[] } | { kind: 'string'; value: string } | { kind: 'number'; value: number };
type Command = { fn?: string; args: Arg[] };

const FUNCTIONS = new Set(['json', 'join', 'upper', 'lower', 'title', 'index', 'println', 'print', 'len']);

export interface Template {
  /** true when the format began with `table`: the caller prints a header row */
  table: boolean;
  /** the field names of the top-level `{{.X}}` actions, in order (for the header row) */
  fields: string[];
  render(data: unknown): string;
}

/** Replaces the two-character escapes docker honours in formats (`\t`, `\n`). */
function unescape(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export function parseTemplate(format: string): Template {
  let source = format;
  let table = false;
  if (/^table(\s|$)/.test(source)) {
    table = true;
    source = source.slice('table'.length).trimStart();
  }
  source = unescape(source);
  const nodes: Node[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open === -1) {
      nodes.push({ kind: 'text', text: source.slice(at) });
      break;
    }
    if (open > at) nodes.push({ kind: 'text', text: source.slice(at, open) });
    const close = source.indexOf('}}', open + 2);
    if (close === -1) throw invalidArgument(`template parsing error: template: :1: unclosed action`);
    let body = source.slice(open + 2, close);
    // `{{- x -}}` trims the whitespace beside the action
    if (body.startsWith('- ')) {
      body = body.slice(2);
      const last = nodes.at(-1);
      if (last?.kind === 'text') last.text = last.text.trimEnd();
    }
    let trimRight = false;
    if (body.endsWith(' -')) {
      body = body.slice(0, -2);
      trimRight = true;
    }
    nodes.push({ kind: 'action', pipeline: parsePipeline(body.trim()) });
    at = close + 2;
    if (trimRight) while (at < source.length && /\s/.test(source[at]!)) at++;
  }
  const fields: string[] = [];
  for (const node of nodes) {
    if (node.kind !== 'action') continue;
    const first = node.pipeline[0];
    const arg = first?.fn === undefined ? first?.args[0] : first.args[0];
    if (arg?.kind === 'field' && arg.path.length > 0) fields.push(arg.path[0]!);
  }
  return {
    table,
    fields,
    render(data: unknown): string {
      return nodes.map((node) => (node.kind === 'text' ? node.text : goString(runPipeline(node.pipeline, data)))).join('');
    },
  };
}

function tokenize(body: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|]+)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body)) !== null) {
    tokens.push(m[1]!);
    if (re.lastIndex >= body.length) break;
  }
  return tokens;
}

function parseArg(token: string): Arg {
  if (token === '.') return { kind: 'field', path: [] };
  if (token.startsWith('.')) return { kind: 'field', path: token.slice(1).split('.') };
  if (token.startsWith('"')) return { kind: 'string', value: JSON.parse(token) as string };
  if (token.startsWith('`')) return { kind: 'string', value: token.slice(1, -1) };
  if (/^-?\d+$/.test(token)) return { kind: 'number', value: Number(token) };
  throw invalidArgument(`template parsing error: template: :1: function "${token}" not defined`);
}

function parsePipeline(body: string): Command[] {
  if (body === '') throw invalidArgument('template parsing error: template: :1: missing value for command');
  const commands: Command[] = [];
  let current: string[] = [];
  const flush = (): void => {
    if (current.length === 0) throw invalidArgument('template parsing error: template: :1: missing command');
    const [head, ...rest] = current;
    if (FUNCTIONS.has(head!)) commands.push({ fn: head!, args: rest.map(parseArg) });
    else if (rest.length === 0) commands.push({ args: [parseArg(head!)] });
    else if (!head!.startsWith('.') && !/^["`\d-]/.test(head!)) throw invalidArgument(`template parsing error: template: :1: function "${head}" not defined`);
    else throw invalidArgument(`template parsing error: template: :1: can't give argument to non-function ${head}`);
    current = [];
  };
  for (const token of tokenize(body)) {
    if (token === '|') flush();
    else current.push(token);
  }
  flush();
  return commands;
}

function lookup(data: unknown, path: string[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || value === undefined || typeof value !== 'object') {
      throw invalidArgument(`template: :1: can't evaluate field ${key} in type ${goType(value)}`);
    }
    if (!(key in value)) {
      if (value instanceof Map || isPlainMap(value)) return undefined;
      throw invalidArgument(`template: :1: can't evaluate field ${key} in type ${goType(value)}`);
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Objects whose keys are data (labels, env maps) rather than struct fields: lowercase or dotted keys. */
function isPlainMap(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length === 0 || keys.some((k) => !/^[A-Z]/.test(k));
}

function goType(value: unknown): string {
  if (value === null || value === undefined) return 'interface {}';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return 'int';
  if (Array.isArray(value)) return '[]interface {}';
  return 'struct';
}

function evalArg(arg: Arg, data: unknown): unknown {
  if (arg.kind === 'field') return lookup(data, arg.path);
  return arg.value;
}

function runPipeline(pipeline: Command[], data: unknown): unknown {
  let previous: unknown;
  let first = true;
  for (const command of pipeline) {
    const args = command.args.map((a) => evalArg(a, data));
    if (!first) args.push(previous);
    first = false;
    if (command.fn === undefined) {
      previous = args[0];
      continue;
    }
    previous = callFunction(command.fn, args);
  }
  return previous;
}

function callFunction(fn: string, args: unknown[]): unknown {
  switch (fn) {
    case 'json':
      return JSON.stringify(args[0] ?? null);
    case 'join': {
      const [list, sep] = args;
      if (!Array.isArray(list)) return '';
      return list.map(goString).join(typeof sep === 'string' ? sep : '');
    }
    case 'upper':
      return goString(args[0]).toUpperCase();
    case 'lower':
      return goString(args[0]).toLowerCase();
    case 'title':
      return goString(args[0]).replace(/\b\w/g, (c) => c.toUpperCase());
    case 'len':
      return Array.isArray(args[0]) ? args[0].length : typeof args[0] === 'string' ? args[0].length : args[0] && typeof args[0] === 'object' ? Object.keys(args[0]).length : 0;
    case 'index': {
      let value = args[0];
      for (const key of args.slice(1)) {
        if (value === null || value === undefined) return undefined;
        value = (value as Record<string, unknown>)[String(key)];
      }
      return value;
    }
    case 'print':
      return args.map(goString).join(' ');
    case 'println':
      return `${args.map(goString).join(' ')}\n`;
    default:
      throw invalidArgument(`template: :1: function "${fn}" not defined`);
  }
}

/** A value as Go's fmt prints it with %v. */
export function goString(value: unknown): string {
  if (value === undefined) return '<no value>';
  if (value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map(goString).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (isPlainMap(value)) return `map[${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}:${goString(v)}`).join(' ')}]`;
    return `{${entries.map(([, v]) => goString(v)).join(' ')}}`;
  }
  return String(value);
}
