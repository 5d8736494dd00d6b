/**
 * runc's command-line shape: global flags, a verb, the verb's flags and positionals. Both
 * `--flag value` and `--flag=value` work, and an unknown flag is an error naming it, as callers
 * such as containerd and podman rely on runc's exact spelling.
 */

import { invalidArgument } from '../../util/errors.ts';

export interface GlobalOptions {
  root?: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  rootless?: string;
}

export interface OptionDefinition {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export type OptionSpec = Record<string, OptionDefinition>;

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
    return parseStrict(normalised, options);
  } catch (err) {
    throw invalidArgument(`${command}: ${(err as Error).message}`, err);
  }
}

/**
 * node:util's parseArgs in strict mode with positionals allowed, and its messages. Not node:util
 * itself: under Bun, loading that module costs ~2 ms of every CLI call's start-up.
 */
function parseStrict(args: string[], options: OptionSpec): Parsed {
  const values: Parsed['values'] = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) if (option.short) byShort.set(option.short, name);
  const label = (name: string): string => (options[name]!.short ? `-${options[name]!.short}, --${name}` : `--${name}`);
  const store = (name: string, value: string | boolean): void => {
    if (!options[name]!.multiple) values[name] = value;
    else ((values[name] ??= []) as Array<string | boolean>).push(value);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    // the value of a string option given as the next argument
    const next = (name: string, short: boolean): string => {
      const value = args[i + 1];
      if (value === undefined) throw new Error(`Option '${label(name)} <value>' argument missing`);
      if (value.length > 1 && value.startsWith('-')) {
        const given = short ? `-${options[name]!.short}` : `--${name}`;
        const example = short ? `'--${name}=-XYZ' or '-${options[name]!.short}-XYZ'` : `'--${name}=-XYZ'`;
        throw new Error(`Option '${given}' argument is ambiguous.\nDid you forget to specify the option argument for '${given}'?\nTo specify an option argument starting with a dash use ${example}.`);
      }
      i++;
      return value;
    };
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      if (!Object.hasOwn(options, name)) throw new Error(`Unknown option '--${name}'`);
      if (options[name]!.type === 'boolean') {
        if (eq !== -1) throw new Error(`Option '${label(name)}' does not take an argument`);
        store(name, true);
      } else {
        store(name, eq === -1 ? next(name, false) : arg.slice(eq + 1));
      }
    } else if (arg.startsWith('-') && arg !== '-') {
      // -x, -xVALUE, or a group of boolean flags such as -dk
      for (let j = 1; j < arg.length; j++) {
        const name = byShort.get(arg[j]!);
        if (name === undefined) throw new Error(`Unknown option '-${arg[j]}'`);
        if (options[name]!.type === 'boolean') {
          store(name, true);
          continue;
        }
        store(name, j + 1 < arg.length ? arg.slice(j + 1) : next(name, true));
        break;
      }
    } else {
      positionals.push(arg);
    }
  }
  return { values, positionals };
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
