/**
 * `--init` (HostConfig.Init): berth-init (native/init) runs as the container's PID 1 and starts
 * the command. Docker's layout: the host binary bind-mounted read-only at /sbin/docker-init and
 * the process run as `/sbin/docker-init -- PATH ARGS...`. The mount is read-only so that no
 * process in the container can rewrite a binary that also runs in every other container
 * through /proc/1/exe (CVE-2019-5736).
 */

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../../util/errors.ts';

export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';

const BUILT_INIT = join('native', 'build', 'berth-init');

/**
 * $BERTH_INIT; else berth-init beside $BERTH_SHIM (the build puts both in native/build);
 * else native/build/berth-init above the sources or the bundle (dist/).
 */
export function initBinaryPath(): string {
  const fromEnv = process.env['BERTH_INIT'];
  if (fromEnv) return fromEnv;
  const shim = process.env['BERTH_SHIM'];
  if (shim && existsSync(join(dirname(shim), 'berth-init'))) return join(dirname(shim), 'berth-init');
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, BUILT_INIT);
    if (existsSync(candidate)) return candidate;
  }
  throw new EngineError('internal', `find the init binary: ${BUILT_INIT} not found above ${here} (build it with make -C native, or set BERTH_INIT)`);
}
