/**
 * Public surface of snapshot/: the Snapshotter interface, its overlayfs implementation, the
 * one place mounts are performed, and the file-system calls Node lacks.
 */

export type { DiffResult, Mount, SnapshotInfo, SnapshotKind, SnapshotUsage, Snapshotter } from './snapshotter.ts';
export { DEFAULT_SNAPSHOT_ROOT, OverlaySnapshotter } from './overlay-snapshotter.ts';
export { compactOverlayOptions, mountAll, unmount, volatileOverlay } from './mount.ts';
export { lgetxattrs, lsetxattrs, mknod, mknods, mknodsThenLsetxattrs } from './fs-syscalls.ts';
export type { NodeKind, NodeSpec, XattrSet } from './fs-syscalls.ts';
export { OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, upperToTar, writeDiff } from './diff.ts';
export { readTar } from './tar/tar-reader.ts';
export type { TarEntry, TarEntryType, TarHeader } from './tar/tar-reader.ts';
export { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from './tar/tar-writer.ts';
export type { TarWriteHeader } from './tar/tar-writer.ts';
