/**
 * `--preserve-fds N`: the caller's descriptors 3 … 2+N go to the container. They reach the shim
 * above its plan socket (which is fd 3 there) and the plan's PRESERVE_FDS moves them back down.
 */

export function preservedFds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => 3 + i);
}
