/**
 * `pull` and `push`: the backend streams docker's JSON progress messages, this renders them
 * (bars on a terminal, plain lines elsewhere) and prints the reference at the end as docker does.
 */

import { parseArgs, requireArgs, UsageError } from '../args.ts';
import type { JsonMessage } from '../backend.ts';
import { write, type CommandContext } from '../context.ts';
import { ProgressPrinter } from '../progress.ts';

function hasTagOrDigest(ref: string): boolean {
  if (ref.includes('@')) return true;
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/');
}

export async function pullCommand(ctx: CommandContext, argv: string[], command = 'pull'): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    platform: { type: 'string' },
    quiet: { type: 'bool', short: 'q' },
    'all-tags': { type: 'bool', short: 'a' },
    'disable-content-trust': { type: 'bool' },
  });
  requireArgs(args, command, '[OPTIONS] NAME[:TAG|@DIGEST]', 1);
  if (flags['all-tags']) throw new UsageError('pull --all-tags is not supported yet');
  const ref = args[0]!;
  const quiet = flags['quiet'] === true;
  if (!quiet && !hasTagOrDigest(ref)) await write(ctx.io.stdout, 'Using default tag: latest\n');
  const printer = new ProgressPrinter(ctx.io.stdout, ctx.io.stdoutIsTTY, ctx.io.stdoutColumns);
  const onMessage = quiet ? () => {} : (m: JsonMessage) => printer.print(m);
  const platform = typeof flags['platform'] === 'string' ? flags['platform'] : process.env['DOCKER_DEFAULT_PLATFORM'];
  const result = await ctx.images.pull(ref, { ...(platform ? { platform } : {}), onMessage });
  await write(ctx.io.stdout, `${result.reference}\n`);
  return 0;
}

export async function pushCommand(ctx: CommandContext, argv: string[], command = 'push'): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    quiet: { type: 'bool', short: 'q' },
    'all-tags': { type: 'bool', short: 'a' },
    platform: { type: 'string' },
    'disable-content-trust': { type: 'bool' },
  });
  requireArgs(args, command, '[OPTIONS] NAME[:TAG]', 1);
  if (flags['all-tags']) throw new UsageError('push --all-tags is not supported yet');
  const ref = args[0]!;
  const quiet = flags['quiet'] === true;
  if (!quiet && !hasTagOrDigest(ref)) await write(ctx.io.stdout, 'Using default tag: latest\n');
  const printer = new ProgressPrinter(ctx.io.stdout, ctx.io.stdoutIsTTY, ctx.io.stdoutColumns);
  await ctx.images.push(ref, { onMessage: quiet ? () => {} : (m) => printer.print(m) });
  if (quiet) await write(ctx.io.stdout, `${ref}\n`);
  return 0;
}
