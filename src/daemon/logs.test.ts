import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOutput, tailOffset, type OutputChunk } from './logs.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(chunks: AsyncIterable<OutputChunk>): Promise<Record<number, string>> {
  const out: Record<number, string> = { 1: '', 2: '' };
  for await (const c of chunks) out[c.stream] += Buffer.from(c.data).toString();
  return out;
}

describe('container output files', () => {
  it('finds where the last N lines start, across read blocks', async () => {
    const path = join(dir, 'tail.log');
    const long = 'x'.repeat(100_000);
    await writeFile(path, `a\n${long}\nb\nc\n`);
    assert.equal(await tailOffset(path, 1), 2 + long.length + 1 + 2);
    assert.equal(await tailOffset(path, 3), 2);
    assert.equal(await tailOffset(path, 10), 0);
    assert.equal(await tailOffset(path, 0), 2 + long.length + 1 + 4);
    await writeFile(path, 'no newline at end');
    assert.equal(await tailOffset(path, 1), 0);
  });

  it('reads both streams, or only the asked one', async () => {
    const sub = await mkdtemp(join(dir, 'c-'));
    await writeFile(join(sub, 'stdout.log'), 'out\n');
    await writeFile(join(sub, 'stderr.log'), 'err\n');
    assert.deepEqual(await collect(await openOutput(sub, { stdout: true, stderr: true })), { 1: 'out\n', 2: 'err\n' });
    assert.deepEqual(await collect(await openOutput(sub, { stdout: false, stderr: true })), { 1: '', 2: 'err\n' });
  });

  it('follows from the end until told to stop, then drains, even when the files are deleted', async () => {
    const sub = await mkdtemp(join(dir, 'c-'));
    await writeFile(join(sub, 'stdout.log'), 'old\n');
    await writeFile(join(sub, 'stderr.log'), '');
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const reader = await openOutput(sub, { stdout: true, stderr: true, fromEnd: true, until, pollMs: 5 });
    const result = collect(reader);
    await appendFile(join(sub, 'stdout.log'), 'new\n');
    await appendFile(join(sub, 'stderr.log'), 'late\n');
    await rm(sub, { recursive: true });
    stop();
    assert.deepEqual(await result, { 1: 'new\n', 2: 'late\n' });
  });

  it('sends a large log in pieces', async () => {
    const sub = await mkdtemp(join(dir, 'c-'));
    await writeFile(join(sub, 'stdout.log'), Buffer.alloc(1024 * 1024, 0x61));
    let pieces = 0;
    let bytes = 0;
    for await (const c of await openOutput(sub, { stdout: true, stderr: false })) {
      pieces++;
      bytes += c.data.length;
    }
    assert.equal(bytes, 1024 * 1024);
    assert.ok(pieces >= 4);
  });
});
