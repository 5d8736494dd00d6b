import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Demuxer, STDERR, STDOUT } from './stdcopy.ts';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

test('frames split across reads come out whole and in order', () => {
  const seen: [number, string][] = [];
  const demux = new Demuxer((s, p) => seen.push([s, p.toString()]));
  const bytes = Buffer.concat([frame(STDOUT, 'hello\n'), frame(STDERR, 'oops'), frame(STDOUT, '')]);
  for (let i = 0; i < bytes.length; i += 3) demux.push(bytes.subarray(i, i + 3));
  assert.deepEqual(seen, [[STDOUT, 'hello\n'], [STDERR, 'oops'], [STDOUT, '']]);
  assert.equal(demux.leftover, 0);
});

test('an incomplete frame is held back', () => {
  const seen: string[] = [];
  const demux = new Demuxer((_s, p) => seen.push(p.toString()));
  demux.push(frame(STDOUT, 'abcdef').subarray(0, 10));
  assert.deepEqual(seen, []);
  assert.equal(demux.leftover, 10);
});
