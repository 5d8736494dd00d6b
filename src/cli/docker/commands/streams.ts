/**
 * Plumbing between the local terminal and a hijacked attach/exec connection: stdin up the
 * socket, the socket's output (raw with a TTY, multiplexed without) down to stdout/stderr,
 * the terminal in raw mode while a TTY session runs, and SIGWINCH turned into resize calls.
 */

import { spawnSync } from 'node:child_process';
import type { ReadStream } from 'node:tty';
import { Demuxer, STDERR, type EngineClient, type EngineSocket } from '../../../client/index.ts';
import type { Io } from '../context.ts';

export interface Session {
  /** resolves when the daemon closes its side (the process's output ended) or the user detached */
  done: Promise<void>;
  /** the user typed the detach keys: the container goes on running */
  readonly detached: boolean;
  /** restores the terminal and drops listeners */
  close(): void;
}

/** docker's `--detach-keys` syntax (`ctrl-p,ctrl-q`, `a`) as the bytes to watch for. */
export function detachSequence(spec: string): number[] {
  return spec.split(',').map((key) => {
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const c = ctrl[1]!;
      if (/[a-z]/i.test(c)) return c.toLowerCase().charCodeAt(0) - 96;
      const special = '@[\\]^_'.indexOf(c);
      if (special !== -1) return special === 0 ? 0 : 26 + special;
    }
    if ([...key].length === 1) return key.charCodeAt(0);
    throw new Error(`invalid detach keys: ${spec}`);
  });
}

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

export function pump(socket: EngineSocket, io: Io, options: { tty: boolean; stdin: boolean; detachKeys?: string }): Session {
  const cleanups: (() => void)[] = [];
  const sequence = options.tty && options.stdin ? detachSequence(options.detachKeys ?? DEFAULT_DETACH_KEYS) : [];
  let matched = 0;
  let detached = false;
  let detach = (): void => {};
  if (options.tty && options.stdin && io.stdinIsTTY) {
    const input = io.stdin as ReadStream;
    if (typeof input.setRawMode === 'function') {
      input.setRawMode(true);
      // libuv's raw mode keeps output post-processing; the container's TTY already sends \r\n
      const opost = (on: boolean): void => void spawnSync('stty', [on ? 'opost' : '-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
      opost(false);
      cleanups.push(() => {
        input.setRawMode(false);
        opost(true);
      });
    }
  }
  if (options.stdin) {
    const onData = (chunk: Buffer): void => {
      if (sequence.length > 0) {
        // bytes that may start the detach keys are held back until the next one tells, as docker's escape proxy does
        const out: number[] = [];
        for (const byte of chunk) {
          if (byte === sequence[matched]) {
            if (++matched === sequence.length) {
              if (out.length > 0) socket.write(Buffer.from(out));
              detached = true;
              detach();
              return;
            }
            continue;
          }
          out.push(...sequence.slice(0, matched));
          matched = byte === sequence[0] ? 1 : 0;
          if (matched === 0) out.push(byte);
        }
        if (out.length > 0) socket.write(Buffer.from(out));
        return;
      }
      socket.write(chunk);
    };
    const onEnd = (): void => {
      // half-close: the process sees EOF on its stdin and may still write back
      if (!socket.destroyed) socket.end();
    };
    io.stdin.on('data', onData);
    io.stdin.once('end', onEnd);
    cleanups.push(() => {
      io.stdin.off('data', onData);
      io.stdin.off('end', onEnd);
      io.stdin.pause();
    });
  }
  const demux = options.tty ? undefined : new Demuxer((stream, payload) => (stream === STDERR ? io.stderr : io.stdout).write(payload));
  const done = new Promise<void>((resolve) => {
    detach = resolve;
    socket.on('data', (chunk: Buffer) => {
      if (demux) demux.push(chunk);
      else io.stdout.write(chunk);
    });
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
  return {
    done,
    get detached() {
      return detached;
    },
    close: () => {
      for (const cleanup of cleanups.reverse()) cleanup();
      socket.destroy();
    },
  };
}

/** The terminal's size sent now (retried while the process starts) and on every SIGWINCH. */
export function followResize(client: EngineClient, path: string, io: Io): () => void {
  const output = io.stdout as { columns?: number; rows?: number };
  if (!io.stdoutIsTTY || !output.columns || !output.rows) return () => {};
  const send = async (): Promise<boolean> => {
    try {
      await client.call('POST', path, { query: { h: output.rows, w: output.columns } });
      return true;
    } catch {
      return false;
    }
  };
  void (async () => {
    for (let attempt = 0; attempt < 10 && !(await send()); attempt++) await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
  })();
  const onWinch = (): void => void send();
  process.on('SIGWINCH', onWinch);
  return () => process.off('SIGWINCH', onWinch);
}
