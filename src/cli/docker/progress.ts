/**
 * Renders docker's JSON progress stream (moby's jsonmessage display): on a terminal, one line
 * per layer id rewritten in place with a progress bar; otherwise plain lines, one per status
 * change, without the byte-count updates that would flood a log.
 */

import type { Writable } from 'node:stream';
import type { JsonMessage } from './backend.ts';
import { humanSize } from './format/index.ts';

const BAR_WIDTH = 50;

export function progressBar(current: number, total: number): string {
  if (!(total > 0)) return '';
  const fraction = Math.min(1, Math.max(0, current / total));
  const filled = Math.floor(fraction * BAR_WIDTH);
  const bar = filled >= BAR_WIDTH ? '='.repeat(BAR_WIDTH) : `${'='.repeat(filled)}>${' '.repeat(BAR_WIDTH - filled - 1)}`;
  return `[${bar}]  ${humanSize(current)}/${humanSize(total)}`;
}

export function messageLine(message: JsonMessage, withProgress: boolean): string {
  const prefix = message.id !== undefined ? `${message.id}: ` : '';
  const detail = message.progressDetail;
  const bar = withProgress && detail?.current !== undefined && detail.total !== undefined ? ` ${progressBar(detail.current, detail.total)}` : '';
  return `${prefix}${message.status ?? ''}${bar}`;
}

export class ProgressPrinter {
  #out: Writable;
  #tty: boolean;
  /** terminal mode: line index of each id, counted from the first line we printed */
  #lines = new Map<string, number>();
  #count = 0;
  /** plain mode: last status printed per id, to print changes only */
  #last = new Map<string, string>();
  #columns: number | undefined;

  constructor(out: Writable, tty: boolean, columns?: number) {
    this.#out = out;
    this.#tty = tty;
    this.#columns = columns;
  }

  print(message: JsonMessage): void {
    if (message.error !== undefined) return;
    if (!this.#tty) {
      if (message.progressDetail?.current !== undefined && message.progressDetail.total !== undefined) return;
      const line = messageLine(message, false);
      if (message.id !== undefined) {
        if (this.#last.get(message.id) === message.status) return;
        this.#last.set(message.id, message.status ?? '');
      }
      this.#out.write(`${line}\n`);
      return;
    }
    let line = messageLine(message, true);
    // a wrapped line would throw the cursor arithmetic off
    if (this.#columns !== undefined && this.#columns > 1 && line.length >= this.#columns) line = line.slice(0, this.#columns - 1);
    const id = message.id;
    if (id === undefined || !this.#lines.has(id)) {
      if (id !== undefined) this.#lines.set(id, this.#count);
      this.#count++;
      this.#out.write(`${line}\n`);
      return;
    }
    const up = this.#count - this.#lines.get(id)!;
    // ESC[nA up n lines, ESC[2K clear it, carriage return; then back down
    this.#out.write(`\x1b[${up}A\x1b[2K\r${line}\r\x1b[${up}B`);
  }
}
