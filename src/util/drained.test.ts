import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';

import { drained } from './drained.ts';

class FakeStream extends EventEmitter {
  destroyed = false;
}

test('drained waits for the drain, then leaves no listener behind', async () => {
  const stream = new FakeStream();
  let done = false;
  const waiting = drained(stream).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'nothing drained yet');
  stream.emit('drain');
  await waiting;
  assert.deepEqual(['drain', 'close', 'error'].map((e) => stream.listenerCount(e)), [0, 0, 0]);
});

test('a stream that closes or fails instead ends the wait too', async () => {
  for (const event of ['close', 'error']) {
    const stream = new FakeStream();
    const waiting = drained(stream);
    stream.emit(event);
    await waiting;
    assert.equal(stream.listenerCount('drain'), 0, event);
  }
});

test('a destroyed stream has nothing to wait for', async () => {
  const stream = new FakeStream();
  stream.destroyed = true;
  await drained(stream);
  assert.equal(stream.listenerCount('drain'), 0);
});
