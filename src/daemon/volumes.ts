/**
 * A container's mount points (Docker's `-v`, `--mount`, image VOLUMEs, `--volumes-from`):
 * resolved once at create into records kept with the container, turned into OCI mounts at every
 * start, shown in inspect as Docker shows them. Named volumes come from the local driver,
 * created on demand; an empty volume is filled from the image's content at its destination the
 * first time it is mounted, as Docker does. Also the volume verbs of the API (`docker volume`),
 * which need to know which containers use a volume.
 */

import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { HostConfig, MountPoint } from '../api/index.ts';
import type { Mount } from '../oci/runtime-spec.ts';
import { conflict, errorCode, invalidArgument } from '../util/errors.ts';
import { ANONYMOUS_LABEL, type LocalVolumes, type Volume } from '../volume/index.ts';
import type { Container, ContainerRecord } from './container.ts';
import type { ContainerStore } from './container-store.ts';
import type { SpecOpt } from './spec/spec-opts.ts';
import { emitVolumeEvent } from './events.ts';

/** A mount point as kept in the container's record (moby's MountPoint, trimmed). */
export interface MountPointRecord {
  Type: 'bind' | 'volume' | 'tmpfs';
  /** the volume's name (volumes only) */
  Name?: string;
  /** host path: the bind source or the volume's data dir */
  Source: string;
  Destination: string;
  RW: boolean;
  /** the mode string the user wrote (`-v`), shown as-is */
  Mode: string;
  Propagation: string;
  /** fill an empty volume from the image (not with `--mount …,volume-nocopy`) */
  CopyData?: boolean;
  /** tmpfs options (size=, mode=) */
  TmpfsOptions?: string[];
}

