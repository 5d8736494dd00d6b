import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fsError } from './errors.ts';

test('fsError: Node\'s errno message in Go\'s words, naming the operation and the path, code kept', () => {
  const raw = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  const err = fsError(raw, 'write', '/data/containers/x/config.v2.json') as Error & { code?: string };
  assert.equal(err.message, 'write /data/containers/x/config.v2.json: no space left on device');
  assert.equal(err.code, 'ENOSPC');
  assert.equal(err.cause, raw);
  const open = Object.assign(new Error("EACCES: permission denied, open '/data/x'"), { code: 'EACCES' });
  assert.equal((fsError(open, 'open', '/data/x') as Error).message, 'open /data/x: permission denied');
  const plain = new Error('not from the file system');
  assert.equal(fsError(plain, 'write', '/x'), plain);
});
