import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { atomicWrite, atomicWriteSync } from './atomic-write.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-atomic-write-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const durable of [true, false]) {
  test(`atomicWrite (durable: ${durable}) replaces the file whole and leaves no temp file`, async () => {
    const path = join(dir, `async-${durable}.json`);
    writeFileSync(path, 'old');
    await atomicWrite(path, '{"new":true}', { mode: 0o600, durable });
    assert.equal(readFileSync(path, 'utf8'), '{"new":true}');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), []);
  });

  test(`atomicWriteSync (durable: ${durable}) replaces the file whole and leaves no temp file`, () => {
    const path = join(dir, `sync-${durable}.json`);
    atomicWriteSync(path, 'first', { durable });
    atomicWriteSync(path, 'second', { durable });
    assert.equal(readFileSync(path, 'utf8'), 'second');
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), []);
  });
}

test('a write into a missing directory fails and leaves nothing behind', async () => {
  const path = join(dir, 'missing', 'file.json');
  await assert.rejects(atomicWrite(path, 'x', { durable: false }), { code: 'ENOENT' });
  assert.throws(() => atomicWriteSync(path, 'x'), { code: 'ENOENT' });
  assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), []);
});
