/**
 * `--ipc`, `--pid` and `--uts` as Docker has them: which of those namespaces a container makes,
 * shares with the host, or joins from another running container — and the /dev/shm that goes with
 * the IPC namespace. A `shareable` container's /dev/shm is a tmpfs mounted on the host (under the
 * container's directory) and bound in, so the containers that join its IPC namespace can bind the
 * same one: POSIX shared memory then works across them as SysV segments do. Kept apart from the
 * lifecycle files, which call in here once at start and once at every exit or removal.
 */

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostConfig } from '../api/index.ts';
import type { Mount, Spec } from '../oci/runtime-spec.ts';
import { mountAll, unmount } from '../snapshot/index.ts';
import { conflict, invalidArgument } from '../util/errors.ts';
import { isMountPoint } from '../util/mountinfo.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import type { SpecOpt } from './spec/spec-opts.ts';

export type IpcMode = { kind: 'private' | 'shareable' | 'none' | 'host' } | { kind: 'container'; ref: string };
export type PidMode = { kind: 'private' | 'host' } | { kind: 'container'; ref: string };
export type UtsMode = { kind: 'private' | 'host' };

/** Docker's default IPC mode (the daemon's `default-ipc-mode`), shown by inspect when none is given. */
export const DEFAULT_IPC_MODE = 'private';

function containerRef(text: string): string | undefined {
  if (!text.startsWith('container:')) return undefined;
  const ref = text.slice('container:'.length);
  return ref === '' ? undefined : ref;
}

export function parseIpcMode(text: string | undefined): IpcMode {
  const mode = text || DEFAULT_IPC_MODE;
  if (mode === 'private' || mode === 'shareable' || mode === 'none' || mode === 'host') return { kind: mode };
  const ref = containerRef(mode);
  if (ref === undefined) throw invalidArgument(`invalid IPC mode: ${mode}`);
  return { kind: 'container', ref };
}

export function parsePidMode(text: string | undefined): PidMode {
  const mode = text ?? '';
  if (mode === '') return { kind: 'private' };
  if (mode === 'host') return { kind: 'host' };
  const ref = containerRef(mode);
  if (ref === undefined) throw invalidArgument(`invalid PID mode: ${mode}`);
  return { kind: 'container', ref };
}

export function parseUtsMode(text: string | undefined): UtsMode {
  const mode = text ?? '';
  if (mode === '') return { kind: 'private' };
  if (mode === 'host') return { kind: 'host' };
  throw invalidArgument(`invalid UTS mode: ${mode}`);
}

/** Checked at create, as Docker does; returns the modes the record keeps (IPC gets its default). */
export function namespaceModes(hc: HostConfig): Pick<HostConfig, 'IpcMode' | 'PidMode' | 'UTSMode'> {
  parseIpcMode(hc.IpcMode);
  parsePidMode(hc.PidMode);
  parseUtsMode(hc.UTSMode);
  return { IpcMode: hc.IpcMode || DEFAULT_IPC_MODE, PidMode: hc.PidMode ?? '', UTSMode: hc.UTSMode ?? '' };
}

/** Where a shareable container's /dev/shm lives on the host (Docker's containers/<id>/mounts/shm). */
export function shmDir(containerDir: string): string {
  return join(containerDir, 'mounts', 'shm');
}

/** What the spec gets: for each namespace, made (`private`), the host's, or joined by path. */
export interface NamespacePlan {
  ipc: { kind: 'private' | 'host' } | { kind: 'join'; path: string };
  pid: { kind: 'private' | 'host' } | { kind: 'join'; path: string };
  uts: { kind: 'private' | 'host' };
  /** /dev/shm: the runtime's own tmpfs, none at all, or a bind of a directory on the host */
  shm: { kind: 'tmpfs' } | { kind: 'none' } | { kind: 'bind'; source: string };
}

function withNamespace(spec: Spec, type: 'ipc' | 'pid' | 'uts', setting: NamespacePlan['ipc']): void {
  const others = (spec.linux!.namespaces ?? []).filter((n) => n.type !== type);
  if (setting.kind === 'join') spec.linux!.namespaces = [...others, { type, path: setting.path }];
  else if (setting.kind === 'host') spec.linux!.namespaces = others;
  else spec.linux!.namespaces = [...others, { type }];
}

