/**
 * The services every container operation works with, built once by the Daemon: the container
 * records, the runtime library (in-process), the image service, where things live on disk.
 */

import type { NetworkManager } from '../network/index.ts';
import type { DnsService } from '../network/dns/service.ts';
import type { Runtime } from '../runtime/index.ts';
import type { LocalVolumes } from '../volume/index.ts';
import type { DockerSeccompProfile } from '../runtime/security/index.ts';
import type { ContainerStore } from './container-store.ts';
import type { ImageService } from './images.ts';

export interface DaemonContext {
  store: ContainerStore;
  runtime: Runtime;
  images: ImageService;
  /** data root, e.g. /var/lib/berth */
  root: string;
  /** Docker's default seccomp profile; undefined: containers run unconfined */
  seccompProfile: DockerSeccompProfile | undefined;
  /** named and anonymous volumes (local driver) */
  volumes: LocalVolumes;
  /** container networking; undefined: every container gets `--network none` (berthd --bridge none) */
  network?: NetworkManager;
  /** name resolution on user networks */
  dns?: DnsService;
  warn(message: string): void;
}
