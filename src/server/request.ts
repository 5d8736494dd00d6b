/**
 * Reading what clients send: JSON bodies and query flags, with moby's rules and wording
 * (`invalid JSON: ...`, booleans as `1`/`true`), so that bad input is a 400, never a crash.
 */

import type { IncomingMessage } from 'node:http';
import { invalidArgument } from '../util/errors.ts';
import { goJsonError } from './go-json-error.ts';

const MAX_BODY = 16 * 1024 * 1024;

/** The request body parsed as JSON; an empty body is `undefined`. */
export async function readJson<T>(req: IncomingMessage): Promise<T | undefined> {
  checkJsonContentType(req);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw invalidArgument(`invalid JSON: request body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${jsonErrorText(text, err)}`, err);
  }
}

/** The body must be JSON, or say nothing about its type (old clients send none). */
function checkJsonContentType(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  if (type === undefined || type === '') return;
  const media = type.split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json') throw invalidArgument(`unsupported Content-Type header (${type}): must be 'application/json'`);
}

/** Go's wording where our scanner finds the fault (it always should); Node's otherwise. */
function jsonErrorText(text: string, err: unknown): string {
  const go = goJsonError(text);
  if (go !== undefined) return go;
  const message = err instanceof Error ? err.message : String(err);
  return message.charAt(0).toLowerCase() + message.slice(1);
}

/** moby's BoolValue: `1`, `true`, `True`... are true; absent or anything else false. */
export function boolParam(query: URLSearchParams, name: string): boolean {
  const value = query.get(name)?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false' && value !== 'no' && value !== 'off' && value !== 'none';
}

/** An integer query parameter, or undefined when absent or empty. */
export function intParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw invalidArgument(`invalid value for ${name}: ${JSON.stringify(value)}`);
  return Number(value);
}

/** `filters` as Docker encodes it: `{"name":{"x":true}}`, or the old `{"name":["x"]}`. */
export function filtersParam(query: URLSearchParams): Record<string, string[]> {
  const raw = query.get('filters');
  if (raw === null || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalidArgument(`invalid filter: ${raw}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidArgument(`invalid filter: ${raw}`);
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (Array.isArray(value)) out[key] = value.map(String);
    else if (typeof value === 'object' && value !== null) out[key] = Object.entries(value).filter(([, on]) => on === true).map(([k]) => k);
    else throw invalidArgument(`invalid filter: ${raw}`);
  }
  return out;
}
