/**
 * runc's command-line shape: global flags, a verb, the verb's flags and positionals. Both
 * `--flag value` and `--flag=value` work, and an unknown flag is an error naming it, as callers
 * such as containerd and podman rely on runc's exact spelling.
 */

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { invalidArgument } from '../../util/errors.ts';

export interface GlobalOptions {
  root?: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  rootless?: string;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS: OptionSpec = {
  root: { type: 'string' },
  log: { type: 'string' },
  'log-format': { type: 'string' },
  debug: { type: 'boolean' },
  'systemd-cgroup': { type: 'boolean' },
  rootless: { type: 'string' },
  criu: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
};

export interface SplitArgs {
  global: GlobalOptions;
  help: boolean;
  version: boolean;
  verb?: string;
  rest: string[];
}

/** Splits `[global flags] verb [verb args]`. */
export function splitGlobal(argv: string[]): SplitArgs {
  const index = argv.findIndex((arg, i) => !arg.startsWith('-') && !isValueOfGlobal(argv, i));
  const head = index === -1 ? argv : argv.slice(0, index);
  const { values } = parse(head, GLOBAL_OPTIONS, 'berth-runtime');
  const logFormat = (values['log-format'] as string | undefined) ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw invalidArgument(`invalid log-format ${JSON.stringify(logFormat)}: use text or json`);
  return {
    global: {
      root: values.root as string | undefined,
      log: values.log as string | undefined,
      logFormat,
      debug: values.debug === true,
      systemdCgroup: values['systemd-cgroup'] === true,
      rootless: values.rootless as string | undefined,
    },
    help: values.help === true,
    version: values.version === true,
    verb: index === -1 ? undefined : argv[index],
    rest: index === -1 ? [] : argv.slice(index + 1),
  };
}

function isValueOfGlobal(argv: string[], i: number): boolean {
  const prev = argv[i - 1];
  if (!prev || !prev.startsWith('--') || prev.includes('=')) return false;
  const spec = GLOBAL_OPTIONS[prev.slice(2)];
  return spec?.type === 'string';
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(args: string[], options: OptionSpec, command: string): Parsed {
  // urfave/cli (runc) also accepts single-dash long flags such as `-bundle`: normalise them.
  const normalised = args.map((arg) => (/^-[a-z][a-z-]+/.test(arg) && options[arg.slice(1).split('=')[0]!] ? `-${arg}` : arg));
  try {
    const { values, positionals } = parseArgs({ args: normalised, options, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    throw invalidArgument(`${command}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}`, err);
  }
}

export function requireId(positionals: string[], command: string): string {
  const id = positionals[0];
  if (!id) throw invalidArgument(`${command}: container id cannot be empty`);
  return id;
}

/** Index of the first positional argument (the container id), skipping flags and their values. */
export function firstPositional(args: string[], options: OptionSpec): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return i + 1;
    if (!arg.startsWith('-') || arg === '-') return i;
    if (arg.includes('=')) continue;
    const name = arg.startsWith('--') ? arg.slice(2) : Object.entries(options).find(([, o]) => o.short === arg.slice(1))?.[0] ?? arg.slice(1);
    if (options[name]?.type === 'string') i++;
  }
  return args.length;
}
