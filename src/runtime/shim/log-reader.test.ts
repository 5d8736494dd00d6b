/**
 * The json-file reader against files written the way the monitor writes them: docker's
 * escaping, rotation by renaming, lines appended in pieces while a follow reads them.
 */

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { parseLogLine, readLogs, timeNs } from './log-reader.ts';
import type { LogEntry, ReadLogsOptions } from './log-reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-log-reader-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function line(log: string, stream: 'stdout' | 'stderr', second: number): string {
  return `${JSON.stringify({ log, stream, time: `2026-01-02T03:04:${String(second).padStart(2, '0')}.5Z` })}\n`;
}

async function collect(path: string, options: ReadLogsOptions = {}): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for await (const entry of readLogs(path, options)) entries.push(entry);
  return entries;
}

function newLog(): string {
  return join(dir, `log-${files++}.json`);
}

test('parses docker json-file lines, escapes and all', () => {
  const raw = '{"log":"\\u003cb\\u003e \\u0026 \\u0001\\t\\ufffd \\u2028é\\n","stream":"stderr","time":"2026-11-23T13:11:44.017409901Z"}';
  assert.deepEqual(parseLogLine(raw), { log: '<b> & \u0001\t\ufffd \u2028é\n', stream: 'stderr', time: '2026-11-23T13:11:44.017409901Z' });
  assert.throws(() => parseLogLine('{"log":"x","stream":"stdin","time":"t"}'), /unknown stream/);
  assert.throws(() => parseLogLine('{"log":"x"'), /parse log entry/);
});

test('times keep their nanoseconds, with or without trailing zeros', () => {
  assert.equal(timeNs('1970-01-01T00:00:01.000000001Z'), 1_000_000_001n);
  assert.equal(timeNs('1970-01-01T00:00:01.5Z'), 1_500_000_000n);
  assert.equal(timeNs('1970-01-01T00:00:01Z'), 1_000_000_000n);
  assert.equal(timeNs('1970-01-01T01:00:00+01:00'), 0n);
  assert.throws(() => timeNs('yesterday'), /bad time/);
});

test('rotated files come first, oldest first, and tail spans files', async () => {
  const path = newLog();
  writeFileSync(`${path}.2`, line('one\n', 'stdout', 1) + line('two\n', 'stderr', 2));
  writeFileSync(`${path}.1`, line('three\n', 'stdout', 3));
  writeFileSync(path, line('four\n', 'stdout', 4) + line('fi', 'stdout', 5));
  const all = await collect(path);
  assert.deepEqual(all.map((e) => e.log), ['one\n', 'two\n', 'three\n', 'four\n', 'fi']);
  assert.deepEqual(all.map((e) => e.stream), ['stdout', 'stderr', 'stdout', 'stdout', 'stdout']);
  assert.deepEqual((await collect(path, { tail: 3 })).map((e) => e.log), ['three\n', 'four\n', 'fi']);
  assert.deepEqual(await collect(path, { tail: 0 }), []);
});

test('since and until select by time, at nanosecond precision', async () => {
  const path = newLog();
  writeFileSync(path, line('a', 'stdout', 1) + line('b', 'stdout', 2) + line('c', 'stdout', 3));
  const since = new Date('2026-01-02T03:04:02.5Z');
  assert.deepEqual((await collect(path, { since })).map((e) => e.log), ['b', 'c']);
  assert.deepEqual((await collect(path, { since: timeNs('2026-01-02T03:04:02.500000001Z') })).map((e) => e.log), ['c']);
  assert.deepEqual((await collect(path, { until: since })).map((e) => e.log), ['a', 'b']);
});

test('a line being written is not returned until its newline is there', async () => {
  const path = newLog();
  const whole = line('done\n', 'stdout', 1);
  writeFileSync(path, whole + line('half', 'stdout', 2).slice(0, 10));
  assert.deepEqual((await collect(path)).map((e) => e.log), ['done\n']);
});

