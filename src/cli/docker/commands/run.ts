/**
 * `run`, `create`, `exec` and `start -a` against berthd, in the order the docker CLI calls the
 * API: create (pull on "No such image", create again), attach before start, wait registered
 * before start (`removed` with --rm), start, the exit code from the wait. Failures before the
 * container runs exit 125, or 126/127 when the command cannot be executed / found.
 */

import { ApiError, jsonLines, type ApiResponse, type EngineClient } from '../../../client/index.ts';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { CommandFailed } from '../errors.ts';
import { parseArgs, requireArgs, UsageError, type Parsed } from '../args.ts';
import { write, type Io } from '../context.ts';
import { CREATE_FLAGS, OptionError, createBody } from './container-opts.ts';
import { followResize, pump, type Session } from './streams.ts';

export interface ApiContext {
  client: EngineClient;
  io: Io;
}

/** `busybox` → `busybox:latest`, as docker names the image it could not find. */
export function withDefaultTag(ref: string): string {
  if (ref.includes('@')) return ref;
  const slash = ref.lastIndexOf('/');
  return ref.slice(slash + 1).includes(':') ? ref : `${ref}:latest`;
}

async function pull(ctx: ApiContext, ref: string): Promise<void> {
  const full = withDefaultTag(ref);
  const colon = full.includes('@') ? -1 : full.lastIndexOf(':');
  const query = colon === -1 ? { fromImage: full } : { fromImage: full.slice(0, colon), tag: full.slice(colon + 1) };
  const res = await ctx.client.stream('POST', '/images/create', { query, headers: { 'X-Registry-Auth': 'e30=' } });
  let error: string | undefined;
  for await (const line of jsonLines(res)) {
    const message = JSON.parse(line) as { id?: string; status?: string; error?: string; progressDetail?: unknown };
    if (message.error) error = message.error;
    else if (message.status && !/^(Downloading|Extracting|Waiting|Verifying Checksum)/.test(message.status)) await write(ctx.io.stderr, `${message.id ? `${message.id}: ` : ''}${message.status}\n`);
  }
  if (error) throw new ApiError(500, error);
}

async function createContainer(ctx: ApiContext, body: Record<string, unknown>, name: string | undefined, platform: string | undefined): Promise<string> {
  const image = body['Image'] as string;
  const query = { name, platform };
  try {
    return (await ctx.client.json<{ Id: string }>('POST', '/containers/create', { query, body })).Id;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 && /No such image/i.test(err.message))) throw err;
  }
  await write(ctx.io.stderr, `Unable to find image '${withDefaultTag(image)}' locally\n`);
  await pull(ctx, image);
  return (await ctx.client.json<{ Id: string }>('POST', '/containers/create', { query, body })).Id;
}

/** docker's run exit codes for a start that failed: 127 not found, 126 not executable. */
function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file/i.test(message)) return 127;
  if (/permission denied|cannot execute binary/i.test(message)) return 126;
  return 125;
}

function daemonMessage(err: unknown): string {
  return err instanceof ApiError ? `Error response from daemon: ${err.message}` : err instanceof Error ? err.message : String(err);
}

async function failRun(ctx: ApiContext, verb: string, err: unknown, code: number): Promise<number> {
  if (err instanceof UsageError) throw err;
  await write(ctx.io.stderr, `berth: ${daemonMessage(err)}\n\nRun 'berth ${verb} --help' for more information\n`);
  return code;
}

function detachKeys(flags: Parsed['flags']): { detachKeys?: string } {
  return typeof flags['detach-keys'] === 'string' ? { detachKeys: flags['detach-keys'] } : {};
}

function parseCreate(argv: string[], verb: string): { flags: Parsed['flags']; image: string; cmd: string[] } {
  const { flags, args } = parseArgs(argv, CREATE_FLAGS, { stopAtFirstArg: true });
  requireArgs(args, verb, 'IMAGE [COMMAND] [ARG...]', 1, Infinity);
  const [image, ...cmd] = args as [string, ...string[]];
  return { flags, image, cmd };
}

/**
 * docker's --cidfile: refused when the file exists (another container may own it), created
 * before the container is, the ID written once it exists, removed when the create failed.
 */
class CidFile {
  #fd: number | undefined;
  readonly path: string | undefined;

  constructor(path: string | undefined) {
    this.path = path;
    if (path === undefined) return;
    try {
      this.#fd = openSync(path, 'wx', 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new OptionError(`container ID file found, make sure the other container isn't running or delete ${path}`);
      throw new OptionError(`failed to create the container ID file: open ${path}: ${(err as Error).message}`);
    }
  }

