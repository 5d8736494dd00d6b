import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../util/errors.ts';
import { LocalVolumes, checkVolumeName } from './local-volumes.ts';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-volumes-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('LocalVolumes', () => {
  it('creates a volume with its data dir and metadata, idempotently', async () => {
    const volumes = await LocalVolumes.open(join(root, 'a'));
    const v = await volumes.create('data', { labels: { k: 'v' } });
    assert.equal(v.Name, 'data');
    assert.equal(v.Driver, 'local');
    assert.equal(v.Scope, 'local');
    assert.equal(v.Mountpoint, join(root, 'a', 'data', '_data'));
    assert.deepEqual(v.Labels, { k: 'v' });
    assert.ok(existsSync(v.Mountpoint));
    const meta = JSON.parse(await readFile(join(root, 'a', 'data', 'volume.json'), 'utf8'));
    assert.equal(meta.Name, 'data');
    const again = await volumes.create('data', { labels: { other: '1' } });
    assert.deepEqual(again.Labels, { k: 'v' }, 'an existing volume is returned as it is');
  });

  it('survives a reopen, and drops a directory whose metadata never got written', async () => {
    const dir = join(root, 'b');
    const first = await LocalVolumes.open(dir);
    await first.create('kept');
    await writeFile(join(first.dataDir('kept'), 'f'), 'x');
    await mkdir(join(dir, 'halfmade', '_data'), { recursive: true });
    const second = await LocalVolumes.open(dir);
    assert.deepEqual(second.list().map((v) => v.Name), ['kept']);
    assert.equal(await readFile(join(second.dataDir('kept'), 'f'), 'utf8'), 'x');
    assert.ok(!existsSync(join(dir, 'halfmade')));
  });

  it('names anonymous volumes with 64 hex digits; removes with their data', async () => {
    const volumes = await LocalVolumes.open(join(root, 'c'));
    const v = await volumes.create(undefined);
    assert.match(v.Name, /^[0-9a-f]{64}$/);
    await writeFile(join(v.Mountpoint, 'f'), 'x');
    await volumes.remove(v.Name);
    assert.ok(!existsSync(join(root, 'c', v.Name)));
    assert.ok(!volumes.has(v.Name));
    await assert.rejects(volumes.remove(v.Name), (err: unknown) => err instanceof EngineError && err.kind === 'not-found' && /no such volume/.test(err.message));
    await volumes.remove(v.Name, { force: true });
  });

  it('refuses bad names, other drivers and driver options', async () => {
    const volumes = await LocalVolumes.open(join(root, 'd'));
    assert.throws(() => checkVolumeName('a'), /invalid characters/);
    assert.throws(() => checkVolumeName('../x'), /invalid characters/);
    checkVolumeName('ok_name.1-2');
    await assert.rejects(volumes.create('x', { driver: 'nfs' }), /plugin "nfs" not found/);
    await assert.rejects(volumes.create('withopts', { options: { type: 'tmpfs' } }), /invalid option/);
    assert.equal(volumes.has('withopts'), false);
  });
});
