/**
 * Chain IDs (image-spec config.md): the identity of a stack of layers, used to name the
 * snapshot of "these layers applied in this order", so images sharing a base share snapshots.
 *   chainID(L0) = diffID(L0)
 *   chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln))
 */

import { createHash } from 'node:crypto';
import { invalidArgument } from '../../util/errors.ts';
import { isDigest, type Digest } from '../../oci/image-spec.ts';

/** The chain ID of every prefix: result[i] names layers 0..i. */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const [i, diffId] of diffIds.entries()) {
    if (!isDigest(diffId)) throw invalidArgument(`compute chain id: invalid diff id ${JSON.stringify(diffId)} at ${i}`);
    const previous = out[i - 1];
    out.push(previous === undefined ? diffId : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`);
  }
  return out;
}

/** The chain ID of the whole stack; throws for an image without layers. */
export function chainId(diffIds: readonly Digest[]): Digest {
  const ids = chainIds(diffIds);
  const last = ids[ids.length - 1];
  if (last === undefined) throw invalidArgument('compute chain id: no layers');
  return last;
}
