import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Container, initialState, type ContainerRecord } from './container.ts';
import type { ContainerSummary } from '../api/index.ts';
import { commandLine, humanDuration, listView, portFilter, statusText, writableDir, type ListSources } from './views.ts';

function container(id: string, name: string, created: string, state: Partial<ContainerRecord['State']> = {}, labels: Record<string, string> = {}): Container {
  const record: ContainerRecord = {
    ID: id.padEnd(64, '0'),
    Name: name,
    Created: created,
    Path: 'sh',
    Args: ['-c', 'exit 3'],
    Config: { Image: 'busybox', Labels: labels },
    HostConfig: { NetworkMode: 'none' },
    Image: 'sha256:abc',
    State: { ...initialState(), ...state },
    RestartCount: 0,
    SnapshotKey: 'k',
  };
  return new Container(record, '/nonexistent');
}

/** Every test image is sha256:abc, named busybox; `other` names sha256:other. */
const sources: ListSources = {
  imageFamily: async (ref) => (ref === 'busybox' ? ['sha256:abc'] : ref === 'other' ? ['sha256:other'] : []),
  networking: async () => ({ Ports: [], NetworkSettings: { Networks: { none: {} } } }),
  size: async () => ({ SizeRw: 2, SizeRootFs: 2002 }),
};

