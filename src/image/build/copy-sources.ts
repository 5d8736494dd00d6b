/**
 * COPY and ADD sources: paths and globs inside a root (the build context, or a stage's files),
 * never outside it, and where each lands under the destination, following docker's rules: a
 * directory's contents are copied (not the directory), several sources or a destination ending in
 * `/` make the destination a directory, a single file to a path that is not a directory renames it.
 */

import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { errorCode, invalidArgument } from '../../util/errors.ts';
import { globRegExp, hasGlob } from '../../util/glob.ts';

export interface Source {
  /** where it is on the host */
  readonly hostPath: string;
  /** its path relative to the root, for messages */
  readonly rel: string;
  readonly isDir: boolean;
}

/** `./a/../b` → `b`; throws when the path leaves the root. */
export function cleanSourcePath(path: string, keyword: string): string {
  const clean = posix.normalize(`/${path}`).slice(1);
  if (posix.normalize(path.replace(/^\/+/, '')).startsWith('..')) throw invalidArgument(`${keyword} failed: forbidden path outside the build context: ${path}`);
  return clean.replace(/\/+$/, '');
}

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  for (const name of (await readdir(join(root, rel))).sort()) {
    const child = rel === '' ? name : `${rel}/${name}`;
    out.push(child);
    const st = await lstat(join(root, child));
    if (st.isDirectory()) await walk(root, child, out);
  }
}

/**
 * `rel` inside `root` with every symlink on the way resolved as if `root` were `/` (absolute
 * targets and `..` never leave it): a context cannot point COPY at a host file.
 */
export async function resolveInRoot(root: string, rel: string, keyword: string): Promise<string> {
  const pending = rel.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  for (let hops = 0; pending.length > 0; ) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const path = join(root, ...done, part);
    const st = await lstat(path).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++hops > 40) throw invalidArgument(`${keyword} failed: ${rel}: too many levels of symbolic links`);
      const target = await readlink(path);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}

/** The sources a COPY/ADD names, globs expanded against `root`, in the order docker copies them. */
export async function resolveSources(root: string, patterns: readonly string[], keyword: string): Promise<Source[]> {
  const out: Source[] = [];
  let tree: string[] | undefined;
  for (const pattern of patterns) {
    const clean = cleanSourcePath(pattern, keyword);
    if (!hasGlob(clean)) {
      // a source symlink is followed, as docker does for the named path itself, but only inside the root
      const hostPath = await resolveInRoot(root, clean, keyword);
      const st = await lstat(hostPath).catch((err: unknown) => {
        if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') {
          throw invalidArgument(`${keyword} failed: file not found in build context or excluded by .dockerignore: stat ${pattern}: file does not exist`);
        }
        throw err;
      });
      out.push({ hostPath, rel: clean === '' ? '.' : clean, isDir: st.isDirectory() });
      continue;
    }
    if (tree === undefined) {
      tree = [];
      await walk(root, '', tree);
    }
    const regexp = globRegExp(clean);
    const matches = tree.filter((rel) => regexp.test(rel));
    if (matches.length === 0) throw invalidArgument(`${keyword} failed: no source files were specified (${pattern} matches nothing in the build context)`);
    for (const rel of matches) {
      const hostPath = await resolveInRoot(root, rel, keyword);
      const st = await lstat(hostPath).catch(() => undefined);
      if (st === undefined) continue; // a dangling link matched by a glob
      out.push({ hostPath, rel, isDir: st.isDirectory() });
    }
  }
  return out;
}

/** The destination, absolute, and whether it is certainly a directory (ends in `/`, or several sources). */
export function destinationOf(dest: string, workdir: string | undefined, sourceCount: number, keyword: string): { path: string; isDir: boolean } {
  const endsWithSlash = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
  const path = posix.resolve(workdir || '/', dest);
  if (sourceCount > 1 && !endsWithSlash) throw invalidArgument(`When using ${keyword} with more than one source file, the destination must be a directory and end with a /`);
  return { path, isDir: endsWithSlash || sourceCount > 1 };
}
