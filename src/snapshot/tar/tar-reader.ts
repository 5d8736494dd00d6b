/**
 * A streaming tar reader for image layers and image archives. Layers are read once, front to
 * back, and may be gigabytes, so entries are yielded with their body as a stream of chunks and
 * nothing is buffered beyond one block. Understands ustar, pax extended headers (long names,
 * big sizes, SCHILY.xattr.*) and GNU long names/links; refuses GNU sparse files (no image
 * builder writes them, and accepting them half-way would corrupt files silently).
 */

import { invalidArgument, notImplemented } from '../../util/errors.ts';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** the path as written in the archive (not normalised) */
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds since the epoch, possibly fractional (pax mtime) */
  mtime: number;
  /** symlink content or hardlink target */
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** extended attributes from SCHILY.xattr.* records; values are raw bytes */
  xattrs: Map<string, Buffer>;
}

export interface TarEntry {
  header: TarHeader;
  /** the entry's content; read it fully or not at all before asking for the next entry */
  body: AsyncIterable<Buffer>;
}

const BLOCK = 512;

/** Pulls exact byte counts out of an async stream of chunks. */
class ByteReader {
  #it: AsyncIterator<Buffer | Uint8Array | string>;
  #pending: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const next = await this.#it.next();
    if (next.done) {
      this.#done = true;
      return false;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    return true;
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.#pending.length < n) if (!(await this.#fill())) break;
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(out.length);
    return out;
  }

  /** n bytes as they arrive, without gathering them. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#pending.length === 0 && !(await this.#fill())) throw invalidArgument('read tar: unexpected end of archive');
      const take = this.#pending.subarray(0, Math.min(left, this.#pending.length));
      this.#pending = this.#pending.subarray(take.length);
      left -= take.length;
      yield take;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n)) void _;
  }

  /** Stops the source early (a refused entry): a stream source is destroyed, a child process killed. */
  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#it.return?.();
  }

  /** Reads and discards whatever follows (tar padding after the end marker). */
  async drain(): Promise<void> {
    this.#pending = Buffer.alloc(0);
    while (await this.#fill()) this.#pending = Buffer.alloc(0);
  }
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8');
}

/** Octal, or GNU base-256 when the top bit of the first byte is set (values ≥ 8 GiB, big uids). */
function numeric(buf: Buffer, start: number, length: number): number {
  const field = buf.subarray(start, start + length);
  const first = field[0] ?? 0;
  if (first & 0x80) {
    let value = first & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = cString(buf, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalidArgument(`read tar: invalid numeric field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return sum === stored;
}

/** pax records are `<len> <key>=<value>\n` with len counting the whole record, in bytes. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > data.length) throw invalidArgument('read tar: malformed pax header');
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq === -1) throw invalidArgument('read tar: malformed pax record');
    records.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return records;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink',
  '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
};

async function readAll(reader: ByteReader, size: number): Promise<Buffer> {
  if (size > 16 * 1024 * 1024) throw invalidArgument(`read tar: metadata header of ${size} bytes is too large`);
  const data = await reader.read(size);
  if (data.length < size) throw invalidArgument('read tar: unexpected end of archive');
  await reader.skip((BLOCK - (size % BLOCK)) % BLOCK);
  return Buffer.from(data);
}

/**
 * Yields the entries of a tar stream in order. The source is consumed to its end (padding after
 * the end-of-archive marker included) so that a digest computed over it covers every byte.
 */
export async function* readTar(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source);
  try {
    yield* entries(reader);
  } finally {
    await reader.close();
  }
}

async function* entries(reader: ByteReader): AsyncGenerator<TarEntry> {
  let globalPax = new Map<string, Buffer>();
  let pax: Map<string, Buffer> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length === 0) break; // tolerate archives that end without the zero blocks
    if (block.length < BLOCK) throw invalidArgument('read tar: unexpected end of archive');
    if (block.every((b) => b === 0)) break;
    if (!checksumOk(block)) throw invalidArgument('read tar: header checksum mismatch');
    const flag = String.fromCharCode(block[156] ?? 0);
    const size = numeric(block, 124, 12);
    if (flag === 'x' || flag === 'g') {
      const records = parsePax(await readAll(reader, size));
      if (flag === 'g') globalPax = new Map([...globalPax, ...records]);
      else pax = records;
      continue;
    }
    if (flag === 'L' || flag === 'K') {
      const value = cString(await readAll(reader, size), 0, size);
      if (flag === 'L') longName = value;
      else longLink = value;
      continue;
    }
    if (flag === 'S') throw notImplemented('read tar: gnu sparse files are not supported');
    const type = TYPES[flag];
    const magic = block.subarray(257, 263).toString('latin1');
    const prefix = magic.startsWith('ustar') ? cString(block, 345, 155) : '';
    const records = new Map([...globalPax, ...(pax ?? [])]);
    if ([...records.keys()].some((k) => k.startsWith('GNU.sparse'))) throw notImplemented('read tar: gnu sparse files are not supported');
    const text = (key: string): string | undefined => records.get(key)?.toString('utf8');
    const num = (key: string, fallback: number): number => {
      const value = text(key);
      return value === undefined ? fallback : Number(value);
    };
    const header: TarHeader = {
      name: text('path') ?? longName ?? (prefix ? `${prefix}/${cString(block, 0, 100)}` : cString(block, 0, 100)),
      type: type ?? 'file',
      mode: numeric(block, 100, 8) & 0o7777,
      uid: num('uid', numeric(block, 108, 8)),
      gid: num('gid', numeric(block, 116, 8)),
      size: num('size', size),
      mtime: num('mtime', numeric(block, 136, 12)),
      linkname: text('linkpath') ?? longLink ?? cString(block, 157, 100),
      uname: text('uname') ?? cString(block, 265, 32),
      gname: text('gname') ?? cString(block, 297, 32),
      devmajor: numeric(block, 329, 8),
      devminor: numeric(block, 337, 8),
      xattrs: new Map(),
    };
    for (const [key, value] of records) if (key.startsWith('SCHILY.xattr.')) header.xattrs.set(key.slice('SCHILY.xattr.'.length), value);
    pax = undefined;
    longName = undefined;
    longLink = undefined;
    if (type === undefined) throw invalidArgument(`read tar: entry ${JSON.stringify(header.name)} has unknown type ${JSON.stringify(flag)}`);
    // Only regular files carry content we hand out; anything else with a size is skipped, as
    // GNU tar does (links and directories never carry data even when their size field lies).
    const dataSize = type === 'link' || type === 'symlink' || type === 'dir' ? 0 : header.size;
    const bodySize = type === 'file' ? dataSize : 0;
    let delivered = 0;
    const body = (async function* () {
      for await (const chunk of reader.chunks(bodySize - delivered)) {
        delivered += chunk.length;
        yield chunk;
      }
    })();
    yield { header, body };
    await reader.skip(dataSize - delivered);
    await reader.skip((BLOCK - (dataSize % BLOCK)) % BLOCK);
  }
  await reader.drain();
}
