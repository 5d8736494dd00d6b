import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WarmPool } from './pool.ts';
import type { PoolBackend } from './pool.ts';

/** A backend whose "namespaces" are set members, so leaks are visible. */
function memoryBackend(failAfter = Infinity): PoolBackend & { live: Set<string>; created: number } {
  const backend = {
    live: new Set<string>(),
    created: 0,
    async create(id: string): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (backend.created >= failAfter) throw new Error('no more');
      backend.created++;
      backend.live.add(id);
    },
    async destroy(id: string): Promise<void> {
      assert.ok(backend.live.delete(id), `destroy of unknown ${id}`);
    },
  };
  return backend;
}

test('fills to size, refills after a take, drains everything', async () => {
  const backend = memoryBackend();
  const pool = new WarmPool(2, backend);
  assert.equal(pool.take(), undefined, 'not started: nothing');
  pool.start();
  await pool.filled();
  assert.equal(pool.readyCount, 2);
  const taken = pool.take();
  assert.ok(taken !== undefined && WarmPool.isPoolId(taken));
  assert.equal(pool.readyCount, 1);
  assert.ok(!pool.owned().has(taken), 'a taken entry belongs to its taker');
  await pool.filled();
  assert.equal(pool.readyCount, 1, 'take alone does not refill');
  pool.replenish();
  await pool.filled();
  assert.equal(pool.readyCount, 2);
  assert.equal(backend.created, 3);
  await pool.drain();
  assert.deepEqual([...backend.live], [taken], 'only the taken entry remains, the caller owns it');
  assert.equal(pool.readyCount, 0);
});

test('drain during a refill waits for it and destroys what it made', async () => {
  const backend = memoryBackend();
  const pool = new WarmPool(3, backend);
  pool.start();
  await new Promise((resolve) => setTimeout(resolve, 3));
  await pool.drain();
  assert.equal(backend.live.size, 0);
  assert.ok(backend.created >= 1);
});

test('a failing backend stops refilling until the next replenish', async () => {
  const backend = memoryBackend(1);
  const pool = new WarmPool(2, backend);
  pool.start();
  await pool.filled();
  assert.equal(pool.readyCount, 1);
  assert.match(String(pool.lastError), /no more/);
  pool.take();
  pool.replenish();
  await pool.filled();
  assert.equal(pool.readyCount, 0);
  await pool.drain();
});

test('a delayed replenish waits; filled() starts it at once and drain() cancels it', async () => {
  const backend = memoryBackend();
  const pool = new WarmPool(2, backend);
  pool.start();
  await pool.filled();
  pool.take();
  pool.replenish(60_000);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(pool.readyCount, 1, 'no refill before the delay');
  await pool.filled();
  assert.equal(pool.readyCount, 2, 'filled() does not wait for the timer');
  pool.take();
  pool.replenish(60_000);
  await pool.drain();
  assert.equal(pool.readyCount, 0);
  assert.equal(backend.live.size, 2, 'only the two taken entries remain: the cancelled refill made nothing');
});
