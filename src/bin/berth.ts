/**
 * Entry point of `berth`, the docker-compatible CLI: composes the image service in-process
 * for the image verbs (container verbs go to berthd) and sets the exit code. The only place
 * that reads argv. The image store is imported on first use so container verbs start fast.
 */

import { main, type GlobalOptions } from '../cli/docker/main.ts';
import type { Io } from '../cli/docker/context.ts';
import { drained } from '../util/drained.ts';
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

/**
 * The process's streams, made when a command first uses them: under Bun the first touch of
 * process.stdin builds its stream (3–4 ms of a `run` that reads no input), process.stdout's ~0.5.
 */
const used = { stdout: false, stderr: false };
const io: Io = {
  get stdin() {
    return process.stdin;
  },
  get stdout() {
    used.stdout = true;
    return process.stdout;
  },
  get stderr() {
    used.stderr = true;
    return process.stderr;
  },
  get stdinIsTTY() {
    return process.stdin.isTTY === true;
  },
  get stdoutIsTTY() {
    return process.stdout.isTTY === true;
  },
  get stdoutColumns() {
    return process.stdout.isTTY ? process.stdout.columns : undefined;
  },
};

const code = await main(process.argv.slice(2), io, localBackend);
await store?.close();
process.exitCode = code;
// process.exit drops what a stream still holds: `cp CTR:PATH - | slow-reader` lost its tail
const written: NodeJS.WriteStream[] = [...(used.stdout ? [process.stdout] : []), ...(used.stderr ? [process.stderr] : [])];
const holding = written.filter((stream) => stream.writableLength > 0);
await Promise.all(holding.map(drained));
// a pending stdin read must not keep us alive once the command is done
setImmediate(() => process.exit(code));
