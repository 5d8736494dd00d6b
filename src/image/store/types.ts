/**
 * What the image store records, and the Docker Engine API shapes it answers with (moby's
 * api/types/image), so the CLI now and the API server later print them without translation.
 * When src/api/ lands, the wire shapes move there and this file re-exports them.
 */

import type { Descriptor, ImageRunConfig } from '../../oci/image-spec.ts';

/** One name → image binding in the metadata database. */
export interface ImageRecord {
  /** normalised reference (`docker.io/library/busybox:latest`, `host/a@sha256:…`); absent for a dangling image */
  name?: string;
  /** what the name points at: an index (multi-platform) or a manifest */
  target: Descriptor;
  /** the platform manifest chosen from `target` when it is an index */
  manifest: Descriptor;
  /** when this name was first given to the image (docker's Metadata.LastTagTime for the latest) */
  created: string;
  updated: string;
}

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** seconds since the epoch */
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: ImageRunConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  Descriptor: Descriptor;
}

export interface HistoryItem {
  Id: string;
  /** seconds since the epoch */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface DeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface PruneReport {
  ImagesDeleted: DeleteItem[];
  SpaceReclaimed: number;
}

export interface DiskUsage {
  LayersSize: number;
  Images: ImageSummary[];
  /** bytes no image would keep if every unused image were removed */
  Reclaimable: number;
}

export interface ListFilters {
  dangling?: boolean;
  /** glob patterns on `name[:tag]` as docker shows it */
  reference?: string[];
  before?: string;
  since?: string;
  /** `key` or `key=value` */
  label?: string[];
  /** images carrying all of these are left out */
  labelNot?: string[];
  /** only images created at or before this instant (ms since the epoch) */
  until?: number;
}

/** What `docker image prune` removes: dangling images unless `all`, narrowed by moby's prune filters. */
export interface PruneFilters {
  all?: boolean;
  /** only images created at or before this instant (ms since the epoch) */
  until?: number;
  label?: string[];
  /** images carrying all of these are kept */
  labelNot?: string[];
}
