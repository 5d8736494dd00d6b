import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { ProgressPrinter, progressBar } from './progress.ts';

function capture(tty: boolean, columns?: number): { printer: ProgressPrinter; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { printer: new ProgressPrinter(out, tty, columns), text: () => text };
}

describe('progressBar', () => {
  it('draws docker\'s 50-column bar with sizes', () => {
    assert.equal(progressBar(0, 100), `[>${' '.repeat(49)}]  0B/100B`);
    assert.equal(progressBar(1_200_000, 3_400_000), `[${'='.repeat(17)}>${' '.repeat(32)}]  1.2MB/3.4MB`);
    assert.equal(progressBar(5, 5), `[${'='.repeat(50)}]  5B/5B`);
  });
});

describe('ProgressPrinter', () => {
  const messages = [
    { id: 'latest', status: 'Pulling from busybox' },
    { id: 'aaa', status: 'Pulling fs layer' },
    { id: 'aaa', status: 'Downloading', progressDetail: { current: 1, total: 2 } },
    { id: 'aaa', status: 'Downloading', progressDetail: { current: 2, total: 2 } },
    { id: 'aaa', status: 'Pull complete' },
    { status: 'Digest: sha256:x' },
  ];

  it('prints status changes only, without bars, when not a terminal', () => {
    const { printer, text } = capture(false);
    for (const m of messages) printer.print(m);
    printer.print({ id: 'aaa', status: 'Pull complete' });
    assert.equal(text(), 'latest: Pulling from busybox\naaa: Pulling fs layer\naaa: Pull complete\nDigest: sha256:x\n');
  });

  it('rewrites each id\'s line in place on a terminal', () => {
    const { printer, text } = capture(true);
    for (const m of messages) printer.print(m);
    const out = text();
    assert.ok(out.startsWith('latest: Pulling from busybox\naaa: Pulling fs layer\n'));
    assert.ok(out.includes(`\x1b[1A\x1b[2K\raaa: Downloading [${'='.repeat(25)}>`));
    assert.ok(out.includes('\x1b[1A\x1b[2K\raaa: Pull complete\r\x1b[1B'));
    assert.ok(out.endsWith('Digest: sha256:x\n'));
  });

  it('cuts terminal lines to the width so they never wrap', () => {
    const { printer, text } = capture(true, 20);
    printer.print({ id: 'aaa', status: 'Downloading', progressDetail: { current: 1, total: 2 } });
    assert.equal(text(), 'aaa: Downloading [=\n');
  });
});
