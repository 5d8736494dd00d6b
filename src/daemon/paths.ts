/**
 * Where a container's files live inside its directory (<data root>/containers/<id>): the
 * mounted rootfs, the OCI bundle's config.json, and the output files.
 */

import { join } from 'node:path';

export const STDOUT_LOG = 'stdout.log';
export const STDERR_LOG = 'stderr.log';

export function rootfsDir(dir: string): string {
  return join(dir, 'rootfs');
}
