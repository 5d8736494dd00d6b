/**
 * The few parts of the DNS wire format (RFC 1035) the embedded resolver needs: read a query's
 * header and questions, and write an answer with A records or an error code. Anything else in a
 * query (EDNS OPT records, authority sections) is skipped, never refused: resolvers add them
 * freely and the answer stays valid without echoing them.
 */

import { invalidArgument } from '../../util/errors.ts';

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;

const HEADER_SIZE = 12;
const MAX_POINTERS = 32;

export interface Question {
  /** Lower-cased, without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

export interface Query {
  readonly id: number;
  /** The header's flag bits as sent (opcode, RD). */
  readonly flags: number;
  readonly opcode: number;
  readonly recursionDesired: boolean;
  readonly isResponse: boolean;
  readonly questions: readonly Question[];
}

function malformed(what: string): Error {
  return invalidArgument(`parse dns message: ${what}`);
}

/** A domain name at `offset`, following compression pointers; returns the name and the offset after it in place. */
function readName(buf: Uint8Array, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let offset = start;
  let next = -1;
  let jumps = 0;
  for (;;) {
    if (offset >= buf.length) throw malformed('name runs past the end');
    const len = buf[offset]!;
    if ((len & 0xc0) === 0xc0) {
      if (offset + 1 >= buf.length) throw malformed('truncated compression pointer');
      if (++jumps > MAX_POINTERS) throw malformed('compression loop');
      if (next < 0) next = offset + 2;
      offset = ((len & 0x3f) << 8) | buf[offset + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) throw malformed('unknown label type');
    if (len === 0) {
      if (next < 0) next = offset + 1;
      break;
    }
    if (offset + 1 + len > buf.length) throw malformed('label runs past the end');
    labels.push(Buffer.from(buf.subarray(offset + 1, offset + 1 + len)).toString('latin1'));
    offset += 1 + len;
  }
  const name = labels.join('.').toLowerCase();
  if (name.length > 253) throw malformed('name longer than 253 characters');
  return { name, next };
}

function u16(buf: Uint8Array, offset: number): number {
  if (offset + 2 > buf.length) throw malformed('truncated');
  return (buf[offset]! << 8) | buf[offset + 1]!;
}

export function parseQuery(buf: Uint8Array): Query {
  if (buf.length < HEADER_SIZE) throw malformed('shorter than a header');
  const id = u16(buf, 0);
  const flags = u16(buf, 2);
  const qdcount = u16(buf, 4);
  let offset = HEADER_SIZE;
  const questions: Question[] = [];
  for (let i = 0; i < qdcount; i++) {
    const { name, next } = readName(buf, offset);
    questions.push({ name, type: u16(buf, next), class: u16(buf, next + 2) });
    offset = next + 4;
  }
  return { id, flags, opcode: (flags >> 11) & 0xf, recursionDesired: (flags & 0x0100) !== 0, isResponse: (flags & 0x8000) !== 0, questions };
}

function writeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name === '' ? [] : name.split('.')) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > 63) throw invalidArgument(`encode dns name ${JSON.stringify(name)}: bad label length`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface Answer {
  /** IPv4 addresses answering the first question (type A). */
  readonly addresses?: readonly string[];
  readonly rcode?: number;
  readonly ttl?: number;
}

function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw invalidArgument(`encode dns answer: ${address} is not an IPv4 address`);
  return Buffer.from(parts);
}

/**
 * The response to `query`: its id, opcode and RD echoed, recursion available, authoritative for
 * the names we answer, the first question repeated, and one A record per address.
 */
export function encodeResponse(query: Pick<Query, 'id' | 'flags' | 'questions'>, answer: Answer): Buffer {
  const rcode = answer.rcode ?? RCODE_NOERROR;
  const addresses = rcode === RCODE_NOERROR ? (answer.addresses ?? []) : [];
  const question = query.questions[0];
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt16BE(query.id, 0);
  // QR, opcode and RD from the query, AA, RA, rcode.
  header.writeUInt16BE(0x8000 | (query.flags & 0x7900) | 0x0400 | 0x0080 | (rcode & 0xf), 2);
  header.writeUInt16BE(question === undefined ? 0 : 1, 4);
  header.writeUInt16BE(question === undefined ? 0 : addresses.length, 6);
  const parts: Buffer[] = [header];
  if (question !== undefined) {
    const q = Buffer.alloc(4);
    q.writeUInt16BE(question.type, 0);
    q.writeUInt16BE(question.class, 2);
    parts.push(writeName(question.name), q);
    for (const address of addresses) {
      const rr = Buffer.alloc(12);
      // A pointer to the question's name, right after the header.
      rr.writeUInt16BE(0xc000 | HEADER_SIZE, 0);
      rr.writeUInt16BE(TYPE_A, 2);
      rr.writeUInt16BE(CLASS_IN, 4);
      rr.writeUInt32BE(answer.ttl ?? 600, 6);
      rr.writeUInt16BE(4, 10);
      parts.push(rr, ipv4Bytes(address));
    }
  }
  return Buffer.concat(parts);
}

/** A query for `name` (tests and tools), with an EDNS OPT record when `edns` is set. */
export function encodeQuery(id: number, name: string, type: number, edns = false): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(edns ? 1 : 0, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(type, 0);
  q.writeUInt16BE(CLASS_IN, 2);
  // OPT: root name, type 41, UDP size 1232, no extended rcode or flags, no options.
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, writeName(name), q, ...(edns ? [opt] : [])]);
}

export interface ParsedResponse {
  readonly id: number;
  readonly rcode: number;
  readonly addresses: readonly string[];
}

/** The A records of a response (tests and tools). */
export function parseResponse(buf: Uint8Array): ParsedResponse {
  const query = parseQuery(buf);
  const ancount = u16(buf, 6);
  let offset = HEADER_SIZE;
  for (let i = 0; i < query.questions.length; i++) offset = readName(buf, offset).next + 4;
  const addresses: string[] = [];
  for (let i = 0; i < ancount; i++) {
    const { next } = readName(buf, offset);
    const type = u16(buf, next);
    const length = u16(buf, next + 8);
    const data = next + 10;
    if (data + length > buf.length) throw malformed('record runs past the end');
    if (type === TYPE_A && length === 4) addresses.push([...buf.subarray(data, data + 4)].join('.'));
    offset = data + length;
  }
  return { id: query.id, rcode: query.flags & 0xf, addresses };
}