  written(id: string): void {
    if (this.#fd === undefined) return;
    writeSync(this.#fd, id);
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  abandon(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
    unlinkSync(this.path!);
  }
}

/** The create request from the flags, then the container (pulling its image when missing). */
async function createFromFlags(ctx: ApiContext, flags: Parsed['flags'], image: string, cmd: string[], adjust: (body: Record<string, unknown>) => void = () => {}): Promise<string> {
  const body = createBody(flags, image, cmd);
  adjust(body);
  const cidFile = new CidFile(flags['cidfile'] as string | undefined);
  try {
    const id = await createContainer(ctx, body, flags['name'] as string | undefined, flags['platform'] as string | undefined);
    cidFile.written(id);
    return id;
  } finally {
    cidFile.abandon();
  }
}

export async function createCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, image, cmd } = parseCreate(argv, 'create');
  try {
    const id = await createFromFlags(ctx, flags, image, cmd);
    await write(ctx.io.stdout, `${id}\n`);
    return 0;
  } catch (err) {
    return failRun(ctx, 'create', err, 125);
  }
}

export async function runCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, image, cmd } = parseCreate(argv, 'run');
  const detach = flags['detach'] === true;
  const tty = flags['tty'] === true;
  const interactive = flags['interactive'] === true;
  const { io } = ctx;
  const output = io.stdout as { columns?: number; rows?: number };
  // the size at create, as docker sends it: input typed before the first resize sees the right size
  const consoleSize = (body: Record<string, unknown>): void => {
    if (tty && io.stdoutIsTTY && output.rows && output.columns) (body['HostConfig'] as Record<string, unknown>)['ConsoleSize'] = [output.rows, output.columns];
  };
  let id: string;
  try {
    id = await createFromFlags(ctx, flags, image, cmd, consoleSize);
  } catch (err) {
    return failRun(ctx, 'run', err, 125);
  }
  const { client } = ctx;
  // attach and wait, both needed before the start, go out together: one round trip, not two
  const attaching = detach ? undefined : client.hijack('POST', `/containers/${id}/attach`, { query: { stream: true, stdin: interactive, stdout: true, stderr: true } });
  const waitingFor = client.stream('POST', `/containers/${id}/wait`, { query: { condition: flags['rm'] === true ? 'removed' : 'next-exit' } });
  // neither may reject unobserved while the other is awaited
  attaching?.catch(() => {});
  waitingFor.catch(() => {});
  const session = attaching === undefined ? undefined : pump(await attaching, io, { tty, stdin: interactive, ...detachKeys(flags) });
  let stopResize = (): void => {};
  try {
    const waiting = await waitingFor;
    const status = (async () => {
      let text = '';
      waiting.setEncoding('utf8');
      for await (const chunk of waiting) text += chunk as string;
      return JSON.parse(text) as { StatusCode: number; Error?: { Message?: string } | null };
    })();
    status.catch(() => {});
    try {
      await client.call('POST', `/containers/${id}/start`);
    } catch (err) {
      session?.close();
      waiting.destroy();
      return failRun(ctx, 'run', err, startFailureCode(err instanceof Error ? err.message : ''));
    }
    if (detach) {
      waiting.destroy();
      await write(io.stdout, `${id}\n`);
      return 0;
    }
    if (tty) stopResize = followResize(client, `/containers/${id}/resize`, io);
    const forward = tty ? undefined : (signal: NodeJS.Signals): void => void client.call('POST', `/containers/${id}/kill`, { query: { signal } }).catch(() => {});
    if (forward) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, forward);
    try {
      await session!.done;
      if (session!.detached) {
        waiting.destroy();
        return 0;
      }
      const result = await status;
      if (result.Error?.Message) await write(io.stderr, `berth: ${result.Error.Message}\n`);
      return result.StatusCode;
    } finally {
      if (forward) for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, forward);
    }
  } finally {
    stopResize();
    session?.close();
  }
}

/** The container's exit code once the session ends; 0 when the user detached (it runs on). */
async function sessionExit(session: Session, waiting: ApiResponse): Promise<number> {
  await session.done;
  if (session.detached) {
    waiting.destroy();
    return 0;
  }
  let text = '';
  waiting.setEncoding('utf8');
  for await (const chunk of waiting) text += chunk as string;
  return (JSON.parse(text) as { StatusCode: number }).StatusCode;
}

export async function startCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { attach: { type: 'bool', short: 'a' }, interactive: { type: 'bool', short: 'i' }, 'detach-keys': { type: 'string' } });
  requireArgs(args, 'start', 'CONTAINER [CONTAINER...]', 1, Infinity);
  const { client, io } = ctx;
  if (flags['attach'] !== true && flags['interactive'] !== true) {
    let code = 0;
    for (const name of args) {
      try {
        await client.call('POST', `/containers/${encodeURIComponent(name)}/start`);
        await write(io.stdout, `${name}\n`);
      } catch (err) {
        await write(io.stderr, `${daemonMessage(err)}\n`);
        code = 1;
      }
    }
    if (code !== 0) await write(io.stderr, 'Error: failed to start containers: ' + args.join(', ') + '\n');
    return code;
  }
  if (args.length > 1) throw new UsageError('you cannot start and attach multiple containers at once');
  const name = args[0]!;
  const info = await client.json<{ Id: string; Config: { Tty: boolean; OpenStdin: boolean } }>('GET', `/containers/${encodeURIComponent(name)}/json`);
  const stdin = flags['interactive'] === true && info.Config.OpenStdin;
  const session = pump(await client.hijack('POST', `/containers/${info.Id}/attach`, { query: { stream: true, stdin, stdout: true, stderr: true } }), io, { tty: info.Config.Tty, stdin, ...detachKeys(flags) });
  try {
    const waiting = await client.stream('POST', `/containers/${info.Id}/wait`, { query: { condition: 'next-exit' } });
    await client.call('POST', `/containers/${info.Id}/start`);
    return await sessionExit(session, waiting);
  } finally {
    session.close();
  }
}

