/**
 * Shared pieces of the image verb tests: running the `berth` CLI (as a child process, or
 * in-process with fake terminals), the local plain registry from scripts/fixtures, reference
 * rootfs trees unpacked with umoci, a file-by-file tree digest, and mount leak checks.
 */

import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { main } from '../../../src/cli/docker/main.ts';
import { ImageStore, LocalImageBackend } from '../../../src/image/store/index.ts';

const run = promisify(execFile);

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
export const FIXTURES = process.env['BERTH_FIXTURES'] ?? '/var/tmp/berth-fixtures';
export const OCI = join(FIXTURES, 'oci');
export const REGISTRY = '127.0.0.1:5000';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `berth ARGS` as a real process (not a TTY), optionally feeding stdin. */
export function berth(dataRoot: string, args: string[], options: { stdin?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/bin/berth.ts'), '--data-root', dataRoot, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** Runs the CLI in this process with chosen terminal flags (what a child process cannot fake). */
export async function berthInProcess(dataRoot: string, args: string[], tty: { stdout?: boolean; stdin?: boolean } = {}): Promise<CliResult & { raw: Buffer }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (d: Buffer) => out.push(d));
  stderr.on('data', (d: Buffer) => err.push(d));
  const code = await main(
    ['--data-root', dataRoot, ...args],
    { stdin: Readable.from([]), stdout, stderr, stdinIsTTY: tty.stdin ?? false, stdoutIsTTY: tty.stdout ?? false },
    async (options) => new LocalImageBackend(await ImageStore.open({ root: options.dataRoot, insecureRegistries: options.insecureRegistries })),
  );
  const raw = Buffer.concat(out);
  return { code, stdout: raw.toString(), stderr: Buffer.concat(err).toString(), raw };
}

export async function registryUp(): Promise<boolean> {
  try {
    const res = await fetch(`http://${REGISTRY}/v2/`);
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function fixtureScript(script: string, args: string[]): Promise<void> {
  await run(join(REPO_ROOT, 'scripts/fixtures', script), args, { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
}

export interface LayoutImage {
  manifestDigest: string;
  manifest: { config: { digest: string }; layers: Array<{ digest: string; size: number }> };
  config: { rootfs: { diff_ids: string[] }; config?: Record<string, unknown>; history?: unknown[] };
}

/** The manifest and config an OCI layout tags `tag`. */
export async function layoutImage(name: string, tag = 'latest'): Promise<LayoutImage> {
  const dir = join(OCI, name);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!desc) throw new Error(`layout ${name} has no tag ${tag}`);
  const blob = (digest: string): Promise<string> => readFile(join(dir, 'blobs', ...digest.split(':')), 'utf8');
  const manifest = JSON.parse(await blob(desc.digest)) as LayoutImage['manifest'];
  // an index has no config of its own: callers only want its digest
  if (manifest.config === undefined) return { manifestDigest: desc.digest, manifest, config: { rootfs: { diff_ids: [] } } };
  const config = JSON.parse(await blob(manifest.config.digest)) as LayoutImage['config'];
  return { manifestDigest: desc.digest, manifest, config };
}

/** The layout's image unpacked by umoci (an independent implementation) into a temp dir. */
export async function umociRootfs(name: string, tag = 'latest'): Promise<{ rootfs: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `berth-umoci-${name}-`));
  await run('umoci', ['unpack', '--image', `${join(OCI, name)}:${tag}`, join(dir, 'bundle')]);
  return { rootfs: join(dir, 'bundle', 'rootfs'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function fileSha(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * One line per entry: type, mode, owner, and content digest (files), target (symlinks) or
 * device numbers; regular files also their mtime. Directory mtimes are left out: unpackers
 * touch them in different orders.
 */
export async function treeListing(root: string): Promise<string[]> {
  const lines: string[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const path = join(root, rel, name);
      const relPath = rel ? `${rel}/${name}` : name;
      const st = await lstat(path);
      const head = `${relPath} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        lines.push(`d ${head}`);
        await walk(relPath);
      } else if (st.isSymbolicLink()) lines.push(`l ${head} -> ${await readlink(path)}`);
      else if (st.isFile()) lines.push(`f ${head} ${st.size} ${await fileSha(path)} ${Math.floor(st.mtimeMs / 1000)} nlink=${st.nlink}`);
      else if (st.isCharacterDevice() || st.isBlockDevice()) lines.push(`${st.isCharacterDevice() ? 'c' : 'b'} ${head} ${st.rdev}`);
      else lines.push(`? ${head}`);
    }
  }
  await walk('');
  return lines;
}

/** Mount points under `prefix` in this process's mount namespace (for the leak check). */
export async function mountsUnder(prefix: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === prefix || point.startsWith(`${prefix}/`));
}
