/**
 * `save`, `load` and `import`: tar streams between files (or stdin/stdout) and the backend.
 * A tar is never written to a terminal, as docker refuses too.
 */

import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { parseArgs, requireArgs } from '../args.ts';
import { write, type CommandContext } from '../context.ts';
import { CommandFailed } from '../errors.ts';

export async function saveCommand(ctx: CommandContext, argv: string[], command = 'save'): Promise<number> {
  const { flags, args } = parseArgs(argv, { output: { type: 'string', short: 'o' }, platform: { type: 'list' } });
  requireArgs(args, command, '[OPTIONS] IMAGE [IMAGE...]', 1, Infinity);
  const output = flags['output'] as string | undefined;
  if (output === undefined && ctx.io.stdoutIsTTY) {
    throw new CommandFailed('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
  const archive = await ctx.images.save(args);
  if (output === undefined) {
    await pipeline(Readable.from(archive), ctx.io.stdout, { end: false });
    return 0;
  }
  // write beside the target and rename: a failed save leaves no half-written file behind
  const tmp = `${output}.berth-tmp-${process.pid}`;
  try {
    await pipeline(Readable.from(archive), createWriteStream(tmp, { mode: 0o644 }));
    await rename(tmp, output);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return 0;
}

export async function loadCommand(ctx: CommandContext, argv: string[], command = 'load'): Promise<number> {
  const { flags, args } = parseArgs(argv, { input: { type: 'string', short: 'i' }, quiet: { type: 'bool', short: 'q' }, platform: { type: 'list' } });
  requireArgs(args, command, '[OPTIONS]', 0);
  const input = flags['input'] as string | undefined;
  if (input === undefined && ctx.io.stdinIsTTY) {
    throw new CommandFailed('requested load from stdin, but stdin is empty');
  }
  const stream = input === undefined ? ctx.io.stdin : createReadStream(input);
  const messages = await ctx.images.load(stream);
  await write(ctx.io.stdout, messages.map((m) => `${m}\n`).join(''));
  return 0;
}

export async function importCommand(ctx: CommandContext, argv: string[], command = 'import'): Promise<number> {
  const { flags, args } = parseArgs(argv, { change: { type: 'list', short: 'c' }, message: { type: 'string', short: 'm' }, platform: { type: 'string' } });
  requireArgs(args, command, '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]', 1, 2);
  const source = args[0]!;
  if (/^https?:\/\//.test(source)) throw new CommandFailed('import from a URL is not supported yet');
  const stream = source === '-' ? ctx.io.stdin : createReadStream(source);
  const id = await ctx.images.import(stream, {
    ...(args[1] !== undefined ? { ref: args[1] } : {}),
    changes: flags['change'] as string[],
    ...(typeof flags['message'] === 'string' ? { message: flags['message'] } : {}),
  });
  await write(ctx.io.stdout, `${id}\n`);
  return 0;
}
