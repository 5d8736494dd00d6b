/**
 * Where a container's files live inside its directory (<data root>/containers/<id>): the
 * mounted rootfs and the OCI bundle's config.json (the json-file log: attach.ts).
 */

import { join } from 'node:path';

export function rootfsDir(dir: string): string {
  return join(dir, 'rootfs');
}
