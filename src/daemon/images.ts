/**
 * What the daemon needs from the image service: resolve a reference to an image's ID and run
 * config, and the snapshotter to prepare a container's writable layer on the image's top
 * layer. image/store's ImageStore satisfies it; tests may hand in anything that does.
 */

import type { Writable } from 'node:stream';
import type { Digest, HealthConfig, HistoryEntry, ImageRunConfig as OciRunConfig } from '../oci/image-spec.ts';
import type { Mount } from '../snapshot/index.ts';

export interface ImageRunConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  Healthcheck?: HealthConfig;
  Shell?: string[] | null;
}

export interface ImageService {
  inspect(ref: string): Promise<{ Id: string; Config: ImageRunConfig; Size?: number }>;
  /** what a container is created from: ID, run config, and the top layer its snapshot goes on */
  runConfig(ref: string): Promise<{ Id: string; Config: ImageRunConfig; ChainId: string }>;
  list(): Promise<unknown[]>;
  snapshotter: {
    prepare(key: string, parent?: string, options?: { labels?: Record<string, string>; durable?: boolean }): Promise<Mount[]>;
    /** makes the metadata changes made with `durable: false` durable */
    flush(): Promise<void>;
    mounts(key: string): Promise<Mount[]>;
    remove(key: string, options?: { durable?: boolean }): Promise<void>;
    walk(fn: (info: { name: string; labels: Record<string, string> }) => void | Promise<void>): Promise<void>;
    /** the gzip layer of the snapshot's own changes */
    diff(key: string, out: Writable): Promise<{ diffId: string }>;
  };
  /** a new image: `parent` plus one gzip layer, with the given run config and history entry */
  commit(parent: string, layer: AsyncIterable<Uint8Array>, options: { diffId: Digest | Promise<Digest>; runConfig: OciRunConfig; history: HistoryEntry | readonly HistoryEntry[]; author?: string; ref?: string }): Promise<string>;
}
