import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DaemonContext } from './context.ts';
import { PredefinedNetworksOnly, findPredefined, matchesNetworkFilters, predefinedNetworks, type ListedNetwork } from './predefined-networks.ts';

function context(root: string, containers: Array<{ id: string; name: string; running: boolean; mode?: string }> = []): DaemonContext {
  const all = containers.map((c) => ({ id: c.id, running: c.running, record: { Name: `/${c.name}`, HostConfig: { NetworkMode: c.mode } } }));
  return { root, store: { all: () => all } } as unknown as DaemonContext;
}

describe('predefined networks', () => {
  it('lists host and none with Docker drivers and IDs stable per data root', () => {
    const [host, none] = predefinedNetworks(context('/a'), () => 'none');
    assert.equal(host!.Name, 'host');
    assert.equal(host!.Driver, 'host');
    assert.equal(none!.Driver, 'null');
    assert.match(host!.Id, /^[0-9a-f]{64}$/);
    assert.equal(predefinedNetworks(context('/a'), () => 'none')[0]!.Id, host!.Id);
    assert.notEqual(predefinedNetworks(context('/b'), () => 'none')[0]!.Id, host!.Id);
    assert.notEqual(none!.Id, host!.Id);
  });

  it('shows the running containers whose mode is the network', () => {
    const ctx = context('/a', [
      { id: 'c1', name: 'one', running: true, mode: 'host' },
      { id: 'c2', name: 'two', running: false, mode: 'host' },
      { id: 'c3', name: 'three', running: true, mode: 'bridge' },
    ]);
    const [host, none] = predefinedNetworks(ctx, (mode) => mode ?? 'none');
    assert.deepEqual(Object.keys(host!.Containers), ['c1']);
    assert.equal(host!.Containers['c1']!.Name, 'one');
    assert.deepEqual(none!.Containers, {});
  });

  it('finds by full ID, then name, then a unique ID prefix', () => {
    const networks = predefinedNetworks(context('/a'), () => 'none');
    const host = networks[0]!;
    assert.equal(findPredefined(networks, host.Id), host);
    assert.equal(findPredefined(networks, 'none'), networks[1]);
    assert.equal(findPredefined(networks, host.Id.slice(0, 12)), host);
    assert.equal(findPredefined(networks, 'bridge'), undefined);
    assert.equal(findPredefined(networks, ''), undefined);
  });

  it('filters as network ls: the predefined ones are builtin and never dangling', () => {
    const [host] = predefinedNetworks(context('/a'), () => 'none');
    const user: ListedNetwork = { ...host!, Name: 'mine', Driver: 'bridge', Containers: {} };
    assert.equal(matchesNetworkFilters(host!, { type: ['builtin'] }, true), true);
    assert.equal(matchesNetworkFilters(host!, { type: ['custom'] }, true), false);
    assert.equal(matchesNetworkFilters(host!, { driver: ['host'] }, true), true);
    assert.equal(matchesNetworkFilters(host!, { dangling: ['true'] }, true), false);
    assert.equal(matchesNetworkFilters(user, { dangling: ['true'] }, false), true);
    assert.equal(matchesNetworkFilters(user, { dangling: ['false'] }, false), false);
    assert.equal(matchesNetworkFilters(user, { name: ['in'], scope: ['local'] }, false), true);
  });

  it('without networking: list and inspect work, create, remove and connect say why not, prune deletes nothing', async () => {
    const service = new PredefinedNetworksOnly(context('/a'));
    assert.deepEqual((await service.list({})).map((n) => n.Name), ['host', 'none']);
    assert.deepEqual((await service.list({ driver: ['null'] })).map((n) => n.Name), ['none']);
    await assert.rejects(service.list({ bogus: ['1'] }), /invalid filter 'bogus'/);
    assert.equal((await service.inspect('host')).Driver, 'host');
    await assert.rejects(service.inspect('bridge'), (err: Error & { kind?: string }) => err.kind === 'not-found' && /network bridge not found/.test(err.message));
    await assert.rejects(service.create({ Name: 'x' }), /runs without networking/);
    await assert.rejects(service.remove('none'), /none is a pre-defined network and cannot be removed/);
    await assert.rejects(service.connect('host', { Container: 'c' }), /without networking/);
    assert.deepEqual(await service.prune(), { NetworksDeleted: [] });
  });
});
