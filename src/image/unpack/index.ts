/**
 * Public surface of image/unpack: applying layer tars onto snapshot directories, safely, and
 * unpacking whole images into chainID-named snapshots.
 */

export { applyLayer, normalizeEntryPath } from './apply-layer.ts';
export type { ApplyOptions, ApplyResult } from './apply-layer.ts';
export type { BlobSink, BlobSource, BlobStore, PutResult } from './blob-source.ts';
export { decompress, detectCompression, peekCompression } from './decompress.ts';
export type { Compression } from './decompress.ts';
export { chainIds, LayerUnpacker, removeStaleExtractions, unpackImage, unpackLayer, writableDir } from './unpack-image.ts';
export type { UnpackLayerOptions } from './unpack-image.ts';
