/**
 * `login` and `logout`: credentials checked against the registry and kept in docker's
 * config.json, so `docker` and `berth` share logins.
 */

import { parseArgs, requireArgs, UsageError } from '../args.ts';
import { write, type CommandContext } from '../context.ts';
import { CommandFailed } from '../errors.ts';

const DOCKER_HUB = 'https://index.docker.io/v1/';

async function readAll(ctx: CommandContext): Promise<string> {
  let text = '';
  for await (const chunk of ctx.io.stdin) text += String(chunk);
  return text;
}

export async function loginCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    username: { type: 'string', short: 'u' },
    password: { type: 'string', short: 'p' },
    'password-stdin': { type: 'bool' },
  });
  requireArgs(args, 'login', '[OPTIONS] [SERVER]', 0, 1);
  const server = args[0] ?? DOCKER_HUB;
  let password = flags['password'] as string | undefined;
  const username = flags['username'] as string | undefined;
  if (flags['password-stdin']) {
    if (password !== undefined) throw new UsageError('--password and --password-stdin are mutually exclusive');
    if (username === undefined) throw new UsageError('Must provide --username with --password-stdin');
    password = (await readAll(ctx)).replace(/\r?\n$/, '');
  } else if (password !== undefined) {
    await write(ctx.io.stderr, 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  }
  if (username === undefined || password === undefined) {
    // interactive prompts need a terminal; scripts give -u and --password-stdin
    throw new CommandFailed('cannot perform an interactive login from a non TTY device');
  }
  await ctx.images.login(server, { username, password });
  await write(ctx.io.stdout, 'Login Succeeded\n');
  return 0;
}

export async function logoutCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  requireArgs(args, 'logout', '[SERVER]', 0, 1);
  const server = args[0] ?? DOCKER_HUB;
  const removed = await ctx.images.logout(server);
  await write(ctx.io.stdout, removed ? `Removing login credentials for ${server}\n` : `Not logged in to ${server}\n`);
  return 0;
}
