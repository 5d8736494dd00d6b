/**
 * Entry point of `berthd`, the daemon: builds the image service and the Daemon, hands the
 * daemon to the API server as every router's backend, listens on the unix socket, and shuts
 * down cleanly on SIGINT/SIGTERM (containers keep running under their shims).
 */

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiServer, Router, containerRouter, imageRouter, systemRouter } from '../server/index.ts';
import { Daemon, DEFAULT_RUNTIME_ROOT } from '../daemon/index.ts';
import { DEFAULT_DATA_ROOT, ImageStore } from '../image/store/index.ts';
import { EngineError } from '../util/errors.ts';

const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

const USAGE = `Usage: berthd [OPTIONS]

Options:
  -H, --host unix://PATH     socket to listen on (default ${DEFAULT_HOST})
      --group GID            group owning the socket (mode 0660)
      --data-root DIR        persistent state (default ${DEFAULT_DATA_ROOT})
      --exec-root DIR        runtime state (default ${DEFAULT_RUNTIME_ROOT})
      --seccomp-profile FILE default seccomp profile, or "unconfined"
      --insecure-registry H  registry to reach over plain HTTP (repeatable)
  -h, --help
`;

function socketPath(host: string): string {
  if (!host.startsWith('unix://')) throw new EngineError('invalid-argument', `listen ${host}: only unix:// sockets are supported`);
  return host.slice('unix://'.length);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', short: 'H' },
      group: { type: 'string' },
      'data-root': { type: 'string' },
      'exec-root': { type: 'string' },
      'seccomp-profile': { type: 'string' },
      'insecure-registry': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const path = socketPath(values.host ?? DEFAULT_HOST);
  const root = values['data-root'] ?? DEFAULT_DATA_ROOT;
  const insecureRegistries = values['insecure-registry'] ?? [];
  // The image store asks the daemon, created after it, whether containers still use an image.
  let daemon: Daemon | undefined;
  const images = await ImageStore.open({ root, insecureRegistries, isInUse: (id) => daemon?.usesImage(id) ?? true });
  daemon = await Daemon.open({
    root,
    runtimeRoot: values['exec-root'] ?? DEFAULT_RUNTIME_ROOT,
    images,
    ...(values['seccomp-profile'] !== undefined ? { seccompProfile: values['seccomp-profile'] } : {}),
  });
  const server = new ApiServer(new Router().mount(systemRouter(daemon)).mount(containerRouter(daemon)).mount(imageRouter(images)));
  await mkdir(dirname(path), { recursive: true, mode: 0o711 });
  const gid = values.group !== undefined ? Number(values.group) : undefined;
  if (gid !== undefined && !Number.isInteger(gid)) throw new EngineError('invalid-argument', `invalid --group ${values.group}: a numeric gid is expected`);
  await server.listen(path, { mode: 0o660, ...(gid !== undefined ? { gid } : {}) });
  process.stderr.write(`berthd: API listening on ${path}\n`);
  // A daemon outlives one bad request: a stray rejection is reported, never fatal.
  process.on('unhandledRejection', (reason) => process.stderr.write(`berthd: unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`));

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  daemon.close();
  await server.close();
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`berthd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
