/**
 * Public surface of server/: the Engine API over HTTP. Each resource router declares the
 * narrow backend it needs; the composition root (bin/berthd.ts) hands it the daemon.
 */

export { ApiServer, versionHeaders, type ApiServerOptions, type ListenOptions } from './api-server.ts';
export { Router, checkVersion, type Handler, type Reply, type RequestContext, type RouteMatch } from './router.ts';
export { httpStatus, errorBody } from './http-status.ts';
export { boolParam, intParam, filtersParam, readJson } from './request.ts';
export { frame, unframe, MULTIPLEXED_STREAM, RAW_STREAM, type StreamType } from './stdcopy.ts';
export { systemRouter, type SystemBackend } from './router/system.ts';
export { containerRouter, type ContainerBackend, type AttachOptions, type ListOptions, type LogsOptions, type OutputChunk } from './router/container.ts';
export { buildRouter, type BuildBackend, type BuildParams } from './router/build.ts';
export { imageRouter, pullReference, registryAuth, type ImageBackend, type ImageDeleteItem, type ProgressMessage, type RegistryAuth } from './router/image.ts';
export { containerFsRouter, type ContainerFsBackend, type ContainerPathStat } from './router/container-fs.ts';
export { volumeRouter, type VolumeBackend, type VolumeCreateBody, type VolumeView } from './router/volume.ts';
export { networkRouter, type NetworkBackend, type NetworkCreateBody, type NetworkConnectBody } from './router/network.ts';
export { execRouter, type ExecBackend, type ExecConfigRequest, type ExecStartOptions } from './router/exec.ts';
export { clientInput, isUpgrade, pumpOutput, readUpgradeJson } from './hijack.ts';
export { observeRouter, type ObserveBackend } from './router/observe.ts';
