/**
 * Public surface of image/store: the image service (names → images, pull/push, list, inspect,
 * tag, remove, prune, save/load/import, disk usage) and the Docker API shapes it answers with.
 */

export { DEFAULT_DATA_ROOT, ImageStore } from './image-store.ts';
export type { ImageProgress, ImageStoreOptions, LoadResult, PullImageResult } from './image-store.ts';
export { ContentBlobStore } from './blob-sink.ts';
export { globToRegExp, labelsAllowed, matchesLabels, matchesReference, parseListFilters, parsePruneFilters, prunableImage, untilCutoff } from './filters.ts';
export type { DeleteItem, DiskUsage, HistoryItem, ImageInspect, ImageRecord, ImageSummary, ListFilters, PruneFilters, PruneReport } from './types.ts';
export { LocalImageBackend } from './local-backend.ts';
export type { ProgressMessage } from './local-backend.ts';
