/**
 * Named network namespaces. Each one is an nsfs bind mount at /run/berth/netns/<id> (our
 * directory, so a listing of it is exactly our namespaces), made by util-linux `unshare
 * --net=<file>` in one spawn that also brings lo up. /run/netns/berth-<id> is a symlink to it,
 * so `ip netns list`, `ip netns exec berth-<id>` and `ip -n berth-<id>` work for operators:
 * iproute2 opens the path, which follows the link, and `ip netns delete` would unmount through it.
 * A pooled namespace keeps its mount at its pool name; when a container takes it,
 * /run/berth/netns/<container> becomes a symlink to the pool mount (no mount needed, so taking
 * one costs only file operations).
 */

import { lstat, mkdir, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { EngineError, errorCode, invalidArgument } from '../../util/errors.ts';
import { isMountPoint } from '../../util/mountinfo.ts';
import { run, runChecked } from '../exec.ts';

export const NETNS_DIR = '/run/berth/netns';
export const IPROUTE_NETNS_DIR = '/run/netns';
const LINK_PREFIX = 'berth-';

export interface NetnsOptions {
  /** Where the bind mounts live (tests may use another directory). */
  readonly dir?: string;
  /** Where the iproute2 symlinks live; null for none. */
  readonly iprouteDir?: string | null;
}

function dirs(options: NetnsOptions): { dir: string; iproute: string | null } {
  return { dir: options.dir ?? NETNS_DIR, iproute: options.iprouteDir === undefined ? IPROUTE_NETNS_DIR : options.iprouteDir };
}

function checkId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) throw invalidArgument(`netns ${JSON.stringify(id)}: invalid name`);
}

export function netnsPath(id: string, options: NetnsOptions = {}): string {
  return join(dirs(options).dir, id);
}

/** The name `ip netns` shows for a namespace. */
export function iprouteName(id: string): string {
  return `${LINK_PREFIX}${id}`;
}

async function linkForIproute(id: string, target: string, iproute: string | null): Promise<void> {
  if (iproute === null) return;
  const link = join(iproute, iprouteName(id));
  // One symlink call in the common case: this runs on every start from the warm pool.
  try {
    await symlink(target, link);
    return;
  } catch (err) {
    if (errorCode(err) !== 'ENOENT' && errorCode(err) !== 'EEXIST') throw err;
  }
  await mkdir(iproute, { recursive: true, mode: 0o755 });
  await rm(link, { force: true });
  await symlink(target, link);
}

/** Creates the namespace with lo up; returns its path. Fails if one of that name exists. */
export async function createNetns(id: string, options: NetnsOptions = {}, spawnOptions: { niceness?: number } = {}): Promise<string> {
  checkId(id);
  const { dir, iproute } = dirs(options);
  await mkdir(dir, { recursive: true, mode: 0o711 });
  const path = join(dir, id);
  // unshare bind-mounts onto an existing file; 'wx' makes a second create of the same id fail.
  try {
    await writeFile(path, '', { flag: 'wx', mode: 0o444 });
  } catch (err) {
    if (errorCode(err) === 'EEXIST') throw new EngineError('already-exists', `create netns ${id}: already exists`, { cause: err });
    throw err;
  }
  const result = await run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up'], spawnOptions.niceness === undefined ? {} : { niceness: spawnOptions.niceness });
  if (result.code !== 0) {
    // unshare may have mounted before `ip` failed.
    await run('umount', ['--lazy', path]);
    await rm(path, { force: true });
    throw invalidArgument(`create netns ${id}: ${result.stderr.trim()}`);
  }
  await linkForIproute(id, path, iproute);
  return path;
}

/**
 * Gives the namespace mounted for `poolId` a second name `id` (a symlink), for a container that
 * takes a pooled namespace. Returns the container's path.
 */
export async function aliasNetns(poolId: string, id: string, options: NetnsOptions = {}): Promise<string> {
  checkId(id);
  const { dir, iproute } = dirs(options);
  const path = join(dir, id);
  await symlink(join(dir, poolId), path);
  await linkForIproute(id, path, iproute);
  return path;
}

/**
 * Unmounts and removes the namespace (following an alias to its pool mount). Idempotent: a
 * missing namespace is not an error, so teardown can be retried after a crash at any step.
 */
export async function deleteNetns(id: string, options: NetnsOptions = {}): Promise<void> {
  checkId(id);
  const { dir, iproute } = dirs(options);
  const path = join(dir, id);
  let target = path;
  let missing = false;
  try {
    const stat = await lstat(path);
    if (stat.isSymbolicLink()) target = await readlink(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
    missing = true;
  }
  if (iproute !== null) {
    await rm(join(iproute, iprouteName(id)), { force: true });
    if (target !== path) await rm(join(iproute, iprouteName(basename(target))), { force: true });
  }
  if (target !== path) await rm(path, { force: true });
  // No file, no mount on it: nothing to spawn umount for (every container without a namespace of
  // its own, `--network none` included, is torn down through here).
  if (dirname(target) === dir && !missing) await unmountAndRemove(target);
}

async function unmountAndRemove(path: string): Promise<void> {
  const result = await run('umount', [path]);
  if (result.code !== 0 && (await isMountPoint(path))) {
    await runChecked(`delete netns ${basename(path)}`, 'umount', ['--lazy', path]);
  }
  await rm(path, { force: true });
}

export interface NetnsEntry {
  readonly id: string;
  /** For an alias of a pooled namespace: the pool id whose mount it points to. */
  readonly aliasOf?: string;
}

/** The namespaces (mounts and aliases) in our directory. */
export async function listNetns(options: NetnsOptions = {}): Promise<NetnsEntry[]> {
  const { dir } = dirs(options);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
  const entries: NetnsEntry[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const stat = await lstat(join(dir, name)).catch(() => undefined);
    if (stat === undefined) continue;
    if (stat.isSymbolicLink()) entries.push({ id: name, aliasOf: basename(await readlink(join(dir, name))) });
    else entries.push({ id: name });
  }
  return entries;
}

/**
 * Removes dangling iproute2 links of ours (target gone), for reconcile after a crash between
 * steps. Links that other tools made are left alone.
 */
export async function pruneIprouteLinks(options: NetnsOptions = {}): Promise<void> {
  const { dir, iproute } = dirs(options);
  if (iproute === null) return;
  const names = await readdir(iproute).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(LINK_PREFIX)) continue;
    const link = join(iproute, name);
    const target = await readlink(link).catch(() => undefined);
    if (target === undefined || dirname(target) !== dir) continue;
    const exists = await lstat(target).then(() => true, () => false);
    if (!exists) await rm(link, { force: true });
  }
}