/** Applies a plan to the spec: pure, so the OCI side is unit-tested without containers. */
export function withNamespacePlan(plan: NamespacePlan): SpecOpt {
  return (spec) => {
    withNamespace(spec, 'ipc', plan.ipc);
    withNamespace(spec, 'pid', plan.pid);
    withNamespace(spec, 'uts', plan.uts);
    // the host's UTS namespace cannot be given a hostname (runc refuses it too)
    if (plan.uts.kind === 'host') delete spec.hostname;
    const mounts = spec.mounts ?? [];
    if (plan.shm.kind === 'none') spec.mounts = mounts.filter((m) => m.destination !== '/dev/shm');
    else if (plan.shm.kind === 'bind') {
      const bind: Mount = { destination: '/dev/shm', type: 'bind', source: plan.shm.source, options: ['rbind', 'rprivate'] };
      const at = mounts.findIndex((m) => m.destination === '/dev/shm');
      spec.mounts = at === -1 ? [...mounts, bind] : mounts.map((m, i) => (i === at ? bind : m));
    }
  };
}

/** The running container whose namespace a `container:` mode names (Docker's checks and wording). */
function donor(ctx: DaemonContext, c: Container, ref: string, what: string): Container {
  const other = ctx.store.get(ref);
  if (other.id === c.id) throw invalidArgument(`cannot join own ${what} namespace`);
  if (!other.running || other.record.State.Pid <= 0) throw conflict(`container ${other.id} is not running`);
  if (other.record.State.Restarting) throw conflict(`container ${other.id} is restarting, wait until the container is running`);
  return other;
}

/**
 * The /dev/shm a container's IPC namespace carries, on the host: its own for `shareable`, the
 * donor's for a joiner (so a joiner of a joiner shares too, as in Docker), the host's for `host`.
 */
function sharedShm(ctx: DaemonContext, c: Container, seen = new Set<string>()): string | undefined {
  if (seen.has(c.id)) return undefined;
  seen.add(c.id);
  const mode = parseIpcMode(c.record.HostConfig.IpcMode);
  if (mode.kind === 'shareable') return shmDir(c.dir);
  if (mode.kind === 'host') return '/dev/shm';
  if (mode.kind !== 'container') return undefined;
  try {
    return sharedShm(ctx, ctx.store.get(mode.ref), seen);
  } catch {
    return undefined;
  }
}

/** Docker's default /dev/shm size, or `--shm-size`. */
function shmOptions(hc: HostConfig): string[] {
  return ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${hc.ShmSize || 64 * 1024 * 1024}`];
}

/**
 * Resolves the container's modes against the running containers and makes what they need (the
 * shareable /dev/shm). Undone by releaseNamespaces, which start's failure path and every exit run.
 */
export async function prepareNamespaces(ctx: DaemonContext, c: Container): Promise<SpecOpt> {
  const hc = c.record.HostConfig;
  const ipcMode = parseIpcMode(hc.IpcMode);
  const pidMode = parsePidMode(hc.PidMode);
  const plan: NamespacePlan = { ipc: { kind: 'private' }, pid: { kind: 'private' }, uts: parseUtsMode(hc.UTSMode), shm: { kind: 'tmpfs' } };

  if (pidMode.kind === 'host') plan.pid = { kind: 'host' };
  else if (pidMode.kind === 'container') {
    const other = donor(ctx, c, pidMode.ref, 'PID');
    plan.pid = { kind: 'join', path: `/proc/${other.record.State.Pid}/ns/pid` };
  }

  if (ipcMode.kind === 'none') plan.shm = { kind: 'none' };
  else if (ipcMode.kind === 'host') {
    plan.ipc = { kind: 'host' };
    plan.shm = { kind: 'bind', source: '/dev/shm' };
  } else if (ipcMode.kind === 'container') {
    const other = donor(ctx, c, ipcMode.ref, 'IPC');
    const source = sharedShm(ctx, other);
    if (source === undefined || (source !== '/dev/shm' && !(await isMountPoint(source)))) {
      throw invalidArgument(`container ${other.id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
    }
    plan.ipc = { kind: 'join', path: `/proc/${other.record.State.Pid}/ns/ipc` };
    plan.shm = { kind: 'bind', source };
  } else if (ipcMode.kind === 'shareable') {
    const dir = shmDir(c.dir);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // a crash may have left the last one mounted: start from an empty /dev/shm, as Docker does
    if (await isMountPoint(dir)) await unmount(dir);
    await mountAll([{ type: 'tmpfs', source: 'shm', options: shmOptions(hc) }], dir);
    plan.shm = { kind: 'bind', source: dir };
  }
  return withNamespacePlan(plan);
}

/** Unmounts a shareable container's /dev/shm; idempotent, run at every exit, removal and failed start. */
export async function releaseNamespaces(c: Container): Promise<void> {
  const dir = shmDir(c.dir);
  // only a shareable container ever made the directory: the others need no mountinfo read
  if (!existsSync(dir)) return;
  if (await isMountPoint(dir)) await unmount(dir, { lazy: true });
}
