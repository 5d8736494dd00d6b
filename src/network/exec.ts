/**
 * Spawning the standard tools (ip, unshare, umount, CNI plugins). Node cannot setns or unshare
 * safely in its own multi-threaded process, so the kernel-facing work of this layer is done by
 * short-lived children; this is the one place that spawns them.
 */

import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { EngineError } from '../util/errors.ts';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Nice value for background work (pool refills, teardowns): on a busy host it yields the CPU to
   * the container start it would otherwise slow down. Set right after the spawn, before the
   * program forks its own helpers (iptables), which inherit it.
   */
  readonly niceness?: number;
}

/** Runs a program to completion; never throws for a non-zero exit (callers judge the result). */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    if (options.niceness !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, options.niceness);
      } catch {
        // Exited already: nothing left to deprioritise.
      }
    }
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => reject(new EngineError('failed-precondition', `run ${file}: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    // A plugin that exits without reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a program and throws an internal EngineError naming `what` when it fails. */
export async function runChecked(what: string, file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new EngineError('internal', `${what}: ${(result.stderr || result.stdout).trim() || `${file} exited with ${result.code}`}`);
  }
  return result.stdout;
}
