/**
 * Test fixtures for registry integration tests: a private Debian `docker-registry` on a random
 * loopback port (plain or htpasswd), a small busybox image built with umoci, pushed with skopeo,
 * and a tiny fake registry for the failures a real one will not produce on demand (wrong bytes,
 * slow blobs, 5xx, redirects, bearer challenges). Everything listens on 127.0.0.1 only.
 */

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';

const run = promisify(execFile);

export async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export interface TestRegistry {
  host: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts docker-registry with its own storage; `htpasswd` turns on Basic auth for that user. */
export async function startRegistry(options: { htpasswd?: { username: string; password: string } } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: berth-test-secret',
  ];
  if (options.htpasswd) {
    await run('htpasswd', ['-Bbc', join(dir, 'htpasswd'), options.htpasswd.username, options.htpasswd.password]);
    lines.push('auth:', '  htpasswd:', '    realm: berth-registry', `    path: ${join(dir, 'htpasswd')}`);
  }
  await writeFile(join(dir, 'config.yml'), lines.join('\n') + '\n');
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const host = `127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`start docker-registry on ${host}: ${stderr.trim() || 'did not come up'}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host, dir, stop };
}

export interface TestImage {
  layout: string;
  dir: string;
  cleanup(): Promise<void>;
}

/** A one-layer busybox image (static busybox + sh symlink + a marker file) as an OCI layout. */
export async function buildBusyboxLayout(marker = 'berth'): Promise<TestImage> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-image-'));
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await copyFile('/usr/bin/busybox', join(rootfs, 'bin', 'busybox'));
  await symlink('busybox', join(rootfs, 'bin', 'sh'));
  await writeFile(join(rootfs, 'etc', 'marker'), `${marker}\n`);
  await run('tar', ['--sort=name', '--mtime=@1747699200', '--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', join(dir, 'layer.tar'), 'bin', 'etc']);
  const layout = join(dir, 'layout');
  await run('umoci', ['init', '--layout', layout]);
  await run('umoci', ['new', '--image', `${layout}:latest`]);
  await run('umoci', ['raw', 'add-layer', '--image', `${layout}:latest`, join(dir, 'layer.tar')]);
  await run('umoci', ['config', '--image', `${layout}:latest`, '--config.cmd', 'sh']);
  return { layout, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function skopeoPush(layout: string, dest: string, options: { creds?: string; format?: 'oci' | 'v2s2' } = {}): Promise<void> {
  const args = ['copy', '--quiet', '--dest-tls-verify=false'];
  if (options.creds) args.push('--dest-creds', options.creds);
  if (options.format) args.push('--format', options.format);
  args.push(`oci:${layout}:latest`, `docker://${dest}`);
  await run('skopeo', args);
}

/** The manifest digest skopeo/umoci recorded for the layout's `latest` tag. */
export async function layoutManifestDigest(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  return index.manifests[0]!.digest;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface FakeServer {
  host: string;
  port: number;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 with a random port that records every request. */
export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createHttpServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    port,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

export async function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await once(child, 'exit');
}

/**
 * kill -9 of a pulling child once `minBytes` of blob `digest` are on disk as a partial ingest
 * (and not all of it): resolves to the offset seen before the kill.
 */
export async function killMidIngest(child: ChildProcess, content: { ingests(): Promise<{ expected: { digest: string }; offset: number }[]> }, digest: string, minBytes: number, stderr: () => string): Promise<number> {
  let offset = 0;
  const deadline = Date.now() + 30_000;
  while (offset < minBytes) {
    if (Date.now() >= deadline) throw new Error(`child made no progress: ${stderr()}`);
    if (child.exitCode !== null) throw new Error(`child exited early: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
    offset = (await content.ingests()).find((i) => i.expected.digest === digest)?.offset ?? 0;
  }
  child.kill('SIGKILL');
  await waitForExit(child);
  if (child.signalCode !== 'SIGKILL') throw new Error(`child ended before the kill: ${stderr()}`);
  return offset;
}

export interface FakeImage {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  configDigest: string;
  layers: Buffer[];
  layerDigests: string[];
  blobs: Map<string, Buffer>;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The manifest, config and blobs of an image made of these layer blobs. */
export function fakeImageOf(layers: Buffer[], options: { diffIds?: string[]; runConfig?: object } = {}): FakeImage {
  const layerDigests = layers.map(sha256);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    ...(options.runConfig !== undefined ? { config: options.runConfig } : {}),
    rootfs: { type: 'layers', diff_ids: options.diffIds ?? layerDigests },
  }));
  const configDigest = sha256(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigests[i], size: l.length })),
  }));
  const blobs = new Map<string, Buffer>([[configDigest, config]]);
  layers.forEach((l, i) => blobs.set(layerDigests[i]!, l));
  return { manifest, manifestDigest: sha256(manifest), config, configDigest, layers, layerDigests, blobs };
}

/** An image whose layers are random bytes (the client never looks inside layers). */
export function makeFakeImage(layerSizes: number[]): FakeImage {
  return fakeImageOf(layerSizes.map((n) => randomBytes(n)));
}

export interface FakeRegistryOptions {
  /** Bytes to serve instead of the real blob (a registry or proxy corrupting data). */
  corrupt?: (digest: string, bytes: Buffer) => Buffer;
  /** Serve blobs this slowly: `chunk` bytes every `delayMs`. */
  slow?: { chunk: number; delayMs: number };
  /** Value of Docker-Content-Digest on manifest responses (default: the true digest). */
  manifestDigestHeader?: string;
  /** Intercepts a request before the registry logic; return true when it answered. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

/** A read-only registry serving one image under `repo:latest`, with Range support on blobs. */
export function fakeRegistry(repo: string, image: FakeImage, options: FakeRegistryOptions = {}): Handler {
  return async (req, res) => {
    if (options.intercept && (await options.intercept(req, res))) return;
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m || m[1] !== repo) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
      return;
    }
    if (m[2] === 'manifests') {
      if (m[3] !== 'latest' && m[3] !== image.manifestDigest) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
        return;
      }
      res.writeHead(200, {
        'Content-Type': 'application/vnd.oci.image.manifest.v1+json',
        'Content-Length': image.manifest.length,
        'Docker-Content-Digest': options.manifestDigestHeader ?? image.manifestDigest,
      });
      res.end(req.method === 'HEAD' ? undefined : image.manifest);
      return;
    }
    const real = image.blobs.get(m[3]!);
    if (!real) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' }] }));
      return;
    }
    const bytes = options.corrupt ? options.corrupt(m[3]!, real) : real;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) start = Number(range[1]);
    const body = bytes.subarray(start);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'Docker-Content-Digest': m[3]! };
    if (range) headers['Content-Range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (!options.slow) {
      res.end(body);
      return;
    }
    // Sleep before each chunk, not after: the handler returns as soon as the last byte is out.
    for (let off = 0; off < body.length; off += options.slow.chunk) {
      await new Promise((r) => setTimeout(r, options.slow!.delayMs));
      if (res.destroyed) return;
      const ok = res.write(body.subarray(off, off + options.slow.chunk));
      if (!ok) await once(res, 'drain');
    }
    res.end();
  };
}
