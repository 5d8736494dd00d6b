/**
 * `berth GROUP VERB …` (image, system, volume, network): the sub-verb's handler, its usage
 * on `--help`, or docker's unknown-command error.
 */

import { UsageError } from './args.ts';
import { write, type Io } from './context.ts';

export async function runGroupVerb<C extends { io: Io }>(ctx: C, argv: string[], group: string, table: Record<string, (ctx: C, argv: string[]) => Promise<number>>): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h') {
    await write(ctx.io.stdout, `Usage:  berth ${group} COMMAND\n\nCommands:\n${Object.keys(table).map((k) => `  ${k}\n`).join('')}`);
    return 0;
  }
  const handler = table[verb];
  if (!handler) throw new UsageError(`unknown command: berth ${group} ${verb}\n\nRun 'berth ${group} --help' for more information`);
  return handler(ctx, rest);
}
