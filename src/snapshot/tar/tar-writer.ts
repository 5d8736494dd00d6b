/**
 * Encodes tar headers for the layers and archives Berth writes (snapshot diffs, image archives,
 * test fixtures). Output is deterministic for a given input: ustar headers, plus a pax extended
 * header whenever a field does not fit (long names and link targets, big ids and sizes, xattrs,
 * non-ASCII names), which every tar reader in the container world understands.
 */

import type { TarEntryType } from './tar-reader.ts';

export interface TarWriteHeader {
  name: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** seconds since the epoch */
  mtime?: number;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
}

const BLOCK = 512;
const FLAGS: Record<TarEntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

/** The zero blocks that end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

/** Zero bytes that pad a body of `size` bytes to the block size. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function fits(value: string, length: number): boolean {
  return Buffer.byteLength(value) <= length && /^[\x20-\x7e]*$/.test(value);
}

function octal(block: Buffer, value: number, start: number, length: number): void {
  block.write(value.toString(8).padStart(length - 1, '0') + '\0', start, length, 'ascii');
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function ustar(header: TarWriteHeader, flag: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(header.name.slice(0, 100), 0, 100, 'utf8');
  octal(block, (header.mode ?? (header.type === 'dir' ? 0o755 : 0o644)) & 0o7777, 100, 8);
  octal(block, Math.min(header.uid ?? 0, 0o7777777), 108, 8);
  octal(block, Math.min(header.gid ?? 0, 0o7777777), 116, 8);
  octal(block, Math.min(size, 0o77777777777), 124, 12);
  octal(block, Math.min(Math.max(0, Math.floor(header.mtime ?? 0)), 0o77777777777), 136, 12);
  block.write(flag, 156, 1, 'ascii');
  block.write((header.linkname ?? '').slice(0, 100), 157, 100, 'utf8');
  block.write('ustar\x0000', 257, 8, 'latin1');
  block.write((header.uname ?? '').slice(0, 32), 265, 32, 'utf8');
  block.write((header.gname ?? '').slice(0, 32), 297, 32, 'utf8');
  octal(block, header.devmajor ?? 0, 329, 8);
  octal(block, header.devminor ?? 0, 337, 8);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

/** The header block(s) for one entry; the caller writes the body and `tarPadding(size)` after it. */
export function encodeTarHeader(header: TarWriteHeader): Buffer {
  const size = header.type === 'file' ? (header.size ?? 0) : 0;
  const records: Buffer[] = [];
  if (!fits(header.name, 100)) records.push(paxRecord('path', Buffer.from(header.name)));
  if (header.linkname && !fits(header.linkname, 100)) records.push(paxRecord('linkpath', Buffer.from(header.linkname)));
  if (size > 0o77777777777) records.push(paxRecord('size', Buffer.from(String(size))));
  if ((header.uid ?? 0) > 0o7777777) records.push(paxRecord('uid', Buffer.from(String(header.uid))));
  if ((header.gid ?? 0) > 0o7777777) records.push(paxRecord('gid', Buffer.from(String(header.gid))));
  const mtime = header.mtime ?? 0;
  if (!Number.isInteger(mtime) || mtime < 0) records.push(paxRecord('mtime', Buffer.from(String(mtime))));
  for (const [key, value] of [...(header.xattrs ?? [])].sort(([a], [b]) => (a < b ? -1 : 1))) {
    records.push(paxRecord(`SCHILY.xattr.${key}`, value));
  }
  const main = ustar(header, FLAGS[header.type], size);
  if (records.length === 0) return main;
  const data = Buffer.concat(records);
  const paxName = `PaxHeaders/${header.name.replace(/\/+$/, '').split('/').pop() ?? ''}`.slice(0, 100);
  return Buffer.concat([ustar({ name: paxName, type: 'file', mtime: Math.max(0, Math.floor(mtime)) }, 'x', data.length), data, tarPadding(data.length), main]);
}