test('a missing log is empty, not an error', async () => {
  assert.deepEqual(await collect(join(dir, 'never-written')), []);
});

test('follow sees appends in pieces and a rotation, then stops once told', async () => {
  const path = newLog();
  writeFileSync(path, line('old\n', 'stdout', 1));
  let stop!: () => void;
  const stopped = new Promise<void>((resolveStop) => (stop = resolveStop));
  const seen: string[] = [];
  const reading = (async () => {
    for await (const entry of readLogs(path, { follow: true, stop: stopped, pollMs: 20 })) seen.push(entry.log);
  })();
  const waitSeen = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(seen.length, n, `saw ${JSON.stringify(seen)}`);
  };
  await waitSeen(1);
  const next = line('new\n', 'stderr', 2);
  appendFileSync(path, next.slice(0, 7));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen.length, 1, 'half a line is held back');
  appendFileSync(path, next.slice(7));
  await waitSeen(2);
  // the monitor's rotation: the last line lands in the old file, then a new file starts
  appendFileSync(path, line('last before rotation\n', 'stdout', 3));
  renameSync(path, `${path}.1`);
  writeFileSync(path, line('after rotation\n', 'stdout', 4));
  await waitSeen(4);
  appendFileSync(path, line('written before the stop\n', 'stdout', 5));
  stop();
  await reading;
  assert.deepEqual(seen, ['old\n', 'new\n', 'last before rotation\n', 'after rotation\n', 'written before the stop\n']);
});

test('follow ends at once on abort', async () => {
  const path = newLog();
  writeFileSync(path, line('x\n', 'stdout', 1));
  const controller = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    for await (const entry of readLogs(path, { follow: true, signal: controller.signal, pollMs: 10_000 })) seen.push(entry.log);
  })();
  await new Promise((r) => setTimeout(r, 50));
  controller.abort();
  await reading;
  assert.deepEqual(seen, ['x\n']);
});

test('tail reads from the end: lines across chunk borders, a partial last line, rotated files, tail 0', async () => {
  const path = newLog();
  // ~10 000 lines of varied length: far more than one 64 KiB chunk, lines cut by chunk borders
  const lines = Array.from({ length: 10_000 }, (_, i) => line(`entry ${i} ${'x'.repeat(i % 97)}\n`, i % 3 === 0 ? 'stderr' : 'stdout', i % 60));
  writeFileSync(`${path}.1`, lines.slice(0, 4_000).join(''));
  writeFileSync(path, `${lines.slice(4_000).join('')}{"log":"partial`);
  const last = (entries: LogEntry[]): string[] => entries.map((e) => e.log.split(' ').slice(0, 2).join(' '));
  assert.deepEqual(last(await collect(path, { tail: 3 })), ['entry 9997', 'entry 9998', 'entry 9999']);
  const spanning = await collect(path, { tail: 6_500 });
  assert.equal(spanning.length, 6_500);
  assert.equal(last(spanning)[0], 'entry 3500');
  assert.equal(last(spanning).at(-1), 'entry 9999');
  assert.equal((await collect(path, { tail: 20_000 })).length, 10_000);
  assert.deepEqual(await collect(path, { tail: 0 }), []);

  // tail 0 and follow: only what comes after, the partial line included once it is complete
  const controller = new AbortController();
  const seen: string[] = [];
  const reading = (async () => {
    for await (const entry of readLogs(path, { tail: 0, follow: true, signal: controller.signal, pollMs: 20 })) {
      seen.push(entry.log);
      if (seen.length === 2) controller.abort();
    }
  })();
  // the reader has taken the tail (nothing) and is following before anything more comes
  await new Promise((resolve) => setTimeout(resolve, 300));
  appendFileSync(path, '","stream":"stdout","time":"2026-01-02T03:04:05Z"}\n');
  appendFileSync(path, line('after\n', 'stdout', 6));
  await reading;
  assert.deepEqual(seen, ['partial', 'after\n']);
});
