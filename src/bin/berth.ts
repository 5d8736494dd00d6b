/**
 * Entry point of `berth`, the docker-compatible CLI: composes the image service in-process
 * for the image verbs (container verbs go to berthd) and sets the exit code. The only place
 * that reads argv. The image store is imported on first use so container verbs start fast.
 */

import { main, type GlobalOptions } from '../cli/docker/main.ts';
import { join } from 'node:path';
import type { ImageStore, LocalImageBackend } from '../image/store/index.ts';

let store: ImageStore | undefined;

/** Whether a container of berthd's, on the same data root, was made from the image. */
async function imageInUse(dataRoot: string, imageId: string): Promise<boolean> {
  const { ContainerStore } = await import('../daemon/container-store.ts');
  const containers = new ContainerStore(join(dataRoot, 'containers'));
  await containers.load(() => {});
  return containers.all().some((c) => c.record.Image === imageId);
}

async function localBackend(options: GlobalOptions): Promise<LocalImageBackend> {
  const { ImageStore, LocalImageBackend } = await import('../image/store/index.ts');
  store = await ImageStore.open({
    isInUse: (id) => imageInUse(options.dataRoot, id),
    root: options.dataRoot,
    insecureRegistries: options.insecureRegistries,
    // one berth process at a time on a data root until the daemon owns it
    exclusive: { onWait: (pid) => process.stderr.write(`waiting for another berth process${pid ? ` (pid ${pid})` : ''} to release ${options.dataRoot}\n`) },
  });
  return new LocalImageBackend(store, { insecureRegistries: options.insecureRegistries });
}

const code = await main(
  process.argv.slice(2),
  {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    ...(process.stdout.isTTY ? { stdoutColumns: process.stdout.columns } : {}),
  },
  localBackend,
);
await store?.close();
process.exitCode = code;
// a pending stdin read must not keep us alive once the command is done
setImmediate(() => process.exit(code));
