/**
 * Shared set-up for runtime integration tests: a fresh bundle from the busybox fixture, the
 * built berth-runtime CLI on a private state root, and cleanup that leaves nothing behind.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, existsSync, openSync, closeSync, readFileSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { defaultSpec } from '../../../src/runtime/index.ts';
import type { Spec } from '../../../src/oci/runtime-spec.ts';

export const REPO = resolve(import.meta.dirname, '../../..');
// the CLI as users run it: the Bun executable when the build made one, else the Node bundle
export const CLI = process.env.BERTH_TEST_CLI ?? join(REPO, 'berth-runtime');

let fixtureRootfs: string | undefined;
export function busyboxRootfs(): string {
  fixtureRootfs ??= execFileSync('bash', [join(REPO, 'scripts/fixtures/busybox-rootfs.sh')], { encoding: 'utf8' }).trim().split('\n').pop()!;
  return fixtureRootfs;
}

export interface TestBundle {
  dir: string;
  rootfs: string;
  spec: Spec;
  write(): void;
}

/** A bundle with a private copy of the busybox rootfs and runc's default spec (no terminal). */
export function makeBundle(args: string[], mutate?: (spec: Spec) => void): TestBundle {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bundle-'));
  // A user-namespaced container's root is an unprivileged uid on the host: it must reach the rootfs.
  chmodSync(dir, 0o755);
  const rootfs = join(dir, 'rootfs');
  execFileSync('cp', ['-a', busyboxRootfs(), rootfs]);
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.process!.args = args;
  mutate?.(spec);
  const bundle = { dir, rootfs, spec, write: () => writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2)) };
  bundle.write();
  return bundle;
}

export function removeBundle(bundle: TestBundle): void {
  rmSync(bundle.dir, { recursive: true, force: true, maxRetries: 3 });
}

let stateRoot: string | undefined;
export function testStateRoot(): string {
  stateRoot ??= mkdtempSync(join('/run', 'berth-test-state-'));
  return stateRoot;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

/**
 * Runs berth-runtime synchronously with the test state root. Output goes through files, not
 * pipes: a created or detached container inherits them, and a pipe would stay open (and keep
 * spawnSync waiting) for as long as the container lives.
 */
export function rt(...args: string[]): CliResult {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  const outPath = join(dir, 'out');
  const errPath = join(dir, 'err');
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  try {
    const r = spawnSync(CLI, ['--root', testStateRoot(), ...args], { stdio: ['ignore', out, err], env, timeout: 60_000 });
    return { code: r.status ?? 128, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs berth-runtime without blocking the event loop (for containers that run a while). */
export function rtAsync(args: string[], options: { input?: string } = {}): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(CLI, ['--root', testStateRoot(), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(options.input ?? '');
    child.on('close', (code) => resolvePromise({ code: code ?? 128, stdout, stderr }));
  });
}

/** `run` in the foreground: the container's output and exit code. */
export function runContainer(args: string[], mutate?: (spec: Spec) => void): CliResult {
  const bundle = makeBundle(args, mutate);
  try {
    return rt('run', '--bundle', bundle.dir, uniqueId('run'));
  } finally {
    removeBundle(bundle);
  }
}

let counter = 0;
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

export function state(id: string): { status: string; pid: number } {
  const r = rt('state', id);
  if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { status: string; pid: number };
}

export function forceDelete(id: string): void {
  rt('delete', '--force', id);
}

export function cleanupStateRoot(): void {
  if (!stateRoot) return;
  rmSync(stateRoot, { recursive: true, force: true });
  stateRoot = undefined;
}

/** The container cgroup directory of one v1 controller (this VM) or the v2 dir. */
export function cgroupDir(controller: string, id: string): string {
  const v1 = `/sys/fs/cgroup/${controller}/berth/${id}`;
  return existsSync(`/sys/fs/cgroup/${controller}`) ? v1 : `/sys/fs/cgroup/berth/${id}`;
}

export function mkdirp(path: string): void {
  mkdirSync(path, { recursive: true });
}

/** Polls until `check` is true or the time is up. */
export async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}
