/**
 * What a command runs with: the backend, the process's streams (replaceable in tests), and
 * whether stdout is a terminal (progress bars or plain lines, refusing to write a tar to it).
 */

import type { Readable, Writable } from 'node:stream';
import type { ImageBackend } from './backend.ts';

export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  /** terminal width, when stdout is one: progress lines are cut to it so rewriting them in place works */
  stdoutColumns?: number;
}

export interface CommandContext {
  images: ImageBackend;
  io: Io;
}

export function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
