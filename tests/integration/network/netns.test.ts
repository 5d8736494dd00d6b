/**
 * Network namespaces as mounts under our directory, linked for iproute2: created with lo up,
 * visible to `ip netns`, aliased for a pooled namespace, deleted idempotently.
 */

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, lstat, rmdir } from 'node:fs/promises';
import { aliasNetns, createNetns, deleteNetns, iprouteName, listNetns } from '../../../src/network/netns/netns.ts';
import { run } from '../../../src/network/exec.ts';

const skip = process.getuid?.() === 0 ? false : 'needs root';
const tag = randomBytes(3).toString('hex');
const dir = `/run/berth/test-netns-${tag}`;
const hadIprouteDir = await access('/run/netns').then(() => true, () => false);

async function mounted(path: string): Promise<boolean> {
  return (await run('mountpoint', ['-q', path])).code === 0;
}

describe('netns', { skip }, () => {
  after(async () => {
    for (const entry of await listNetns({ dir })) await deleteNetns(entry.id, { dir });
    await rmdir(dir).catch(() => {});
    if (!hadIprouteDir) await rmdir('/run/netns').catch(() => {});
  });

  test('create: a mount with lo up, visible to ip netns; a second create of the name fails', async () => {
    const id = `n${tag}`;
    const path = await createNetns(id, { dir });
    assert.equal(path, `${dir}/${id}`);
    assert.ok(await mounted(path));
    assert.match((await run('ip', ['netns', 'list'])).stdout, new RegExp(`^${iprouteName(id)}\\b`, 'm'));
    const lo = await run('ip', ['-n', iprouteName(id), '-o', 'link', 'show', 'lo']);
    assert.match(lo.stdout, /UP/);
    const own = await run('readlink', ['/proc/self/ns/net']);
    const inside = await run('ip', ['netns', 'exec', iprouteName(id), 'readlink', '/proc/self/ns/net']);
    assert.notEqual(inside.stdout, own.stdout, 'a different namespace');
    await assert.rejects(createNetns(id, { dir }), /create netns n\w+: already exists/);
    await assert.rejects(createNetns('../x', { dir }), /invalid name/);
    await deleteNetns(id, { dir });
    assert.ok(!(await mounted(path)));
    await assert.rejects(lstat(path));
    await assert.rejects(lstat(`/run/netns/${iprouteName(id)}`));
    await deleteNetns(id, { dir });
  });

  test('alias: a container name for a pooled namespace; deleting it unmounts the pool mount', async () => {
    const pool = `pool-${tag}`;
    const container = `c${tag}`;
    const poolPath = await createNetns(pool, { dir });
    await aliasNetns(pool, container, { dir });
    assert.deepEqual(await listNetns({ dir }), [{ id: container, aliasOf: pool }, { id: pool }]);
    const a = await run('ip', ['netns', 'exec', iprouteName(container), 'readlink', '/proc/self/ns/net']);
    const b = await run('ip', ['netns', 'exec', iprouteName(pool), 'readlink', '/proc/self/ns/net']);
    assert.equal(a.stdout, b.stdout, 'the alias is the same namespace');
    await deleteNetns(container, { dir });
    assert.ok(!(await mounted(poolPath)));
    assert.deepEqual(await listNetns({ dir }), []);
    assert.doesNotMatch((await run('ip', ['netns', 'list'])).stdout, new RegExp(tag));
  });
});
