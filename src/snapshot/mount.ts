/**
 * The one place that performs the Mount[] data snapshotters hand out. Node has no mount(2), so
 * this runs util-linux `mount`/`umount` for now; keeping every call here lets a typed FFI
 * binding replace it later without touching the snapshotters.
 *
 * The kernel copies mount options from user space in one page (4096 bytes), so a deep overlay
 * (120+ layers) overflows with absolute lowerdir paths. As containerd does, the options are then
 * rewritten relative to the layers' common directory and mount runs with that as its cwd.
 */

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { EngineError } from '../util/errors.ts';
import type { Mount } from './snapshotter.ts';

const PAGE_SIZE = 4096;
const PATH_OPTIONS = ['lowerdir', 'upperdir', 'workdir'];

function run(command: string, args: string[], cwd?: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new EngineError('unavailable', `run ${command}: ${err.message}`, { cause: err })));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

function commonDir(paths: string[]): string {
  let common = paths[0] ?? '/';
  for (const path of paths) {
    while (common !== '/' && !(path === common || path.startsWith(common + sep))) common = dirname(common);
  }
  return common;
}

/**
 * Overlay options that fit the kernel's page: unchanged when they already fit, otherwise
 * relative to the common parent of every layer path, with that parent as `cwd`.
 */
export function compactOverlayOptions(options: string[]): { options: string[]; cwd?: string } {
  if (options.join(',').length < PAGE_SIZE) return { options };
  const paths: string[] = [];
  for (const option of options) {
    const [key, value] = splitOption(option);
    if (PATH_OPTIONS.includes(key) && value !== undefined) paths.push(...value.split(':'));
  }
  const cwd = commonDir(paths);
  const rewritten = options.map((option) => {
    const [key, value] = splitOption(option);
    if (!PATH_OPTIONS.includes(key) || value === undefined) return option;
    return `${key}=${value.split(':').map((p) => relative(cwd, p) || '.').join(':')}`;
  });
  if (rewritten.join(',').length >= PAGE_SIZE) {
    throw new EngineError('invalid-argument', `mount overlay: ${paths.length} layer paths do not fit in one page even relative to ${cwd}`);
  }
  return { options: rewritten, cwd };
}

function splitOption(option: string): [string, string | undefined] {
  const eq = option.indexOf('=');
  return eq === -1 ? [option, undefined] : [option.slice(0, eq), option.slice(eq + 1)];
}

/**
 * Who performs the mount(2) calls: util-linux by default; a caller with a faster way (the
 * daemon: berth-shim, no process of its own per mount) passes its own.
 */
export interface Mounter {
  /** One mount whose options already fit in a page; relative layer paths start at `cwd`. */
  mount(mount: Mount, target: string, cwd?: string): Promise<void>;
  unmount(target: string): Promise<void>;
}

export const utilLinuxMounter: Mounter = {
  async mount(mount, target, cwd) {
    const isBind = mount.type === 'bind' || mount.options.includes('bind') || mount.options.includes('rbind');
    const args = isBind ? [] : ['-t', mount.type];
    if (mount.options.length > 0) args.push('-o', mount.options.join(','));
    args.push('--', mount.source, target);
    const result = await run('mount', args, cwd);
    // `mount -o bind,ro` does the read-only remount itself (util-linux ≥ 2.27)
    if (result.code !== 0) throw new EngineError('internal', `mount ${mount.type} on ${target}: ${result.stderr.trim()}`);
  },
  unmount: (target) => unmount(target),
};

/** Performs the mounts in order on `target`; on failure, undoes the ones already made. */
export async function mountAll(mounts: Mount[], target: string, mounter: Mounter = utilLinuxMounter): Promise<void> {
  let done = 0;
  try {
    for (const mount of mounts) {
      if (mount.type === 'overlay') {
        const { options, cwd } = compactOverlayOptions(mount.options);
        await mounter.mount({ ...mount, options }, target, cwd);
      } else {
        await mounter.mount(mount, target);
      }
      done++;
    }
  } catch (err) {
    for (; done > 0; done--) await mounter.unmount(target).catch(() => {});
    throw err;
  }
}

/** Unmounts `target` (the topmost mount on it). */
export async function unmount(target: string, options: { lazy?: boolean } = {}): Promise<void> {
  const result = await run('umount', [...(options.lazy ? ['-l'] : []), '--', target]);
  if (result.code !== 0) throw new EngineError('internal', `unmount ${target}: ${result.stderr.trim()}`);
}

/**
 * The same writable overlay, volatile (overlayfs skips every sync of its upper layer): for a
 * layer thrown away with its container. overlayfs leaves `work/incompat/volatile` in the work
 * dir and refuses the next mount while it is there; a layer mounted again is as disposable as
 * before, so the marker goes first. Undefined for anything but a writable overlay.
 */
export function volatileOverlay(mounts: Mount[]): Mount[] | undefined {
  const [mount] = mounts;
  if (mounts.length !== 1 || mount === undefined || mount.type !== 'overlay') return undefined;
  const workdir = mount.options.find((o) => o.startsWith('workdir='))?.slice('workdir='.length);
  if (workdir === undefined) return undefined;
  rmSync(join(workdir, 'work', 'incompat'), { recursive: true, force: true });
  return [{ ...mount, options: [...mount.options, 'volatile'] }];
}
