/**
 * Public surface of volume/: the local volume driver (named directories under the data root
 * that containers bind-mount).
 */

export { ANONYMOUS_LABEL, LOCAL_DRIVER, LocalVolumes, checkVolumeName } from './local-volumes.ts';
export type { CreateVolumeOptions, Volume } from './local-volumes.ts';
