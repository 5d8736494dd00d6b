/**
 * The message grammar of native/PLAN.md ("Transport") as the client reads it, and the
 * errors callers throw from it. The binary itself is driven in tests/integration/native.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { step } from '../plan/plan.ts';
import { ShimConnection, parseMessage, shimError } from './shim-client.ts';

test('parses every message the shim sends', () => {
  assert.deepEqual(parseMessage('pid 4242'), { type: 'pid', pid: 4242 });
  assert.deepEqual(parseMessage('sync create hooks'), { type: 'sync', name: 'create hooks' });
  assert.deepEqual(parseMessage('ready'), { type: 'ready' });
  assert.deepEqual(parseMessage('console-ready'), { type: 'console-ready' });
  assert.deepEqual(parseMessage('exit 137'), { type: 'exit', code: 137 });
});

test('an error keeps its errno, step and a detail with spaces and colons', () => {
  assert.deepEqual(parseMessage('error 1 mount: proc on /proc'), { type: 'error', errno: 1, step: 'mount', detail: 'proc on /proc' });
  assert.deepEqual(parseMessage('error 0 hook: /bin/x: exit status 4'), { type: 'error', errno: 0, step: 'hook', detail: '/bin/x: exit status 4' });
  assert.deepEqual(parseMessage('error 0 plan: '), { type: 'error', errno: 0, step: 'plan', detail: '' });
});

test('malformed lines are rejected, not guessed at', () => {
  for (const line of ['', 'pid', 'pid x', 'exit -1', 'ready now', 'error x mount: y', 'error 1 mount', 'hello']) {
    assert.throws(() => parseMessage(line), /parse shim message/, line);
  }
});

test('shimError reads like runc: step, detail, errno name', () => {
  assert.equal(shimError({ type: 'error', errno: 1, step: 'mount', detail: 'proc on /proc' }).message, 'mount proc on /proc: EPERM');
  assert.equal(shimError({ type: 'error', errno: 0, step: 'hook', detail: '/bin/x: exit status 4' }).message, 'hook /bin/x: exit status 4');
});

test('a shim binary that does not exist is an unavailable error', async () => {
  await assert.rejects(
    ShimConnection.start([step('CLONE', 0), step('EXIT'), step('CHILD'), step('EXEC', '', 1, '/bin/true')], { shimPath: '/nonexistent/berth-shim' }),
    (err: Error & { kind?: string }) => err.kind === 'unavailable' && /spawn \/nonexistent\/berth-shim/.test(err.message),
  );
});
