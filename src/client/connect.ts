/**
 * Finding the daemon: `-H unix://PATH`, else $BERTH_HOST, else the default socket. When the
 * default socket has no daemon behind it, berth starts berthd itself (detached, its output to
 * a log file) and waits for `/_ping`, so a first `berth run` needs no set-up.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError, invalidArgument } from '../util/errors.ts';
import { ConnectError, EngineClient } from './engine-client.ts';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
const AUTOSTART_TIMEOUT_MS = 5_000;
const AUTOSTART_LOG = '/run/berth/berthd.log';

export function socketOf(host: string): string {
  if (!host.startsWith('unix://')) throw invalidArgument(`invalid host ${host}: only unix:// sockets are supported`);
  return host.slice('unix://'.length);
}

/** berthd's entry: the bundle beside ours when bundled, else src/bin/berthd.ts run through the same loader. */
function daemonCommand(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const bundled = join(here, 'berthd.mjs');
  if (existsSync(bundled)) return [bundled];
  const source = resolve(here, '..', 'bin', 'berthd.ts');
  // the loader flags (tsx) carry over; a test runner's own flags must not
  return [...process.execArgv.filter((a) => !a.startsWith('--test')), source];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts berthd detached on `host` and waits for its `/_ping`; resolves to its pid. */
export async function startDaemon(host: string, options: { args?: readonly string[]; logFile?: string; timeoutMs?: number } = {}): Promise<number> {
  const client = new EngineClient(socketOf(host));
  const logFile = options.logFile ?? AUTOSTART_LOG;
  const timeoutMs = options.timeoutMs ?? AUTOSTART_TIMEOUT_MS;
  mkdirSync(dirname(logFile), { recursive: true });
  const log = openSync(logFile, 'a');
  let pid: number;
  try {
    // berthd runs under Node; in berth's Bun executable process.execPath is that executable
    const node = process.versions['bun'] === undefined ? process.execPath : (process.env['BERTH_NODE'] ?? 'node');
    const child = spawn(node, [...daemonCommand(), '-H', host, ...(options.args ?? [])], { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    pid = child.pid!;
  } finally {
    closeSync(log);
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await sleep(50);
    if (await client.ping().catch(() => false)) return pid;
  }
  throw new EngineError('unavailable', `start berthd: no answer on ${host} within ${timeoutMs / 1000} s (see ${logFile})`);
}

/** The host the flags and environment name. */
export function hostOf(hostFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return hostFlag ?? (env['BERTH_HOST'] || DEFAULT_HOST);
}

/** A client for the daemon the flags and environment name, started first when absent on the default socket (one round trip: `/_ping`). */
export async function connectEngine(hostFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<EngineClient> {
  const host = hostOf(hostFlag, env);
  const client = new EngineClient(socketOf(host));
  try {
    await client.ping();
  } catch (err) {
    if (!(err instanceof ConnectError) || host !== DEFAULT_HOST) throw err;
    await startDaemon(host);
  }
  return client;
}

/**
 * Runs `body` with a client and no `/_ping` first (a CLI call is mostly one or two requests):
 * when its first request finds no daemon on the default socket, berthd is started and `body`
 * runs again — safe, since nothing reached a daemon the first time.
 */
export async function withEngine<T>(hostFlag: string | undefined, env: NodeJS.ProcessEnv, body: (client: EngineClient) => Promise<T>): Promise<T> {
  const host = hostOf(hostFlag, env);
  const client = new EngineClient(socketOf(host));
  try {
    return await body(client);
  } catch (err) {
    if (!(err instanceof ConnectError) || client.answered > 0 || host !== DEFAULT_HOST) throw err;
  }
  await startDaemon(host);
  return body(new EngineClient(socketOf(host)));
}
