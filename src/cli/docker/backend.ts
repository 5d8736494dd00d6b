/**
 * The narrow interface the `berth` CLI's image commands talk to, shaped like the Docker Engine
 * API (JSON progress messages, ImageSummary, ImageInspect…). Today the image service answers
 * it in-process; when the daemon lands an Engine API client implements the same interface and
 * the commands do not change. Declared here, not imported, because cli/ imports nothing of
 * the engine.
 */

/** One line of docker's JSON progress stream (moby jsonmessage.JSONMessage). */
export interface JsonMessage {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

export interface ImageSummaryLike {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface HistoryItemLike {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface DeleteItemLike {
  Untagged?: string;
  Deleted?: string;
}

export interface DiskUsageLike {
  LayersSize: number;
  Images: ImageSummaryLike[];
  Reclaimable: number;
  /** what a daemon has beside images (`GET /system/df`); absent without one */
  Containers?: DiskUsageContainer[];
  Volumes?: DiskUsageVolume[];
  BuildCache?: DiskUsageBuildCache[];
}

export interface DiskUsageContainer {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  State: string;
  Status: string;
  SizeRw?: number;
  Mounts?: { Type?: string }[];
}

export interface DiskUsageVolume {
  Name: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface DiskUsageBuildCache {
  ID: string;
  Type: string;
  Size: number;
  CreatedAt: string;
  LastUsedAt?: string | null;
  UsageCount: number;
  InUse: boolean;
  Shared: boolean;
}

export interface ImageBackend {
  /** resolves to the fully qualified reference pulled (`docker.io/library/busybox:latest`) */
  pull(ref: string, options: { platform?: string; onMessage: (message: JsonMessage) => void }): Promise<{ reference: string }>;
  push(ref: string, options: { onMessage: (message: JsonMessage) => void }): Promise<void>;
  /** `filters` as docker's `key=value` arguments */
  list(options: { filters?: string[] }): Promise<ImageSummaryLike[]>;
  inspect(ref: string): Promise<{ Id: string } & Record<string, unknown>>;
  history(ref: string): Promise<HistoryItemLike[]>;
  tag(source: string, target: string): Promise<void>;
  remove(ref: string, options: { force?: boolean }): Promise<DeleteItemLike[]>;
  prune(options: { all?: boolean }): Promise<{ ImagesDeleted: DeleteItemLike[]; SpaceReclaimed: number }>;
  save(refs: string[]): Promise<AsyncIterable<Uint8Array>>;
  /** resolves to docker's load messages (`Loaded image: busybox:latest`) */
  load(archive: AsyncIterable<Uint8Array>): Promise<string[]>;
  import(rootfs: AsyncIterable<Uint8Array>, options: { ref?: string; changes?: string[]; message?: string }): Promise<string>;
  login(server: string, credentials: { username: string; password: string }): Promise<void>;
  /** false when there were no credentials for the server */
  logout(server: string): Promise<boolean>;
  systemDf(): Promise<DiskUsageLike>;
}
