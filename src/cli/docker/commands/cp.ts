/**
 * `cp` between a container and the host through the archive endpoints: GET streams a tar of
 * the container path (extracted here with tar(1)), PUT takes one. Docker's rename rule: a
 * destination that does not exist gets the source's content under its own name.
 */

import { pipeline } from 'node:stream/promises';
import { spawn } from 'node:child_process';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { ApiError } from '../../../client/index.ts';
import { parseArgs, requireArgs, UsageError } from '../args.ts';
import type { ApiContext } from './run.ts';

/** `CONTAINER:PATH` → its parts; a plain path (or one with a slash before the colon) is local. */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon <= 0) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

function tar(args: string[], stdio: 'in' | 'out'): ReturnType<typeof spawn> {
  return spawn('tar', args, { stdio: stdio === 'in' ? ['pipe', 'ignore', 'pipe'] : ['ignore', 'pipe', 'pipe'] });
}

function finished(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${what}: ${err.trim() || `tar exited ${code}`}`))));
  });
}

async function exists(path: string): Promise<{ dir: boolean } | undefined> {
  try {
    return { dir: (await stat(path)).isDirectory() };
  } catch {
    return undefined;
  }
}

async function copyFromContainer(ctx: ApiContext, container: string, path: string, dest: string): Promise<void> {
  const res = await ctx.client.stream('GET', `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
  if (dest === '-') {
    // at the reader's pace: a tar of a big tree must not pile up in memory
    await pipeline(res, ctx.io.stdout, { end: false });
    return;
  }
  const statHeader = res.headers['x-docker-container-path-stat'];
  const name = typeof statHeader === 'string' ? (JSON.parse(Buffer.from(statHeader, 'base64').toString()) as { name: string }).name : posix.basename(path);
  const target = await exists(dest);
  if (target?.dir) {
    const child = tar(['-x', '-C', dest], 'in');
    res.pipe(child.stdin!);
    await finished(child, `copy to ${dest}`);
    return;
  }
  // a new name (or a file to replace): extract beside it, then move into place
  const staging = await mkdtemp(join(dirname(resolve(dest)), '.berth-cp-'));
  try {
    const child = tar(['-x', '-C', staging], 'in');
    res.pipe(child.stdin!);
    await finished(child, `copy to ${dest}`);
    await rename(join(staging, name), dest);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function copyToContainer(ctx: ApiContext, src: string, container: string, path: string): Promise<void> {
  const source = await exists(src);
  if (!source) throw new UsageError(`lstat ${resolve(src)}: no such file or directory`);
  const id = encodeURIComponent(container);
  let targetDir = path;
  let rename: string | undefined;
  try {
    const head = await ctx.client.stream('HEAD', `/containers/${id}/archive`, { query: { path } });
    head.resume();
    const raw = head.headers['x-docker-container-path-stat'];
    const info = typeof raw === 'string' ? (JSON.parse(Buffer.from(raw, 'base64').toString()) as { mode: number }) : undefined;
    // Go's os.ModeDir is the top bit of the 32-bit mode
    if (info && (info.mode & 0x80000000) === 0) {
      targetDir = posix.dirname(path);
      rename = posix.basename(path);
    }
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    targetDir = posix.dirname(path);
    rename = posix.basename(path);
  }
  const base = basename(resolve(src));
  const args = ['-c', '-C', dirname(resolve(src))];
  if (rename !== undefined && rename !== base) args.push('--transform', `s|^${base.replace(/[\\|.*[\]^$]/g, '\\$&')}|${rename.replace(/[\\|&]/g, '\\$&')}|`);
  args.push(base);
  const child = tar(args, 'out');
  const done = finished(child, `copy ${src}`);
  await ctx.client.call('PUT', `/containers/${id}/archive`, { query: { path: targetDir, noOverwriteDirNonDir: true }, body: child.stdout! });
  await done;
}

export async function cpCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, { archive: { type: 'bool', short: 'a' }, 'follow-link': { type: 'bool', short: 'L' }, quiet: { type: 'bool', short: 'q' } });
  requireArgs(args, 'cp', 'CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH', 2);
  const from = splitCpArg(args[0]!);
  const to = splitCpArg(args[1]!);
  if (from.container !== undefined && to.container !== undefined) throw new UsageError('copying between containers is not supported');
  if (from.container === undefined && to.container === undefined) throw new UsageError('must specify at least one container source');
  if (from.container !== undefined) await copyFromContainer(ctx, from.container, from.path, to.path);
  else await copyToContainer(ctx, from.path, to.container!, to.path);
  return 0;
}
