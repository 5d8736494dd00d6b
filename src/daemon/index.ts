/**
 * Public surface of daemon/: Docker semantics over the runtime and image service. The
 * composition root hands a Daemon to the API server as its backends.
 */

export { Daemon, DEFAULT_RUNTIME_ROOT, SECCOMP_PROFILE_PATHS, type DaemonOptions } from './daemon.ts';
export type { ImageService, ImageRunConfig } from './images.ts';
export { buildSpec, baseSpec, effectiveCapabilities, type SpecOpt } from './spec/spec-opts.ts';
export { ImageApi, RequestCredentials, type DiskUsageSources } from './image-api.ts';
export type { BuildImages, BuildRequest } from './build.ts';