describe('docker ps views', () => {
  it("prints durations as go-units' HumanDuration", () => {
    assert.equal(humanDuration(300), 'Less than a second');
    assert.equal(humanDuration(1000), '1 second');
    assert.equal(humanDuration(42_000), '42 seconds');
    assert.equal(humanDuration(70_000), 'About a minute');
    assert.equal(humanDuration(5 * 60_000), '5 minutes');
    assert.equal(humanDuration(3_600_000), 'About an hour');
    assert.equal(humanDuration(5 * 3_600_000), '5 hours');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
  });

  it('describes each state as docker ps does', () => {
    const now = Date.parse('2025-01-01T00:01:00Z');
    assert.equal(statusText(container('a', '/a', '2025-01-01T00:00:00Z'), now), 'Created');
    assert.equal(statusText(container('a', '/a', '2025-01-01T00:00:00Z', { Status: 'running', Running: true, StartedAt: '2025-01-01T00:00:30Z' }), now), 'Up 30 seconds');
    assert.equal(statusText(container('a', '/a', '2025-01-01T00:00:00Z', { Status: 'exited', ExitCode: 3, FinishedAt: '2025-01-01T00:00:58Z' }), now), 'Exited (3) 2 seconds ago');
  });

  it('quotes arguments with spaces in the command column', () => {
    assert.equal(commandLine('sh', ['-c', 'exit 3']), "sh -c 'exit 3'");
  });

  it('lists running containers only unless all, newest first, with filters', async () => {
    const list = [
      container('aaa', '/old', '2025-01-01T00:00:00Z', { Status: 'exited' }, { tier: 'db' }),
      container('bbb', '/web', '2025-01-02T00:00:00Z', { Status: 'running', Running: true, StartedAt: '2025-01-02T00:00:00Z' }, { tier: 'front' }),
      container('ccc', '/web2', '2025-01-03T00:00:00Z', { Status: 'created' }),
    ];
    const names = async (opts: Parameters<typeof listView>[1]): Promise<string[]> => (await listView(list, opts, sources)).map((s) => s.Names[0]!);
    assert.deepEqual(await names({ all: false, filters: {} }), ['/web']);
    assert.deepEqual(await names({ all: true, filters: {} }), ['/web2', '/web', '/old']);
    assert.deepEqual(await names({ all: false, limit: 2, filters: {} }), ['/web2', '/web']);
    assert.deepEqual(await names({ all: true, filters: { name: ['^web$'] } }), ['/web']);
    assert.deepEqual(await names({ all: true, filters: { name: ['web'] } }), ['/web2', '/web']);
    assert.deepEqual(await names({ all: false, filters: { status: ['exited'] } }), ['/old']);
    assert.deepEqual(await names({ all: true, filters: { id: ['bb'] } }), ['/web']);
    assert.deepEqual(await names({ all: true, filters: { label: ['tier=db'] } }), ['/old']);
    assert.deepEqual(await names({ all: true, filters: { label: ['tier'] } }), ['/web', '/old']);
    await assert.rejects(listView(list, { all: true, filters: { bogus: ['x'] } }, sources), /invalid filter 'bogus'/);
    await assert.rejects(listView(list, { all: true, filters: { 'label!': ['x'] } }, sources), /invalid filter 'label!'/);
    await assert.rejects(
      listView(list, { all: true, filters: { status: ['sleepy'] } }, sources),
      /invalid filter 'status=sleepy': invalid value for state \(sleepy\): must be one of created, running, paused, restarting, removing, exited, dead/,
    );
  });

  it('filters on exit codes, neighbours, ancestors, volumes, networks and ports as moby does', async () => {
    const exited3 = container('aaa', '/three', '2025-01-01T00:00:00Z', { Status: 'exited', ExitCode: 3, StartedAt: '2025-01-01T00:00:01Z' });
    const exited0 = container('bbb', '/zero', '2025-01-02T00:00:00Z', { Status: 'exited', ExitCode: 0, StartedAt: '2025-01-02T00:00:01Z' });
    const created = container('ccc', '/fresh', '2025-01-03T00:00:00Z', { Status: 'created' });
    const up = container('ddd', '/up', '2025-01-04T00:00:00Z', { Status: 'running', Running: true, StartedAt: '2025-01-04T00:00:00Z' });
    up.record.Image = 'sha256:other';
    exited3.record.MountPoints = [{ Type: 'volume', Name: 'data', Source: '/var/lib/berth/volumes/data/_data', Destination: '/data', RW: true, Mode: '', Propagation: '' }];
    const list = [exited3, exited0, created, up];
    const networking = new Map<string, Pick<ContainerSummary, 'Ports' | 'NetworkSettings'>>([
      [up.id, { Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 53, Type: 'udp' }], NetworkSettings: { Networks: { bridge: { NetworkID: 'f00dcafe' } } } }],
    ]);
    const withNet: ListSources = { ...sources, networking: async (c) => networking.get(c.id) ?? { Ports: [], NetworkSettings: { Networks: { none: {} } } } };
    const names = async (filters: Record<string, string[]>, all = true): Promise<string[]> => (await listView(list, { all, filters }, withNet)).map((s) => s.Names[0]!);
    // exited: only those that ran and stopped with that code; a created one never ran
    assert.deepEqual(await names({ exited: ['0'] }), ['/zero']);
    assert.deepEqual(await names({ exited: ['0', '3'] }), ['/zero', '/three']);
    assert.deepEqual(await names({ exited: ['0'] }, false), []);
    await assert.rejects(listView(list, { all: true, filters: { exited: ['x'] } }, withNet), /invalid filter 'exited=x': strconv.Atoi: parsing "x": invalid syntax/);
    // before / since, by name or ID
    assert.deepEqual(await names({ before: ['fresh'] }), ['/zero', '/three']);
    assert.deepEqual(await names({ before: [`/${created.id.slice(0, 3)}`] }).catch((e: Error) => e.message), 'No such container: /ccc');
    assert.deepEqual(await names({ before: [created.id] }), ['/zero', '/three']);
    assert.deepEqual(await names({ since: ['zero'] }), ['/up', '/fresh']);
    assert.deepEqual(await names({ since: ['three'], before: ['up'] }), ['/fresh', '/zero']);
    // ancestor: the image's family as the image service resolves it; a name it does not know matches nothing
    assert.deepEqual(await names({ ancestor: ['busybox'] }), ['/fresh', '/zero', '/three']);
    assert.deepEqual(await names({ ancestor: ['nothing:here'] }), []);
    assert.deepEqual(await names({ ancestor: ['nothing:here', 'other'] }), ['/up']);
    // volume: by name or destination
    assert.deepEqual(await names({ volume: ['data'] }), ['/three']);
    assert.deepEqual(await names({ volume: ['/data'] }), ['/three']);
    assert.deepEqual(await names({ volume: ['/elsewhere'] }), []);
    // network: by name or ID prefix
    assert.deepEqual(await names({ network: ['bridge'] }), ['/up']);
    assert.deepEqual(await names({ network: ['f00d'] }), ['/up']);
    assert.deepEqual(await names({ network: ['none'] }), ['/fresh', '/zero', '/three']);
    // publish / expose, with ranges and protocols
    assert.deepEqual(await names({ publish: ['8080'] }), ['/up']);
    assert.deepEqual(await names({ publish: ['8000-8100/tcp'] }), ['/up']);
    assert.deepEqual(await names({ publish: ['8080/udp'] }), []);
    assert.deepEqual(await names({ expose: ['80'] }), ['/up']);
    assert.deepEqual(await names({ expose: ['53/udp'] }), ['/up']);
    assert.deepEqual(await names({ expose: ['53'] }), []);
    await assert.rejects(listView(list, { all: true, filters: { publish: ['1:2'] } }, withNet), /filter for 'publish' should not contain ':': 1:2/);
    await assert.rejects(listView(list, { all: true, filters: { expose: ['90-80'] } }, withNet), /error while looking up for expose 90-80: invalid port range: 90-80/);
    // isolation and is-task: every container here is a default-isolation non-task
    assert.deepEqual(await names({ isolation: ['default'] }), ['/up', '/fresh', '/zero', '/three']);
    assert.deepEqual(await names({ 'is-task': ['true'] }), []);
    assert.deepEqual(await names({ 'is-task': ['false'] }), ['/up', '/fresh', '/zero', '/three']);
    await assert.rejects(listView(list, { all: true, filters: { 'is-task': ['maybe'] } }, withNet), /invalid filter 'is-task=maybe'/);
  });

  it('adds sizes only when asked', async () => {
    const c = container('aaa', '/a', '2025-01-01T00:00:00Z', { Status: 'exited' });
    const rows = await listView([c], { all: true, filters: {} }, sources);
    assert.equal(rows[0]!.SizeRw, undefined);
    const sized = await listView([c], { all: true, size: true, filters: {} }, sources);
    assert.deepEqual([sized[0]!.SizeRw, sized[0]!.SizeRootFs], [2, 2002]);
  });

  it('parses port filters as moby portOp does', () => {
    const into = new Set<string>();
    portFilter('expose', '80', into);
    portFilter('expose', '8080-8081/UDP', into);
    assert.deepEqual([...into], ['80/tcp', '8080/udp', '8081/udp']);
    assert.throws(() => portFilter('publish', '', new Set()), /invalid port range: value is empty/);
    assert.throws(() => portFilter('publish', 'x', new Set()), /invalid start port 'x': invalid syntax/);
    assert.throws(() => portFilter('publish', '70000', new Set()), /invalid start port '70000': value out of range/);
    assert.throws(() => portFilter('publish', '80-', new Set()), /invalid end port '': value is empty/);
  });

  it('finds the directory a container writes to', () => {
    const dir = '/layers/7/fs';
    assert.equal(writableDir([{ type: 'overlay', source: 'overlay', options: ['lowerdir=/l', `upperdir=${dir}`, 'workdir=/w'] }]), dir);
    assert.equal(writableDir([{ type: 'bind', source: dir, options: ['rw', 'rbind'] }]), dir);
    assert.equal(writableDir([]), undefined);
  });
});
