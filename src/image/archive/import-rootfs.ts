/**
 * `docker import`: a one-layer image from a root file-system tarball (plain or compressed).
 * The layer is stored gzip-compressed as it streams in, its diffID computed on the way; the
 * config takes `--change` instructions (the Dockerfile subset docker import accepts) and the
 * commit message as history.
 */

import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Descriptor, Digest, ImageConfig, ImageRunConfig, Manifest } from '../../oci/image-spec.ts';
import { MediaType } from '../../oci/image-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import { decompress } from '../unpack/index.ts';
import type { BlobSink } from '../unpack/index.ts';

export interface ImportOptions {
  /** Dockerfile instructions applied to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL, ONBUILD */
  changes?: string[];
  message?: string;
  /** the image's creation time; now when omitted */
  created?: Date;
  architecture?: string;
  os?: string;
}

export interface ImportResult {
  manifest: Descriptor;
  config: Descriptor;
  diffId: Digest;
}

/** CMD/ENTRYPOINT/VOLUME: JSON array form, or shell form (wrapped in /bin/sh -c for commands). */
function listArgument(value: string, shell: boolean): string[] {
  if (value.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed as string[];
    } catch {
      // not JSON after all: docker treats it as shell form too
    }
  }
  return shell ? ['/bin/sh', '-c', value] : value.split(/\s+/).filter(Boolean);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** `k=v k2="v 2"` pairs, or the legacy single `k v` form. */
function pairs(value: string, instruction: string): [string, string][] {
  if (!/^[^\s=]+=/.test(value)) {
    const [key, ...rest] = value.split(/\s+/);
    if (!key || rest.length === 0) throw invalidArgument(`import image: ${instruction} needs a value: ${JSON.stringify(value)}`);
    return [[key, rest.join(' ')]];
  }
  const out: [string, string][] = [];
  for (const match of value.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) out.push([match[1]!, unquote(match[2]!)]);
  return out;
}

/** Applies `docker import --change` instructions to a config. */
export function applyChanges(config: ImageRunConfig, changes: string[]): ImageRunConfig {
  const out: ImageRunConfig = structuredClone(config);
  for (const change of changes) {
    const match = /^\s*(\w+)\s+(.*\S)\s*$/s.exec(change);
    if (!match) throw invalidArgument(`import image: invalid change ${JSON.stringify(change)}`);
    const instruction = match[1]!.toUpperCase();
    const value = match[2]!;
    switch (instruction) {
      case 'CMD':
        out.Cmd = listArgument(value, true);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = listArgument(value, true);
        break;
      case 'ENV': {
        const env = (out.Env ?? []).slice();
        for (const [key, v] of pairs(value, 'ENV')) {
          const at = env.findIndex((e) => e.split('=')[0] === key);
          if (at === -1) env.push(`${key}=${v}`);
          else env[at] = `${key}=${v}`;
        }
        out.Env = env;
        break;
      }
      case 'LABEL':
        out.Labels = { ...out.Labels, ...Object.fromEntries(pairs(value, 'LABEL')) };
        break;
      case 'EXPOSE':
        out.ExposedPorts = { ...out.ExposedPorts };
        for (const port of value.split(/\s+/)) out.ExposedPorts[port.includes('/') ? port : `${port}/tcp`] = {};
        break;
      case 'VOLUME':
        out.Volumes = { ...out.Volumes };
        for (const path of listArgument(value, false)) out.Volumes[path] = {};
        break;
      case 'USER':
        out.User = value;
        break;
      case 'WORKDIR':
        out.WorkingDir = value;
        break;
      case 'STOPSIGNAL':
        out.StopSignal = value;
        break;
      case 'ONBUILD':
        out.OnBuild = [...(out.OnBuild ?? []), value];
        break;
      default:
        throw invalidArgument(`import image: ${instruction} is not supported as a change`);
    }
  }
  return out;
}

/** Stores a rootfs tarball as a one-layer image in `sink`. */
export async function importRootfs(rootfs: AsyncIterable<Uint8Array>, sink: BlobSink, options: ImportOptions = {}): Promise<ImportResult> {
  const runConfig = applyChanges({}, options.changes ?? []);
  const { stream } = await decompress(rootfs);
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const gzip = createGzip();
  stream.on('error', (err) => hasher.destroy(err));
  hasher.on('error', (err) => gzip.destroy(err));
  const layer = await sink.put(stream.pipe(hasher).pipe(gzip));
  const diffId: Digest = `sha256:${hash.digest('hex')}`;
  const created = (options.created ?? new Date()).toISOString();
  const config: ImageConfig = {
    architecture: options.architecture ?? (process.arch === 'x64' ? 'amd64' : process.arch),
    os: options.os ?? 'linux',
    created,
    config: runConfig,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: 'berth import', ...(options.message ? { comment: options.message } : {}) }],
  };
  const configPut = await sink.put(Buffer.from(JSON.stringify(config)));
  const configDesc: Descriptor = { mediaType: MediaType.ociConfig, ...configPut };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers: [{ mediaType: MediaType.ociLayerGzip, ...layer }],
  };
  const manifestPut = await sink.put(Buffer.from(JSON.stringify(manifest)));
  return { manifest: { mediaType: MediaType.ociManifest, ...manifestPut }, config: configDesc, diffId };
}
