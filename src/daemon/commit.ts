/**
 * `POST /commit` (docker commit): the container's writable layer becomes one more layer on its
 * image. The snapshot's diff streams straight into the content store; the run config is the
 * container's (its image's merged with the request), with `--change` instructions applied, and
 * the history entry names the container's command, as Docker's does.
 */

import { PassThrough } from 'node:stream';
import type { ContainerConfig } from '../api/index.ts';
import { applyChanges } from '../image/archive/index.ts';
import type { Digest, HistoryEntry, ImageRunConfig } from '../oci/image-spec.ts';
import { EngineError, invalidArgument } from '../util/errors.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent, emitImageEvent } from './events.ts';
import { familiar, parseReference } from '../image/reference/index.ts';
import { commandLine } from './views.ts';
import type { Container } from './container.ts';
import { pauseContainer, unpauseContainer } from './pause.ts';

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes: string[];
  /** freeze a running container while its layer is read (Docker's default) */
  pause?: boolean;
}

/** The fields of a container's config that an image keeps (nulls dropped: images store none). */
function runConfigOf(config: ContainerConfig): ImageRunConfig {
  const out: ImageRunConfig = {};
  if (config.User) out.User = config.User;
  if (config.ExposedPorts && Object.keys(config.ExposedPorts).length) out.ExposedPorts = config.ExposedPorts;
  if (config.Env?.length) out.Env = [...config.Env];
  if (config.Entrypoint) out.Entrypoint = [...config.Entrypoint];
  if (config.Cmd) out.Cmd = [...config.Cmd];
  if (config.Volumes && Object.keys(config.Volumes).length) out.Volumes = config.Volumes;
  if (config.WorkingDir) out.WorkingDir = config.WorkingDir;
  if (config.Labels && Object.keys(config.Labels).length) out.Labels = { ...config.Labels };
  if (config.StopSignal) out.StopSignal = config.StopSignal;
  if (config.Healthcheck) out.Healthcheck = structuredClone(config.Healthcheck);
  if (config.Shell?.length) out.Shell = [...config.Shell];
  if (config.OnBuild?.length) out.OnBuild = [...config.OnBuild];
  return out;
}

export async function commitContainer(ctx: DaemonContext, ref: string, options: CommitOptions): Promise<{ Id: string }> {
  const c = ctx.store.get(ref);
  if (options.tag && !options.repo) throw invalidArgument('invalid reference format: a tag needs a repository');
  const name = options.repo ? `${options.repo}${options.tag ? `:${options.tag}` : ''}` : undefined;
  const runConfig = applyChanges(runConfigOf(c.record.Config), options.changes) as ImageRunConfig;
  // a frozen container cannot change files under the diff; one paused by its user stays paused
  const freeze = (options.pause ?? true) && c.running && !c.record.State.Paused;
  if (freeze) await pauseContainer(ctx, c);
  try {
    const committed = await writeCommit(ctx, c, name, runConfig, options);
    // moby tags the new image (an image `tag` event), then logs the commit
    const imageRef = name === undefined ? '' : familiar(parseReference(name));
    if (imageRef !== '') emitImageEvent(ctx, committed.Id, imageRef, 'tag', runConfig.Labels ?? null);
    emitContainerEvent(ctx, c, 'commit', { comment: options.comment ?? '', imageID: committed.Id, imageRef });
    return committed;
  } finally {
    if (freeze) await unpauseContainer(ctx, c).catch((err: unknown) => ctx.warn(`unpause ${c.id} after commit: ${err instanceof Error ? err.message : String(err)}`));
  }
}

async function writeCommit(ctx: DaemonContext, c: Container, name: string | undefined, runConfig: ImageRunConfig, options: CommitOptions): Promise<{ Id: string }> {
  const history: HistoryEntry = {
    created_by: commandLine(c.record.Path, c.record.Args),
    ...(options.comment ? { comment: options.comment } : {}),
    ...(options.author ? { author: options.author } : {}),
  };
  return { Id: await commitLayer(ctx, c, { runConfig, history: [history], ...(name !== undefined ? { ref: name } : {}) }) };
}

/**
 * The container's writable layer as one more layer on its image, with the given config and
 * history (the layer's entry last): `docker commit`, and each RUN/COPY step of a build.
 */
export async function commitLayer(ctx: DaemonContext, c: Container, options: { runConfig: ImageRunConfig; history: readonly HistoryEntry[]; author?: string; ref?: string }): Promise<string> {
  const layer = new PassThrough();
  const diff = ctx.images.snapshotter.diff(c.record.SnapshotKey, layer);
  diff.catch((err: unknown) => layer.destroy(err instanceof Error ? err : new Error(String(err))));
  try {
    // the store reads the layer as the diff writes it; the diffID is known only at the end
    const diffId = diff.then((r) => r.diffId as Digest);
    diffId.catch(() => {}); // a failed diff is reported through `diff` below
    const imageId = ctx.images.commit(c.record.Image, layer, {
      diffId,
      runConfig: options.runConfig,
      history: options.history,
      ...(options.author !== undefined ? { author: options.author } : {}),
      ...(options.ref !== undefined ? { ref: options.ref } : {}),
    });
    const [id] = await Promise.all([imageId, diff]);
    return id;
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new EngineError('internal', `commit container ${c.id}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
