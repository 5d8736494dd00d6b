/**
 * Public surface of image/archive: `docker load`, `docker save` and `docker import` over
 * tar streams, writing to and reading from the narrow blob interfaces of image/unpack.
 */

export { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, loadArchive } from './load.ts';
export type { LoadedImage } from './load.ts';
export { saveArchive } from './save.ts';
export type { ArchiveFormat, SaveImage } from './save.ts';
export { applyChanges, importRootfs } from './import-rootfs.ts';
export type { ImportOptions, ImportResult } from './import-rootfs.ts';
