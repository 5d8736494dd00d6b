/**
 * `DELETE /containers/{id}`: a running container only with force (killed first); then its
 * snapshot, runtime leftovers and directory go, and the name is free again.
 */

import { deleteContainer, unmountOnHost } from '../runtime/index.ts';
import { conflict } from '../util/errors.ts';
import { isMountPoint } from '../util/mountinfo.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { killAndWait } from './stop.ts';
import { teardownNetwork } from './network.ts';
import { rootfsDir } from './paths.ts';
import { removeAnonymousVolumes } from './volumes.ts';
import { emitContainerEvent } from './events.ts';

export async function removeContainer(ctx: DaemonContext, c: Container, options: { force: boolean; auto?: boolean; volumes?: boolean }): Promise<void> {
  await c.exclusive(async () => {
    if (!ctx.store.has(c.id) || (options.auto && c.removing)) return;
    if (c.removing) throw conflict(`removal of container ${c.id} is already in progress`);
    if (c.running) {
      if (!options.force) throw conflict(`cannot remove container "${c.record.Name}": container is running: stop the container before removing or force remove`);
      await killAndWait(ctx, c, 9, 0);
    }
    c.removing = true;
    try {
      // A `--rm` exit leaves its runtime delete and unmount under way to us; otherwise the rootfs
      // is normally unmounted at the exit, and only a crash between mount and exit may have left
      // it (no shim run when not).
      const rootfs = rootfsDir(c.dir);
      let unmounting = c.releasing;
      c.releasing = undefined;
      if (unmounting === undefined) {
        if (await isMountPoint(rootfs)) unmounting = unmountOnHost(rootfs);
        await deleteContainer(ctx.runtime, c.id, { force: true }).catch(() => {});
      }
      await teardownNetwork(ctx, c);
      // Not waited for, nor fsynced: should it fail, or a crash come first, the layer is listed
      // again, and the next start of the daemon removes it (monitor.ts, removeOrphanLayers).
      ctx.images.snapshotter.remove(c.record.SnapshotKey, { durable: false }).catch((err: unknown) => {
        if (!(err instanceof Error && /not found|no such/i.test(err.message))) ctx.warn(`remove the layer of container ${c.id}: ${err instanceof Error ? err.message : String(err)}`);
      });
      // The unmount (after a `--rm` exit, the runtime's delete too) finishes behind the removal:
      // the directory, with the mount point in it, leaves its place once it is done (a failure
      // is reported there). The layer's files may go first: nothing reads them any more.
      await ctx.store.delete(c, ctx.warn, unmounting === undefined ? {} : { after: unmounting });
      // `docker rm -v` and `--rm` take the anonymous volumes along, as Docker does
      if (options.volumes || options.auto) await removeAnonymousVolumes(ctx, c.record, ctx.warn);
    } catch (err) {
      c.removing = false;
      throw err;
    }
    c.notifyRemoved();
    emitContainerEvent(ctx, c, 'destroy');
  });
}
