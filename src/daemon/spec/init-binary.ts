/**
 * `--init` (HostConfig.Init): berth-init (native/init) runs as the container's PID 1 and starts
 * the command. Docker's layout: the host binary bind-mounted read-only at /sbin/docker-init and
 * the process run as `/sbin/docker-init -- PATH ARGS...`. The mount is read-only so that no
 * process in the container can rewrite a binary that also runs in every other container
 * through /proc/1/exe (CVE-2019-5736).
 */

import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from '../../util/errors.ts';

export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';

const BUILT_INIT = join('native', 'build', 'berth-init');

/** Where scripts/install-shim.sh puts it, on the same read-only mount as the shim. */
export const INSTALLED_INIT = '/run/berth/shim/berth-init';

/**
 * $BERTH_INIT; else berth-init beside $BERTH_SHIM (the build puts both in native/build); else
 * the installed read-only copy when it is the current build (same size and mtime); else
 * native/build/berth-init above the sources or the bundle (dist/).
 */
export function initBinaryPath(): string {
  const fromEnv = process.env['BERTH_INIT'];
  if (fromEnv) return fromEnv;
  const shim = process.env['BERTH_SHIM'];
  if (shim && existsSync(join(dirname(shim), 'berth-init'))) return join(dirname(shim), 'berth-init');
  const here = dirname(fileURLToPath(import.meta.url));
  let built: string | undefined;
  for (let dir = here, i = 0; i < 6 && built === undefined; i++, dir = dirname(dir)) {
    const candidate = join(dir, BUILT_INIT);
    if (existsSync(candidate)) built = candidate;
  }
  const installed = statSync(INSTALLED_INIT, { throwIfNoEntry: false });
  const build = built === undefined ? undefined : statSync(built);
  if (installed !== undefined && (build === undefined || (installed.size === build.size && installed.mtimeMs === build.mtimeMs))) return INSTALLED_INIT;
  if (built !== undefined) return built;
  throw new EngineError('internal', `find the init binary: ${BUILT_INIT} not found above ${here} (build it with make -C native, or set BERTH_INIT)`);
}
