import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNetworkMode } from './network.ts';

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
