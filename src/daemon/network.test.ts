import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tmpdir } from 'node:os';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { parseNetworkMode, settleNetworks, teardownNetwork } from './network.ts';

describe('network mode', () => {
  it('maps Docker\'s modes, with the default network for an empty or `default` mode', () => {
    assert.deepEqual(parseNetworkMode(undefined, true), { kind: 'network', name: 'bridge' });
    assert.deepEqual(parseNetworkMode('default', true), { kind: 'network', name: 'bridge' });
    assert.deepEqual(parseNetworkMode('none', true), { kind: 'none' });
    assert.deepEqual(parseNetworkMode('host', true), { kind: 'host' });
    assert.deepEqual(parseNetworkMode('container:web', true), { kind: 'container', ref: 'web' });
    assert.deepEqual(parseNetworkMode('mynet', true), { kind: 'network', name: 'mynet' });
    assert.throws(() => parseNetworkMode('container:', true), /needs a container name/);
  });

  it('is always none when the daemon runs without networking', () => {
    assert.deepEqual(parseNetworkMode('bridge', false), { kind: 'none' });
    assert.deepEqual(parseNetworkMode('host', false), { kind: 'none' });
  });
});

describe('background teardown', () => {
  function fakeDaemon(): { ctx: DaemonContext; calls: string[]; container: (id: string) => Container } {
    const calls: string[] = [];
    const network = {
      async teardown(id: string): Promise<void> {
        calls.push(`start ${id}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        calls.push(`end ${id}`);
      },
    };
    const ctx = { network, warn: () => {} } as unknown as DaemonContext;
    return { ctx, calls, container: (id) => ({ id, dir: tmpdir() }) as unknown as Container };
  }

  it('waits for a quiet time, starts at once when settled, and runs one teardown per container at a time', async () => {
    const { ctx, calls, container } = fakeDaemon();
    // exit, then removal: both queued, neither started yet
    await teardownNetwork(ctx, container('a'));
    await teardownNetwork(ctx, container('a'));
    assert.deepEqual(calls, []);
    await settleNetworks(ctx, 'a');
    assert.deepEqual(calls, ['start a', 'end a', 'start a', 'end a']);
  });

  it('runs on its own once the quiet time is over; settling all waits for every container', async () => {
    const { ctx, calls, container } = fakeDaemon();
    await teardownNetwork(ctx, container('b'));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(calls, ['start b', 'end b']);
    await teardownNetwork(ctx, container('c'));
    await teardownNetwork(ctx, container('d'));
    await settleNetworks(ctx);
    assert.deepEqual(calls.slice(2).sort(), ['end c', 'end d', 'start c', 'start d']);
  });
});