/** `HostConfig.Mounts` (the `--mount` flag), a field our API types do not list yet. */
interface ApiMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const BIND_MODES = ['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS];

/** Go's filepath.Clean for absolute paths: no `.`/`..`, no doubled or trailing slash. */
function cleanPath(path: string): string {
  const clean = posix.normalize(path);
  return clean.length > 1 ? clean.replace(/\/+$/, '') : clean;
}

function cleanDestination(spec: string, destination: string): string {
  if (!destination.startsWith('/')) throw invalidArgument(`invalid volume specification: '${spec}': invalid mount config for type "volume": invalid mount path: '${destination}' mount path must be absolute`);
  const clean = cleanPath(destination);
  if (clean === '/') throw invalidArgument(`invalid volume specification: '${spec}': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
  return clean;
}

/** `-v SRC:DST[:MODE]` or `-v DST` (anonymous) → a mount point without its volume resolved. */
export function parseBind(spec: string): MountPointRecord {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalidArgument(`invalid volume specification: '${spec}'`);
  if (parts.length === 1) return { Type: 'volume', Source: '', Destination: cleanDestination(spec, parts[0]!), RW: true, Mode: '', Propagation: '', CopyData: true };
  const [source, destination, mode = ''] = parts as [string, string, string?];
  const modes = mode.split(',').filter((m) => m !== '');
  for (const m of modes) if (!BIND_MODES.includes(m)) throw invalidArgument(`invalid mode: ${mode}`);
  const rw = !modes.includes('ro');
  const propagation = modes.find((m) => PROPAGATIONS.includes(m));
  if (source.startsWith('/')) {
    return { Type: 'bind', Source: cleanPath(source), Destination: cleanDestination(spec, destination), RW: rw, Mode: mode, Propagation: propagation ?? 'rprivate' };
  }
  if (propagation) throw invalidArgument(`invalid volume specification: '${spec}': invalid mount config for type "volume": propagation not supported for volumes`);
  return { Type: 'volume', Name: source, Source: '', Destination: cleanDestination(spec, destination), RW: rw, Mode: mode || 'z', Propagation: '', CopyData: !modes.includes('nocopy') };
}

/** One `--mount` entry → a mount point without its volume resolved. */
export function parseApiMount(m: ApiMount): MountPointRecord {
  const type = m.Type ?? '';
  const target = m.Target ?? '';
  if (target === '') throw invalidArgument('invalid mount config: Target must not be empty');
  const spec = `${type}:${target}`;
  const destination = cleanDestination(spec, target);
  const rw = !m.ReadOnly;
  switch (type) {
    case 'bind': {
      const source = m.Source ?? '';
      if (source === '') throw invalidArgument(`invalid mount config for type "bind": field Source must not be empty`);
      if (!source.startsWith('/')) throw invalidArgument(`invalid mount config for type "bind": invalid mount path: '${source}' mount path must be absolute`);
      const propagation = m.BindOptions?.Propagation || 'rprivate';
      if (!PROPAGATIONS.includes(propagation)) throw invalidArgument(`invalid mount config for type "bind": invalid propagation mode: ${propagation}`);
      return { Type: 'bind', Source: cleanPath(source), Destination: destination, RW: rw, Mode: '', Propagation: propagation };
    }
    case 'volume':
      if (m.BindOptions) throw invalidArgument('invalid mount config for type "volume": field BindOptions must not be specified');
      return { Type: 'volume', ...(m.Source ? { Name: m.Source } : {}), Source: '', Destination: destination, RW: rw, Mode: '', Propagation: '', CopyData: !m.VolumeOptions?.NoCopy };
    case 'tmpfs': {
      if (m.Source) throw invalidArgument('invalid mount config for type "tmpfs": field Source must not be specified');
      const options: string[] = [];
      if (m.TmpfsOptions?.SizeBytes) options.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) options.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      return { Type: 'tmpfs', Source: '', Destination: destination, RW: rw, Mode: '', Propagation: '', TmpfsOptions: options };
    }
    default:
      throw invalidArgument(`invalid mount config: mount type unknown: ${JSON.stringify(type)}`);
  }
}

/** `--volumes-from C[:ro|:rw]` → that container and the mode override. */
function parseVolumesFrom(spec: string): { ref: string; mode: string } {
  const [ref = '', mode = ''] = spec.split(':');
  if (ref === '' || (mode !== '' && mode !== 'ro' && mode !== 'rw')) throw invalidArgument(`invalid mode for volumes-from: ${spec}`);
  return { ref, mode };
}

export interface VolumeEnv {
  volumes: LocalVolumes;
  store: ContainerStore;
}

/**
 * The mount points of a new container, its volumes created: `--volumes-from` first, then
 * `-v` and `--mount` (which override them at the same destination), then an anonymous volume
 * for every image VOLUME nothing else covers. Docker refuses two user mounts at one place.
 */
export async function resolveMounts(env: VolumeEnv, record: ContainerRecord): Promise<MountPointRecord[]> {
  const hc = record.HostConfig as HostConfig & { Mounts?: ApiMount[] | null };
  const byDestination = new Map<string, MountPointRecord>();
  for (const spec of hc.VolumesFrom ?? []) {
    const { ref, mode } = parseVolumesFrom(spec);
    const source = env.store.get(ref);
    for (const mp of mountPointsOf(source.record)) {
      if (mp.Type === 'tmpfs') continue;
      byDestination.set(mp.Destination, { ...mp, RW: mode === '' ? mp.RW : mode === 'rw', CopyData: false });
    }
  }
  const apiMounts = (hc.Mounts ?? []).map(parseApiMount);
  // `-v` creates a missing host directory at start; `--mount` refuses it, at create
  for (const mp of apiMounts) {
    if (mp.Type !== 'bind') continue;
    try {
      await lstat(mp.Source);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
      throw invalidArgument(`invalid mount config for type "bind": bind source path does not exist: ${mp.Source}`);
    }
  }
  const user = [...(hc.Binds ?? []).map(parseBind), ...apiMounts];
  const seen = new Set<string>();
  for (const mp of user) {
    if (seen.has(mp.Destination)) throw invalidArgument(`Duplicate mount point: ${mp.Destination}`);
    seen.add(mp.Destination);
    byDestination.set(mp.Destination, mp);
  }
  for (const path of Object.keys(record.Config.Volumes ?? {})) {
    const destination = cleanDestination(path, path);
    if (byDestination.has(destination) || hc.Tmpfs?.[destination] !== undefined) continue;
    byDestination.set(destination, { Type: 'volume', Source: '', Destination: destination, RW: true, Mode: '', Propagation: '', CopyData: true });
  }
  const out: MountPointRecord[] = [];
  const created: string[] = [];
  try {
    for (const mp of byDestination.values()) {
      if (mp.Type !== 'volume' || mp.Source !== '') {
        out.push(mp);
        continue;
      }
      const anonymous = mp.Name === undefined;
      const existed = !anonymous && env.volumes.has(mp.Name!);
      const volume = await env.volumes.create(mp.Name, anonymous ? { labels: { [ANONYMOUS_LABEL]: '' } } : {});
      if (!existed) created.push(volume.Name);
      emitVolumeEvent(env, volume.Name, 'create', { driver: volume.Driver });
      out.push({ ...mp, Name: volume.Name, Source: volume.Mountpoint });
    }
  } catch (err) {
    for (const name of created) await env.volumes.remove(name, { force: true }).catch(() => {});
    throw err;
  }
  return out;
}

/** The record's mount points; a container created before they were recorded has only `-v` binds. */
export function mountPointsOf(record: ContainerRecord): MountPointRecord[] {
  const recorded = record.MountPoints;
  if (recorded) return recorded;
  return (record.HostConfig.Binds ?? []).map(parseBind).filter((m) => m.Type === 'bind');
}

/**
 * OCI mounts for the mount points. Every mount is then ordered parents before children (a
 * stable sort by depth, as Docker's): a volume on /etc must not hide the /etc/hosts bind.
 */
export function withMountPoints(mountPoints: readonly MountPointRecord[]): SpecOpt {
  return (spec) => {
    const depth = (p: string): number => p.split('/').filter(Boolean).length;
    const mounts: Mount[] = mountPoints.map((mp) => {
      if (mp.Type === 'tmpfs') return { destination: mp.Destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...(mp.TmpfsOptions ?? []), ...(mp.RW ? [] : ['ro'])] };
      return { destination: mp.Destination, type: 'bind', source: mp.Source, options: ['rbind', mp.Propagation || 'rprivate', ...(mp.RW ? [] : ['ro'])] };
    });
    const taken = new Set(mounts.map((m) => m.destination));
    spec.mounts = [...(spec.mounts ?? []).filter((m) => !taken.has(m.destination)), ...mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
  };
}

/** Inspect's `Mounts`, in Docker's shape. */
export function mountsView(record: ContainerRecord): MountPoint[] {
  return mountPointsOf(record).map((mp) => {
    if (mp.Type === 'volume') return { Type: 'volume', Name: mp.Name ?? '', Source: mp.Source, Destination: mp.Destination, Driver: 'local', Mode: mp.Mode, RW: mp.RW, Propagation: '' };
    return { Type: mp.Type, Source: mp.Source, Destination: mp.Destination, Mode: mp.Mode, RW: mp.RW, Propagation: mp.Propagation };
  });
}

/**
 * Fills each empty volume from the image's content at its destination (rootfs mounted at
 * `rootfs`). A destination reached through a symlink is skipped: following it could copy host
 * files. Bind sources must exist, as Docker's `-v` creates them (`--mount` refuses).
 */
export async function prepareMountSources(rootfs: string, mountPoints: readonly MountPointRecord[]): Promise<void> {
  for (const mp of mountPoints) {
    if (mp.Type === 'bind') {
      try {
        await lstat(mp.Source);
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw err;
        await mkdir(mp.Source, { recursive: true, mode: 0o755 });
      }
      continue;
    }
    if (mp.Type !== 'volume' || !mp.CopyData) continue;
    if ((await readdir(mp.Source)).length > 0) continue;
    const inImage = await pathInRootfs(rootfs, mp.Destination);
    if (inImage === undefined) continue;
    const st = await lstat(inImage);
    if (!st.isDirectory()) continue;
    await copyTree(inImage, mp.Source);
    await lchown(mp.Source, st.uid, st.gid);
    await chmod(mp.Source, st.mode & 0o7777);
  }
}

/** `rootfs + path` when no component is a symlink, else undefined (or when it is missing). */
async function pathInRootfs(rootfs: string, path: string): Promise<string | undefined> {
  let current = rootfs;
  for (const part of path.split('/').filter(Boolean)) {
    current = join(current, part);
    try {
      if ((await lstat(current)).isSymbolicLink()) return undefined;
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }
  return current;
}

/** Copies a tree keeping owners, modes, times and symlinks (as `cp -a`, without hardlink sharing). */
async function copyTree(from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const st = await lstat(src);
    if (st.isDirectory()) {
      await mkdir(dst, { mode: 0o700 });
      await copyTree(src, dst);
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
    } else if (st.isFile()) {
      await copyFile(src, dst);
    } else {
      continue; // devices, fifos and sockets have no place in a fresh volume
    }
    await lchown(dst, st.uid, st.gid);
    if (!st.isSymbolicLink()) await chmod(dst, st.mode & 0o7777);
    await lutimes(dst, st.atime, st.mtime);
  }
}

/** Containers whose mount points use the volume. */
export function volumeUsers(containers: readonly Container[], name: string): string[] {
  return containers.filter((c) => mountPointsOf(c.record).some((mp) => mp.Type === 'volume' && mp.Name === name)).map((c) => c.id);
}

/**
 * The container's anonymous volumes, removed when nothing else uses them (`docker rm -v`,
 * `--rm`). Named volumes stay, as in Docker.
 */
export async function removeAnonymousVolumes(env: VolumeEnv, record: ContainerRecord, warn: (message: string) => void): Promise<void> {
  for (const mp of mountPointsOf(record)) {
    if (mp.Type !== 'volume' || mp.Name === undefined || !env.volumes.has(mp.Name)) continue;
    const volume = env.volumes.get(mp.Name);
    if (volume.Labels?.[ANONYMOUS_LABEL] === undefined) continue;
    if (volumeUsers(env.store.all().filter((c) => c.id !== record.ID), mp.Name).length > 0) continue;
    await env.volumes.remove(mp.Name, { force: true }).then(
      () => emitVolumeEvent(env, volume.Name, 'destroy', { driver: volume.Driver }),
      (err: unknown) => warn(`remove volume ${mp.Name}: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
}

const VOLUME_FILTERS = new Set(['name', 'driver', 'label', 'dangling', 'all']);

function matchesLabel(labels: Record<string, string> | null, wanted: string): boolean {
  const eq = wanted.indexOf('=');
  if (eq < 0) return labels?.[wanted] !== undefined;
  return labels?.[wanted.slice(0, eq)] === wanted.slice(eq + 1);
}

function truthy(value: string): boolean {
  return ['1', 'true'].includes(value.toLowerCase());
}

/** The volume verbs of the API (`docker volume …`) over the local driver and the containers. */
export class VolumeService {
  #env: VolumeEnv;

  constructor(env: VolumeEnv) {
    this.#env = env;
  }

  async list(filters: Record<string, string[]>): Promise<{ Volumes: Volume[]; Warnings: string[] | null }> {
    for (const key of Object.keys(filters)) if (!VOLUME_FILTERS.has(key) || key === 'all') throw invalidArgument(`invalid filter '${key}'`);
    return { Volumes: this.#select(filters), Warnings: null };
  }

  #select(filters: Record<string, string[]>): Volume[] {
    const containers = this.#env.store.all();
    return this.#env.volumes
      .list()
      .filter((v) => !filters['name']?.length || filters['name'].some((n) => v.Name.includes(n)))
      .filter((v) => !filters['driver']?.length || filters['driver'].includes(v.Driver))
      .filter((v) => !filters['label']?.length || filters['label'].every((l) => matchesLabel(v.Labels, l)))
      .filter((v) => {
        const dangling = filters['dangling'];
        if (!dangling?.length) return true;
        const unused = volumeUsers(containers, v.Name).length === 0;
        return dangling.some((d) => truthy(d) === unused);
      })
      .sort((a, b) => (a.Name < b.Name ? -1 : 1));
  }

  async create(body: { Name?: string; Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null }): Promise<Volume> {
    const volume = await this.#env.volumes.create(body.Name || undefined, {
      ...(body.Driver ? { driver: body.Driver } : {}),
      labels: body.Labels ?? null,
      options: body.DriverOpts ?? null,
    });
    emitVolumeEvent(this.#env, volume.Name, 'create', { driver: volume.Driver });
    return volume;
  }

  async inspect(name: string): Promise<Volume> {
    return this.#env.volumes.get(name);
  }

  async remove(name: string, options: { force: boolean }): Promise<void> {
    if (this.#env.volumes.has(name)) {
      const users = volumeUsers(this.#env.store.all(), name);
      if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    }
    const driver = this.#env.volumes.has(name) ? this.#env.volumes.get(name).Driver : undefined;
    await this.#env.volumes.remove(name, options);
    if (driver !== undefined) emitVolumeEvent(this.#env, name, 'destroy', { driver });
  }

  /** Unused volumes go; since API 1.42 only anonymous ones unless the `all` filter is set. */
  async prune(filters: Record<string, string[]>): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    for (const key of Object.keys(filters)) if (!['label', 'all', 'label!'].includes(key)) throw invalidArgument(`invalid filter '${key}'`);
    const all = (filters['all'] ?? []).some(truthy);
    const deleted: string[] = [];
    let reclaimed = 0;
    const containers = this.#env.store.all();
    for (const volume of this.#env.volumes.list()) {
      if (volumeUsers(containers, volume.Name).length > 0) continue;
      if (!all && volume.Labels?.[ANONYMOUS_LABEL] === undefined) continue;
      if (filters['label']?.length && !filters['label'].every((l) => matchesLabel(volume.Labels, l))) continue;
      if (filters['label!']?.length && filters['label!'].some((l) => matchesLabel(volume.Labels, l))) continue;
      const size = await this.#env.volumes.size(volume.Name);
      await this.#env.volumes.remove(volume.Name, { force: true });
      emitVolumeEvent(this.#env, volume.Name, 'destroy', { driver: volume.Driver });
      deleted.push(volume.Name);
      reclaimed += size;
    }
    emitVolumeEvent(this.#env, '', 'prune', { reclaimed: String(reclaimed) });
    return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
  }
}
