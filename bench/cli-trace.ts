/**
 * A preload (`node --import`) that timestamps where one berth-runtime CLI call spends its wall
 * time, without touching runtime code: Node's own boot marks, every node:fs / node:fs/promises
 * call and its duration, FileHandle writes and fsyncs, the shim's spawn and exit. The built
 * bundle imports those builtins by name; wrapping them here and calling
 * syncBuiltinESMExports() before the bundle loads makes its imports see the wrappers.
 *
 * bench/cli-breakdown.sh compiles this with esbuild (no tsx loader in the measured process) and
 * runs `node --import trace.mjs dist/berth-runtime.mjs ...` with BERTH_TRACE_OUT=FILE; the
 * JSON written at exit is summarised by the same script.
 */

import { createRequire, syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

interface TraceEvent {
  /** ms since the process started (performance.timeOrigin). */
  t: number;
  ms: number;
  op: string;
  arg: string;
}

const require = createRequire(import.meta.url);
const events: TraceEvent[] = [];
const preloadAt = performance.now();

function argText(arg: unknown): string {
  if (typeof arg === 'string') return arg;
  if (arg instanceof URL) return arg.pathname;
  if (typeof arg === 'number') return `fd ${arg}`;
  return '';
}

type AnyFn = (...args: unknown[]) => unknown;

function wrapAsync(target: Record<string, unknown>, name: string, label: string): void {
  const original = target[name];
  if (typeof original !== 'function') return;
  target[name] = function traced(this: unknown, ...args: unknown[]): unknown {
    const t = performance.now();
    const result = (original as AnyFn).apply(this, args);
    const done = (): void => {
      events.push({ t, ms: performance.now() - t, op: label, arg: argText(args[0]) });
    };
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          done();
          if (name === 'open' && value && typeof value === 'object') wrapHandle(value as Record<string, unknown>, argText(args[0]));
          return value;
        },
        (err: unknown) => {
          done();
          throw err;
        },
      );
    }
    done();
    return result;
  };
}

/** FileHandle methods are where atomicWrite's write + fsync happen. */
function wrapHandle(handle: Record<string, unknown>, path: string): void {
  for (const name of ['write', 'writeFile', 'sync', 'datasync', 'close', 'readFile']) {
    const original = handle[name];
    if (typeof original !== 'function') continue;
    handle[name] = function traced(this: unknown, ...args: unknown[]): unknown {
      const t = performance.now();
      const result = (original as AnyFn).apply(this, args) as Promise<unknown>;
      return result.finally(() => events.push({ t, ms: performance.now() - t, op: `handle.${name}`, arg: path }));
    };
  }
}

const fsp = require('node:fs/promises') as Record<string, unknown>;
for (const name of ['mkdir', 'rmdir', 'rm', 'open', 'readFile', 'writeFile', 'appendFile', 'rename', 'unlink', 'stat', 'lstat', 'readdir', 'access', 'readlink', 'copyFile', 'chmod']) {
  wrapAsync(fsp, name, `fsp.${name}`);
}
const fs = require('node:fs') as Record<string, unknown>;
for (const name of ['readFileSync', 'writeFileSync', 'appendFileSync', 'existsSync', 'statSync', 'lstatSync', 'mkdirSync', 'openSync', 'writeSync', 'fsyncSync', 'renameSync', 'readdirSync', 'readlinkSync', 'rmdirSync', 'unlinkSync', 'closeSync']) {
  wrapAsync(fs, name, `fs.${name}`);
}

const cp = require('node:child_process') as Record<string, unknown>;
for (const name of ['spawn', 'spawnSync', 'execFileSync']) {
  const original = cp[name];
  if (typeof original !== 'function') continue;
  cp[name] = function traced(this: unknown, ...args: unknown[]): unknown {
    const t = performance.now();
    const file = argText(args[0]);
    const result = (original as AnyFn).apply(this, args);
    events.push({ t, ms: performance.now() - t, op: `cp.${name}`, arg: file });
    if (name === 'spawn') {
      const child = result as ChildProcess;
      child.once('spawn', () => events.push({ t: performance.now(), ms: 0, op: 'child.spawned', arg: file }));
      child.once('exit', () => events.push({ t: performance.now(), ms: 0, op: 'child.exit', arg: file }));
    }
    return result;
  };
}
syncBuiltinESMExports();

process.on('exit', (code) => {
  const out = process.env['BERTH_TRACE_OUT'];
  if (!out) return;
  const timing = performance.nodeTiming;
  writeFileSync(out, JSON.stringify({
    argv: process.argv.slice(2),
    code,
    node: {
      nodeStart: timing.nodeStart,
      v8Start: timing.v8Start,
      environment: timing.environment,
      bootstrapComplete: timing.bootstrapComplete,
      loopStart: timing.loopStart,
    },
    preloadAt,
    exitAt: performance.now(),
    events: events.sort((a, b) => a.t - b.t),
  }));
});
