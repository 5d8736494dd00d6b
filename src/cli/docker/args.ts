/**
 * Docker-style argument parsing (cobra/pflag rules): `--flag value`, `--flag=value`, `-f value`,
 * `-fvalue`, combined short booleans (`-qa`), `--` ends flags, flags may follow arguments.
 * Parse errors are usage errors: docker prints them with a `--help` hint and exits 125.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagType = 'bool' | 'string' | 'list';

export interface FlagSpec {
  type: FlagType;
  short?: string;
  /** other long names (`--password-stdin` has none; `--input` has `-i`) */
  aliases?: string[];
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface Parsed {
  flags: Record<string, boolean | string | string[] | undefined>;
  args: string[];
}

export function parseArgs(argv: readonly string[], specs: FlagSpecs, options: { stopAtFirstArg?: boolean } = {}): Parsed {
  const flags: Parsed['flags'] = {};
  const args: string[] = [];
  const byLong = new Map<string, string>();
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    byLong.set(name, name);
    for (const alias of spec.aliases ?? []) byLong.set(alias, name);
    if (spec.short) byShort.set(spec.short, name);
    if (spec.type === 'list') flags[name] = [];
  }
  const set = (name: string, value: string | true): void => {
    const spec = specs[name]!;
    if (spec.type === 'list') (flags[name] as string[]).push(value as string);
    else if (spec.type === 'bool') flags[name] = value === true || !['false', '0'].includes(value);
    else flags[name] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const long = arg.slice(2, eq === -1 ? undefined : eq);
      const name = byLong.get(long);
      if (name === undefined) throw new UsageError(`unknown flag: --${long}`);
      if (eq !== -1) set(name, arg.slice(eq + 1));
      else if (specs[name]!.type === 'bool') set(name, true);
      else {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${long}`);
        set(name, argv[++i]!);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const c = arg[j]!;
        const name = byShort.get(c);
        if (name === undefined) throw new UsageError(`unknown shorthand flag: '${c}' in ${arg}`);
        if (specs[name]!.type === 'bool') {
          set(name, true);
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, '');
        if (rest !== '') set(name, rest);
        else {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
          set(name, argv[++i]!);
        }
        break;
      }
      continue;
    }
    args.push(arg);
    if (options.stopAtFirstArg) {
      args.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags, args };
}

export function requireArgs(args: readonly string[], command: string, usage: string, min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const what = min === max ? `exactly ${min} argument${min === 1 ? '' : 's'}` : max === Infinity ? `at least ${min} argument${min === 1 ? '' : 's'}` : `at least ${min} and at most ${max} arguments`;
    throw new UsageError(`"${command}" requires ${what}.\nSee 'berth ${command} --help'.\n\nUsage:  berth ${command} ${usage}`);
  }
}
