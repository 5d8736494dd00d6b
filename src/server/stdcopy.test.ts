import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frame, unframe } from './stdcopy.ts';

describe('multiplexed stream frames', () => {
  it('writes the 8-byte header: stream, three zero bytes, big-endian length', () => {
    const f = frame(2, Buffer.from('hello'));
    assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 5]);
    assert.equal(f.subarray(8).toString(), 'hello');
  });

  it('round-trips a sequence of frames and refuses a torn one', () => {
    const joined = Buffer.concat([frame(1, Buffer.from('out\n')), frame(2, Buffer.alloc(300, 0x61))]);
    const frames = unframe(joined);
    assert.deepEqual(frames.map((f) => [f.stream, f.payload.length]), [[1, 4], [2, 300]]);
    assert.throws(() => unframe(joined.subarray(0, joined.length - 1)), /torn payload/);
  });
});
