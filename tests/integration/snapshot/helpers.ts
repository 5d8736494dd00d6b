/**
 * Shared pieces of the snapshot/unpack/archive integration tests: tar fixtures built with our
 * writer, a directory-backed blob store satisfying image/unpack's BlobStore, tree listings for
 * comparing what the kernel shows, and the mount leak check.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Digest } from '../../../src/oci/image-spec.ts';
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from '../../../src/snapshot/index.ts';
import type { TarWriteHeader } from '../../../src/snapshot/index.ts';
import type { BlobStore, PutResult } from '../../../src/image/unpack/index.ts';
import { notFound, invalidArgument } from '../../../src/util/errors.ts';

export type FixtureEntry = Omit<TarWriteHeader, 'type' | 'size'> & { type?: TarWriteHeader['type']; content?: string | Buffer };

/** A tar of `entries` (type defaults to file, or dir for names ending in '/'). */
export function tarOf(entries: FixtureEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    const type = entry.type ?? (entry.name.endsWith('/') ? 'dir' : 'file');
    parts.push(encodeTarHeader({ mtime: 1700000000, ...entry, type, size: body.length }));
    if (type === 'file') parts.push(body, tarPadding(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

export function gzip(data: Buffer): Buffer {
  return gzipSync(data);
}

export function sha256(data: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function* chunks(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

/** A blob store in a directory: digests verified on write, as content/ will do. */
export class DirBlobStore implements BlobStore {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }
  #path(digest: Digest): string {
    return join(this.root, digest.replace(':', '/'));
  }
  async put(data: Uint8Array | AsyncIterable<Uint8Array>, expected: { digest?: Digest; size?: number } = {}): Promise<PutResult> {
    await mkdir(join(this.root, 'sha256'), { recursive: true });
    const buffers: Uint8Array[] = [];
    if (data instanceof Uint8Array) buffers.push(data);
    else for await (const chunk of data) buffers.push(chunk);
    const bytes = Buffer.concat(buffers);
    const digest = sha256(bytes);
    if (expected.digest !== undefined && expected.digest !== digest) throw invalidArgument(`put blob: got ${digest}, expected ${expected.digest}`);
    if (expected.size !== undefined && expected.size !== bytes.length) throw invalidArgument(`put blob ${digest}: size ${bytes.length}, expected ${expected.size}`);
    const tmp = join(this.root, `tmp-${randomBytes(6).toString('hex')}`);
    await writeFile(tmp, bytes);
    await rename(tmp, this.#path(digest));
    return { digest, size: bytes.length };
  }
  async has(digest: Digest): Promise<boolean> {
    return access(this.#path(digest)).then(() => true, () => false);
  }
  async readStream(digest: Digest): Promise<AsyncIterable<Uint8Array>> {
    if (!(await this.has(digest))) throw notFound(`blob ${digest}: not found`);
    return createReadStream(this.#path(digest));
  }
  async read(digest: Digest): Promise<Buffer> {
    return readFile(this.#path(digest));
  }
  async list(): Promise<string[]> {
    return (await readdir(join(this.root, 'sha256')).catch(() => [])).sort();
  }
}

/** `path type mode uid:gid [content|target|rdev]` for every entry below root, sorted. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  async function visit(dir: string, prefix: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const rel = prefix + name;
      const st = await lstat(path);
      const mode = (st.mode & 0o7777).toString(8);
      const owner = `${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out.push(`${rel}/ dir ${mode} ${owner}`);
        await visit(path, `${rel}/`);
      } else if (st.isSymbolicLink()) out.push(`${rel} symlink ${owner} -> ${await readlink(path)}`);
      else if (st.isFile()) out.push(`${rel} file ${mode} ${owner} ${(await readFile(path)).toString('utf8').slice(0, 40)}`);
      else if (st.isCharacterDevice()) out.push(`${rel} char ${mode} ${owner} ${st.rdev}`);
      else if (st.isFIFO()) out.push(`${rel} fifo ${mode} ${owner}`);
      else out.push(`${rel} other`);
    }
  }
  await visit(root, '');
  return out;
}

/** Mount points at or below `prefix`, per /proc/self/mountinfo. */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p === prefix || p.startsWith(`${prefix}/`));
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

export const isRoot = process.getuid?.() === 0;
