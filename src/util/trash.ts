/**
 * Removal the caller need not wait for: the directory leaves its name at once (a rename within
 * its parent, atomic), its contents go in the background. A crash in between leaves a
 * `.trash-*` directory, which the owner's start-up sweep removes (sweepTrash).
 */

import { mkdirSync, renameSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorCode } from './errors.ts';

const TRASH_PREFIX = '.trash-';
let sequence = 0;

/**
 * Resolves once the contents are gone; a directory that does not exist is already gone.
 * `trashDir` (same filesystem): where it waits for removal instead of beside itself, for an
 * owner whose directory listing must show only live entries.
 */
export function removeInBackground(path: string, options: { trashDir?: string } = {}): { done: Promise<void> } {
  if (options.trashDir !== undefined) mkdirSync(options.trashDir, { recursive: true, mode: 0o700 });
  const trash = join(options.trashDir ?? dirname(path), `${TRASH_PREFIX}${basename(path)}.${process.pid}.${++sequence}`);
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
