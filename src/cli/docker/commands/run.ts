/**
 * `run`, `create`, `exec` and `start -a` against berthd, in the order the docker CLI calls the
 * API: create (pull on "No such image", create again), attach before start, wait registered
 * before start (`removed` with --rm), start, the exit code from the wait. Failures before the
 * container runs exit 125, or 126/127 when the command cannot be executed / found.
 */

import { ApiError, type EngineClient } from '../../../client/index.ts';
import { parseArgs, requireArgs, UsageError, type FlagSpecs, type Parsed } from '../args.ts';
import { write, type Io } from '../context.ts';
import { followResize, pump } from './streams.ts';

export interface ApiContext {
  client: EngineClient;
  io: Io;
}

const CREATE_FLAGS: FlagSpecs = {
  detach: { type: 'bool', short: 'd' },
  rm: { type: 'bool' },
  name: { type: 'string' },
  env: { type: 'list', short: 'e' },
  workdir: { type: 'string', short: 'w' },
  user: { type: 'string', short: 'u' },
  volume: { type: 'list', short: 'v' },
  publish: { type: 'list', short: 'p' },
  expose: { type: 'list' },
  network: { type: 'string', aliases: ['net'] },
  entrypoint: { type: 'string' },
  interactive: { type: 'bool', short: 'i' },
  tty: { type: 'bool', short: 't' },
  memory: { type: 'string', short: 'm' },
  'memory-swap': { type: 'string' },
  cpus: { type: 'string' },
  'cpu-shares': { type: 'string', short: 'c' },
  'pids-limit': { type: 'string' },
  'cap-add': { type: 'list' },
  'cap-drop': { type: 'list' },
  privileged: { type: 'bool' },
  'read-only': { type: 'bool' },
  tmpfs: { type: 'list' },
  label: { type: 'list', short: 'l' },
  hostname: { type: 'string', short: 'h' },
  init: { type: 'bool' },
  restart: { type: 'string' },
  'stop-signal': { type: 'string' },
  'stop-timeout': { type: 'string' },
  'security-opt': { type: 'list' },
  'volumes-from': { type: 'list' },
  platform: { type: 'string' },
  'sig-proxy': { type: 'bool' },
  'detach-keys': { type: 'string' },
  help: { type: 'bool' },
};

/** go-units RAMInBytes: `512m`, `1g`, `100k`, plain bytes; binary multiples. */
export function ramInBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(text.trim());
  if (!match) throw new UsageError(`invalid argument "${text}" for "-m, --memory" flag: invalid size: '${text}'`);
  const power = ' kmgtp'.indexOf((match[2] || ' ').toLowerCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** `[ip:][hostPort:]containerPort[/proto]` → ExposedPorts and PortBindings entries. */
export function parsePublish(spec: string): { port: string; binding: { HostIp: string; HostPort: string } } {
  const [addr, proto = 'tcp'] = spec.split('/') as [string, string?];
  const parts = addr.split(':');
  const container = parts.pop()!;
  const hostPort = parts.pop() ?? '';
  const hostIp = parts.join(':');
  if (!/^\d+$/.test(container) || (hostPort !== '' && !/^\d+$/.test(hostPort))) throw new UsageError(`invalid argument "${spec}" for "-p, --publish" flag: invalid port format`);
  return { port: `${container}/${proto}`, binding: { HostIp: hostIp, HostPort: hostPort } };
}

function keyValues(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    out[eq === -1 ? item : item.slice(0, eq)] = eq === -1 ? '' : item.slice(eq + 1);
  }
  return out;
}

