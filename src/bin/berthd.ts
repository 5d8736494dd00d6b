/**
 * Entry point of `berthd`, the daemon: builds the image service and the Daemon, hands the
 * daemon to the API server as every router's backend, listens on the unix socket, and shuts
 * down cleanly on SIGINT/SIGTERM (containers keep running under their shims).
 */

import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiServer, Router, buildRouter, containerRouter, execRouter, observeRouter, imageRouter, networkRouter, systemRouter, volumeRouter, containerFsRouter } from '../server/index.ts';
import { Daemon, DEFAULT_RUNTIME_ROOT, ImageApi, RequestCredentials } from '../daemon/index.ts';
import { DEFAULT_DATA_ROOT, ImageStore, LocalImageBackend } from '../image/store/index.ts';
import { DockerConfigCredentials } from '../image/registry/index.ts';
import { EngineError } from '../util/errors.ts';
import { NetworkManager, NETNS_DIR } from '../network/index.ts';
import { DnsService } from '../network/dns/service.ts';

const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

const USAGE = `Usage: berthd [OPTIONS]

Options:
  -H, --host unix://PATH     socket to listen on (default ${DEFAULT_HOST})
      --group GID            group owning the socket (mode 0660)
      --data-root DIR        persistent state (default ${DEFAULT_DATA_ROOT})
      --exec-root DIR        runtime state (default ${DEFAULT_RUNTIME_ROOT})
      --seccomp-profile FILE default seccomp profile, or "unconfined"
      --insecure-registry H  registry to reach over plain HTTP (repeatable)
  -b, --bridge NAME          bridge of the default network (default berth0); "none": no networking
      --cni-prefix P         prefix of CNI network names, lease dirs and rule comments (default berth-)
      --netns-dir DIR        where network namespaces are mounted (default ${NETNS_DIR})
      --network-pool N       warm pool size of the default network (default 2)
  -D, --debug                report every API request with its status and duration
  -h, --help
`;

function socketPath(host: string): string {
  if (!host.startsWith('unix://')) throw new EngineError('invalid-argument', `listen ${host}: only unix:// sockets are supported`);
  return host.slice('unix://'.length);
}

/** The network service, initialised (default network, leases, warm pool); none with `--bridge none`. */
async function openNetwork(root: string, values: { bridge?: string; 'cni-prefix'?: string; 'netns-dir'?: string; 'network-pool'?: string }): Promise<NetworkManager | undefined> {
  if (values.bridge === 'none') return undefined;
  const poolSize = values['network-pool'] === undefined ? undefined : Number(values['network-pool']);
  if (poolSize !== undefined && !(Number.isInteger(poolSize) && poolSize >= 0)) throw new EngineError('invalid-argument', `invalid --network-pool ${values['network-pool']}: a count is expected`);
  const manager = new NetworkManager({
    stateDir: root,
    ...(values.bridge === undefined ? {} : { defaultBridge: values.bridge }),
    ...(values['cni-prefix'] === undefined ? {} : { cniPrefix: values['cni-prefix'] }),
    ...(values['netns-dir'] === undefined ? {} : { netnsDir: values['netns-dir'] }),
    ...(poolSize === undefined ? {} : { poolSize }),
  });
  await manager.init();
  return manager;
}

/** The image routes' backend: the store's docker-shaped service, and the daemon's containers and volumes for `system df`. */
function imageApi(daemon: Daemon, images: ImageStore, credentials: RequestCredentials, insecureRegistries: readonly string[]): ImageApi {
  return new ImageApi(new LocalImageBackend(images, { insecureRegistries }), credentials, {
    containers: (options = {}) => daemon.list({ all: true, filters: {}, size: options.size === true }),
    volumes: async () => (await daemon.volumes().list({})).Volumes,
  }, (id, name, action, labels) => daemon.imageEvent(id, name, action, labels));
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
      bridge: { type: 'string', short: 'b' },
      'cni-prefix': { type: 'string' },
      'netns-dir': { type: 'string' },
      'network-pool': { type: 'string' },
      debug: { type: 'boolean', short: 'D' },
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
  // a push or pull uses the credentials its request carried (X-Registry-Auth)
  const credentials = new RequestCredentials(new DockerConfigCredentials());
  const images = await ImageStore.open({ root, insecureRegistries, credentials, isInUse: (id) => daemon?.usesImage(id) ?? true });
  const network = await openNetwork(root, values);
  const dns = network === undefined ? undefined : new DnsService(network);
  daemon = await Daemon.open({
    root,
    ...(network === undefined ? {} : { network }),
    ...(dns === undefined ? {} : { dns }),
    runtimeRoot: values['exec-root'] ?? DEFAULT_RUNTIME_ROOT,
    images,
    ...(values['seccomp-profile'] !== undefined ? { seccompProfile: values['seccomp-profile'] } : {}),
  });
  const router = new Router().mount(systemRouter(daemon)).mount(containerRouter(daemon)).mount(execRouter(daemon)).mount(observeRouter(daemon)).mount(imageRouter(imageApi(daemon, images, credentials, insecureRegistries))).mount(volumeRouter(daemon.volumes())).mount(containerFsRouter(daemon.containerFs()));
  // docker build: the daemon runs the steps, the store pulls bases and writes config-only images
  router.mount(buildRouter({ build: (params, output) => daemon.build(images, params, output), pruneBuildCache: () => daemon.pruneBuildCache() }));
  router.mount(networkRouter(daemon.networks()));
  const server = new ApiServer(router, values.debug ? { trace: (message) => process.stderr.write(`berthd: ${message}\n`) } : {});
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
  // A shutdown that hangs (a stuck CNI plugin, say) must not keep the daemon from exiting.
  const cleanup = (async () => {
    await daemon.close();
    await server.close();
    await dns?.close();
    await network?.close();
  })();
  await Promise.race([cleanup, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`berthd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
// Containers live on under their shims; nothing else of this process should. Exit now rather than
// wait for exit-file watchers and shim sockets that would keep the event loop alive.
process.exit();
