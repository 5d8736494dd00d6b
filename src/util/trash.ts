/**
 * Removal the caller need not wait for: the directory leaves its name at once (a rename within
 * its parent, atomic), its contents go in the background. A crash in between leaves a
 * `.trash-*` directory, which the owner's start-up sweep removes (sweepTrash).
 */

import { renameSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorCode } from './errors.ts';

const TRASH_PREFIX = '.trash-';
let sequence = 0;

/** Resolves once the contents are gone; a directory that does not exist is already gone. */
export function removeInBackground(path: string): { done: Promise<void> } {
  const trash = join(dirname(path), `${TRASH_PREFIX}${basename(path)}.${process.pid}.${++sequence}`);
  try {
    renameSync(path, trash);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return { done: Promise.resolve() };
    throw err;
  }
  return { done: rm(trash, { recursive: true, force: true, maxRetries: 3 }) };
}

export function isTrash(name: string): boolean {
  return name.startsWith(TRASH_PREFIX);
}

/** Removes what a crash left mid-removal under `dir`. */
export async function sweepTrash(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return;
    throw err;
  }
  await Promise.all(names.filter(isTrash).map((name) => rm(join(dir, name), { recursive: true, force: true, maxRetries: 3 })));
}