/** The create body (Config with HostConfig) from `run`/`create` flags. */
export function createBody(flags: Parsed['flags'], image: string, cmd: string[]): Record<string, unknown> {
  const list = (name: string): string[] => (flags[name] as string[] | undefined) ?? [];
  const str = (name: string): string | undefined => flags[name] as string | undefined;
  const interactive = flags['interactive'] === true;
  const detach = flags['detach'] === true;
  const host: Record<string, unknown> = {
    Binds: [] as string[],
    AutoRemove: flags['rm'] === true,
    Privileged: flags['privileged'] === true,
    ReadonlyRootfs: flags['read-only'] === true,
    CapAdd: list('cap-add'),
    CapDrop: list('cap-drop'),
    SecurityOpt: list('security-opt'),
    VolumesFrom: list('volumes-from'),
    PortBindings: {} as Record<string, unknown[]>,
  };
  const volumes: Record<string, object> = {};
  for (const spec of list('volume')) {
    if (spec.includes(':')) (host['Binds'] as string[]).push(spec);
    else volumes[spec] = {};
  }
  const exposed: Record<string, object> = {};
  for (const spec of list('expose')) exposed[spec.includes('/') ? spec : `${spec}/tcp`] = {};
  for (const spec of list('publish')) {
    const { port, binding } = parsePublish(spec);
    exposed[port] = {};
    ((host['PortBindings'] as Record<string, unknown[]>)[port] ??= []).push(binding);
  }
  if (list('tmpfs').length > 0) {
    host['Tmpfs'] = Object.fromEntries(list('tmpfs').map((t) => {
      const colon = t.indexOf(':');
      return colon === -1 ? [t, ''] : [t.slice(0, colon), t.slice(colon + 1)];
    }));
  }
  if (str('network') !== undefined) host['NetworkMode'] = str('network');
  if (str('memory') !== undefined) host['Memory'] = ramInBytes(str('memory')!);
  if (str('memory-swap') !== undefined) host['MemorySwap'] = str('memory-swap') === '-1' ? -1 : ramInBytes(str('memory-swap')!);
  if (str('cpus') !== undefined) {
    const cpus = Number(str('cpus'));
    if (!Number.isFinite(cpus) || cpus < 0) throw new UsageError(`invalid argument "${str('cpus')}" for "--cpus" flag: failed to parse ${str('cpus')} as a rational number`);
    host['NanoCpus'] = Math.round(cpus * 1e9);
  }
  if (str('cpu-shares') !== undefined) host['CpuShares'] = Number(str('cpu-shares'));
  if (str('pids-limit') !== undefined) host['PidsLimit'] = Number(str('pids-limit'));
  if (flags['init'] === true) host['Init'] = true;
  if (str('restart') !== undefined) {
    const [name, count] = str('restart')!.split(':');
    host['RestartPolicy'] = { Name: name, MaximumRetryCount: count === undefined ? 0 : Number(count) };
  }
  const config: Record<string, unknown> = {
    Image: image,
    Cmd: cmd.length > 0 ? cmd : null,
    Env: list('env'),
    Labels: keyValues(list('label')),
    Tty: flags['tty'] === true,
    OpenStdin: interactive,
    StdinOnce: interactive && !detach,
    AttachStdin: interactive && !detach,
    AttachStdout: !detach,
    AttachStderr: !detach,
    ExposedPorts: exposed,
    Volumes: volumes,
    HostConfig: host,
  };
  if (str('entrypoint') !== undefined) config['Entrypoint'] = str('entrypoint') === '' ? [''] : [str('entrypoint')];
  if (str('workdir') !== undefined) config['WorkingDir'] = str('workdir');
  if (str('user') !== undefined) config['User'] = str('user');
  if (str('hostname') !== undefined) config['Hostname'] = str('hostname');
  if (str('stop-signal') !== undefined) config['StopSignal'] = str('stop-signal');
  if (str('stop-timeout') !== undefined) config['StopTimeout'] = Number(str('stop-timeout'));
  return config;
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
  let buffered = '';
  let error: string | undefined;
  res.setEncoding('utf8');
  for await (const chunk of res) {
    buffered += chunk as string;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === '') continue;
      const message = JSON.parse(line) as { id?: string; status?: string; error?: string; progressDetail?: unknown };
      if (message.error) error = message.error;
      else if (message.status && !/^(Downloading|Extracting|Waiting|Verifying Checksum)/.test(message.status)) await write(ctx.io.stderr, `${message.id ? `${message.id}: ` : ''}${message.status}\n`);
    }
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

export async function createCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, image, cmd } = parseCreate(argv, 'create');
  try {
    const id = await createContainer(ctx, createBody(flags, image, cmd), flags['name'] as string | undefined, flags['platform'] as string | undefined);
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
  const body = createBody(flags, image, cmd);
  const output = io.stdout as { columns?: number; rows?: number };
  // the size at create, as docker sends it: input typed before the first resize sees the right size
  if (tty && io.stdoutIsTTY && output.rows && output.columns) (body['HostConfig'] as Record<string, unknown>)['ConsoleSize'] = [output.rows, output.columns];
  let id: string;
  try {
    id = await createContainer(ctx, body, flags['name'] as string | undefined, flags['platform'] as string | undefined);
  } catch (err) {
    return failRun(ctx, 'run', err, 125);
  }
  const { client } = ctx;
  const session = detach
    ? undefined
    : pump(await client.hijack('POST', `/containers/${id}/attach`, { query: { stream: true, stdin: interactive, stdout: true, stderr: true } }), io, { tty, stdin: interactive, ...detachKeys(flags) });
  let stopResize = (): void => {};
  try {
    const waiting = await client.stream('POST', `/containers/${id}/wait`, { query: { condition: flags['rm'] === true ? 'removed' : 'next-exit' } });
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
    await session.done;
    if (session.detached) {
      waiting.destroy();
      return 0;
    }
    let text = '';
    waiting.setEncoding('utf8');
    for await (const chunk of waiting) text += chunk as string;
    return (JSON.parse(text) as { StatusCode: number }).StatusCode;
  } finally {
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
