/**
 * What every runtime CLI command gets: the runtime library on the chosen state root, the
 * global flags, and where to print.
 */

import type { Runtime } from '../../runtime/index.ts';
import type { GlobalOptions, OptionSpec } from './args.ts';

export interface CommandContext {
  runtime: Runtime;
  global: GlobalOptions;
  out: (text: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec;
  /** Resolves with the process exit code. */
  run(args: string[], context: CommandContext): Promise<number>;
}
