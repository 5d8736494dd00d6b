/**
 * Adapts the content store to image/unpack's narrow BlobStore: archives hand us streams whose
 * digest is only known at the end, while the content store ingests against an expected digest.
 * Such streams are spooled to a temporary file (hashing on the way) and then ingested, so the
 * store still verifies every byte it commits.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../../oci/image-spec.ts';
import type { ContentStore, Lease } from '../../content/index.ts';
import type { BlobStore, PutResult } from '../unpack/index.ts';
import { EngineError, invalidArgument } from '../../util/errors.ts';

export class ContentBlobStore implements BlobStore {
  #store: ContentStore;
  #tmp: string;
  #lease: Lease | undefined;

  constructor(store: ContentStore, tmpDir: string, lease?: Lease) {
    this.#store = store;
    this.#tmp = tmpDir;
    this.#lease = lease;
  }

  has(digest: Digest): Promise<boolean> {
    return this.#store.has(digest);
  }

  async readStream(digest: Digest): Promise<AsyncIterable<Uint8Array>> {
    return this.#store.readStream(digest);
  }

  async put(data: Uint8Array | AsyncIterable<Uint8Array>, expected: { digest?: Digest; size?: number } = {}): Promise<PutResult> {
    if (data instanceof Uint8Array) {
      if (expected.size !== undefined && expected.size !== data.byteLength) throw invalidArgument(`store blob: ${data.byteLength} bytes, expected ${expected.size}`);
      this.#lease?.add(expected.digest ?? (`sha256:${createHash('sha256').update(data).digest('hex')}` as Digest));
      const info = await this.#store.put(data, expected.digest);
      return { digest: info.digest, size: info.size };
    }
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    const path = join(this.#tmp, `spool-${randomBytes(8).toString('hex')}`);
    try {
      const hash = createHash('sha256');
      let size = 0;
      const file = await open(path, 'w', 0o600);
      try {
        for await (const chunk of data) {
          hash.update(chunk);
          size += chunk.byteLength;
          await file.write(chunk);
        }
      } finally {
        await file.close();
      }
      const digest = `sha256:${hash.digest('hex')}` as Digest;
      if (expected.digest !== undefined && expected.digest !== digest) throw invalidArgument(`store blob: content is ${digest}, expected ${expected.digest}`);
      if (expected.size !== undefined && expected.size !== size) throw invalidArgument(`store blob ${digest}: ${size} bytes, expected ${expected.size}`);
      this.#lease?.add(digest);
      if (await this.#store.has(digest)) return { digest, size };
      let writer;
      try {
        writer = await this.#store.writer(`spool-${digest}`, { digest, size });
      } catch (err) {
        if (err instanceof EngineError && err.kind === 'already-exists') return { digest, size };
        throw err;
      }
      try {
        if (writer.offset > 0) await writer.truncate();
        for await (const chunk of createReadStream(path)) await writer.write(chunk as Buffer);
        await writer.commit();
      } catch (err) {
        await writer.abort();
        throw err;
      }
      return { digest, size };
    } finally {
      await rm(path, { force: true });
    }
  }
}
