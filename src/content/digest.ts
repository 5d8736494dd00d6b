/**
 * Digest helpers shared by the store and the registry client: one place decides how bytes
 * become a `Digest`, so a blob hashed on download and on fsck is compared the same way.
 */

import { createHash, type Hash } from 'node:crypto';
import { invalidArgument } from '../util/errors.ts';
import { isDigest, type Digest } from '../oci/image-spec.ts';

export function sha256Digest(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A hasher for the algorithm a digest names, so sha512 blobs verify too. */
export function hasherFor(digest: Digest): Hash {
  return createHash(algorithmOf(digest));
}

export function algorithmOf(digest: Digest): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function encodedOf(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function toDigest(algorithm: string, hash: Hash): Digest {
  return `${algorithm}:${hash.digest('hex')}` as Digest;
}

export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw invalidArgument(`parse digest ${JSON.stringify(value)}: invalid digest format`);
  return value;
}

/** The 12-hex short id docker shows for layers in progress output. */
export function shortDigest(digest: Digest): string {
  return encodedOf(digest).slice(0, 12);
}