/** `attach`: the terminal joins a running container's stdio (its TTY, or its stdin and output). */
export async function attachCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { 'no-stdin': { type: 'bool' }, 'sig-proxy': { type: 'bool' }, 'detach-keys': { type: 'string' } });
  requireArgs(args, 'attach', '[OPTIONS] CONTAINER', 1, 1);
  const { client, io } = ctx;
  const info = await client.json<{ Id: string; Config: { Tty: boolean; OpenStdin: boolean }; State: { Running: boolean; Paused: boolean } }>('GET', `/containers/${encodeURIComponent(args[0]!)}/json`);
  if (!info.State.Running) throw new CommandFailed('You cannot attach to a stopped container, start it first');
  if (info.State.Paused) throw new CommandFailed('You cannot attach to a paused container, unpause it first');
  const tty = info.Config.Tty;
  const stdin = flags['no-stdin'] !== true && info.Config.OpenStdin;
  const waiting = await client.stream('POST', `/containers/${info.Id}/wait`, { query: { condition: 'next-exit' } });
  const session = pump(await client.hijack('POST', `/containers/${info.Id}/attach`, { query: { stream: true, stdin, stdout: true, stderr: true } }), io, { tty, stdin, ...detachKeys(flags) });
  const stopResize = tty ? followResize(client, `/containers/${info.Id}/resize`, io) : () => {};
  // without a TTY, ^C and TERM go to the container, as docker's --sig-proxy (on by default) does
  const forward = tty || flags['sig-proxy'] === false ? undefined : (signal: NodeJS.Signals): void => void client.call('POST', `/containers/${info.Id}/kill`, { query: { signal } }).catch(() => {});
  if (forward) for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, forward);
  try {
    return await sessionExit(session, waiting);
  } finally {
    if (forward) for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, forward);
    stopResize();
    session.close();
  }
}

export async function execCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(
    argv,
    {
      interactive: { type: 'bool', short: 'i' },
      tty: { type: 'bool', short: 't' },
      detach: { type: 'bool', short: 'd' },
      env: { type: 'list', short: 'e' },
      workdir: { type: 'string', short: 'w' },
      user: { type: 'string', short: 'u' },
      privileged: { type: 'bool' },
      'detach-keys': { type: 'string' },
    },
    { stopAtFirstArg: true },
  );
  requireArgs(args, 'exec', 'CONTAINER COMMAND [ARG...]', 2, Infinity);
  const [name, ...cmd] = args as [string, ...string[]];
  const { client, io } = ctx;
  const detach = flags['detach'] === true;
  const tty = flags['tty'] === true;
  const interactive = flags['interactive'] === true && !detach;
  // inspect first: a missing container fails before an exec instance exists
  await client.json('GET', `/containers/${encodeURIComponent(name)}/json`);
  const output = io.stdout as { columns?: number; rows?: number };
  const consoleSize = tty && io.stdoutIsTTY && output.rows && output.columns ? [output.rows, output.columns] : undefined;
  const config: Record<string, unknown> = {
    AttachStdin: interactive,
    AttachStdout: !detach,
    AttachStderr: !detach,
    Tty: tty,
    Cmd: cmd,
    Env: flags['env'],
    Privileged: flags['privileged'] === true,
    ...(consoleSize ? { ConsoleSize: consoleSize } : {}),
    ...(flags['workdir'] !== undefined ? { WorkingDir: flags['workdir'] } : {}),
    ...(flags['user'] !== undefined ? { User: flags['user'] } : {}),
  };
  const { Id: execId } = await client.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(name)}/exec`, { body: config });
  if (detach) {
    await client.call('POST', `/exec/${execId}/start`, { body: { Detach: true, Tty: tty } });
    return 0;
  }
  const session = pump(await client.hijack('POST', `/exec/${execId}/start`, { body: { Detach: false, Tty: tty, ...(consoleSize ? { ConsoleSize: consoleSize } : {}) } }), io, { tty, stdin: interactive, ...detachKeys(flags) });
  const stopResize = tty ? followResize(client, `/exec/${execId}/resize`, io) : () => {};
  try {
    await session.done;
    if (session.detached) return 0;
  } finally {
    stopResize();
    session.close();
  }
  const inspect = await client.json<{ ExitCode: number | null }>('GET', `/exec/${execId}/json`);
  return inspect.ExitCode ?? 0;
}
