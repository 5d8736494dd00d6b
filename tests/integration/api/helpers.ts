/**
 * A berthd of our own for API tests: bundled from src/bin/berthd.ts into a temp dir, on a temp
 * socket, data root and runtime root, with the busybox fixture image loaded — and the real
 * docker CLI pointed at it. Nothing is shared with a system daemon.
 */

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { ImageStore } from '../../../src/image/store/index.ts';

const run = promisify(execFile);

export const REPO = resolve(import.meta.dirname, '../../..');
export const FIXTURES = process.env['BERTH_FIXTURES'] ?? '/var/tmp/berth-fixtures';
export const DOCKER = process.env['DOCKER_CLI'] ?? '/usr/local/bin/docker';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a berth CLI under test runs with: as users have it, with no daemon named by env. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e = { ...process.env, ...extra };
  delete e['NODE_EXTRA_CA_CERTS'];
  delete e['BERTH_HOST'];
  return e;
}

/** Loads busybox:latest into a data root: the fixture archive, or an import of the fixture rootfs. */
async function loadBusybox(root: string): Promise<void> {
  const store = await ImageStore.open({ root });
  const archive = join(FIXTURES, 'archives', 'busybox.docker.tar');
  if (existsSync(archive)) {
    await store.load(createReadStream(archive));
    return;
  }
  const { stdout } = await run('bash', [join(REPO, 'scripts/fixtures/busybox-rootfs.sh')]);
  const rootfs = stdout.trim().split('\n').pop()!;
  const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await store.import(tar.stdout as Readable, { ref: 'busybox:latest', changes: ['CMD ["sh"]'] });
}

export class TestDaemon {
  readonly dir: string;
  readonly socket: string;
  readonly root: string;
  readonly execRoot: string;
  readonly logFile: string;
  #bundle: string;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(dir: string, execRoot: string) {
    this.dir = dir;
    this.socket = join(dir, 'berth.sock');
    this.root = join(dir, 'root');
    this.execRoot = execRoot;
    this.logFile = join(dir, 'berthd.log');
    this.#bundle = join(dir, 'berthd.mjs');
  }

  static async create(): Promise<TestDaemon> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-api-test-'));
    const execRoot = await mkdtemp(join('/run', 'berth-api-test-'));
    const daemon = new TestDaemon(dir, execRoot);
    await mkdir(daemon.root);
    await mkdir(join(dir, 'docker-config'));
    await build({ entryPoints: [join(REPO, 'src/bin/berthd.ts')], outfile: daemon.#bundle, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
    await loadBusybox(daemon.root);
    return daemon;
  }

  get log(): string {
    return this.#log;
  }

  /** Without networking by default (`--bridge none`): tests that want it pass their own bridge, CNI prefix and netns dir. */
  async start(extraArgs: readonly string[] = ['--bridge', 'none']): Promise<void> {
    const child = spawn(process.execPath, [this.#bundle, '-H', `unix://${this.socket}`, '--data-root', this.root, '--exec-root', this.execRoot, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BERTH_SHIM: join(REPO, 'native/build/berth-shim') },
    });
    child.stdout!.on('data', (c: Buffer) => (this.#log += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (this.#log += c.toString()));
    this.#child = child;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`berthd exited ${child.exitCode}: ${this.#log}`);
      if ((await this.api('GET', '/_ping').catch(() => undefined))?.status === 200) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`berthd did not answer within 15 s: ${this.#log}`);
  }

  /** Stops the daemon the way it is asked to (SIGTERM) or killed (SIGKILL). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
    this.#child = undefined;
  }

  /** The real docker CLI against this daemon, with a private config dir. */
  async docker(...args: string[]): Promise<Result> {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(this.dir, 'docker-config') };
    delete env['DOCKER_HOST'];
    delete env['DOCKER_CONTEXT'];
    try {
      const { stdout, stderr } = await run(DOCKER, ['-H', `unix://${this.socket}`, ...args], { env, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string };
      if (typeof e.code !== 'number') throw err;
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** A raw API call (what curl --unix-socket does). */
  api(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolvePromise, reject) => {
      const req = request({ socketPath: this.socket, method, path, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Every container id the daemon knows, running or not. */
  async containerIds(): Promise<string[]> {
    const r = await this.docker('ps', '-aq', '--no-trunc');
    return r.stdout.split('\n').filter(Boolean);
  }

  /**
   * The end of a suite: removes every container, stops the daemon, and fails if a container, a
   * mount under the test dir or a cgroup of the `created` containers is left; then cleans up.
   */
  async removeAllAndCheck(created: ReadonlySet<string>): Promise<void> {
    try {
      for (const id of await this.containerIds().catch(() => [])) await this.docker('rm', '-f', id);
      const left = await this.containerIds().catch(() => []);
      await this.stop();
      const mounts = await mountsUnder(this.dir);
      const cgroups = [...created].flatMap(leftoverCgroups);
      assert.deepEqual(left, [], 'containers left behind');
      assert.deepEqual(mounts, [], 'mounts left behind');
      assert.deepEqual(cgroups, [], 'cgroups left behind');
    } finally {
      await this.cleanup();
    }
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
    await rm(this.execRoot, { recursive: true, force: true });
  }
}

/** Mount points at or below `dir` in this mount namespace. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
}

/** cgroup directories a container ID still has, in any hierarchy. */
export function leftoverCgroups(id: string): string[] {
  const hierarchies = ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids', 'systemd', 'unified', ''];
  return hierarchies.map((h) => join('/sys/fs/cgroup', h, 'berth', id)).filter((p) => existsSync(p));
}

/** Polls `check` every 100 ms until it holds; fails naming `what` after `ms`. */
export async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
