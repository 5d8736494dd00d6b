import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Container, initialState, type ContainerRecord } from './container.ts';
import { commandLine, humanDuration, listView, statusText } from './views.ts';

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

  it('lists running containers only unless all, newest first, with filters', () => {
    const list = [
      container('aaa', '/old', '2025-01-01T00:00:00Z', { Status: 'exited' }, { tier: 'db' }),
      container('bbb', '/web', '2025-01-02T00:00:00Z', { Status: 'running', Running: true, StartedAt: '2025-01-02T00:00:00Z' }, { tier: 'front' }),
      container('ccc', '/web2', '2025-01-03T00:00:00Z', { Status: 'created' }),
    ];
    const ids = (opts: Parameters<typeof listView>[1]): string[] => listView(list, opts).map((s) => s.Names[0]!);
    assert.deepEqual(ids({ all: false, filters: {} }), ['/web']);
    assert.deepEqual(ids({ all: true, filters: {} }), ['/web2', '/web', '/old']);
    assert.deepEqual(ids({ all: false, limit: 2, filters: {} }), ['/web2', '/web']);
    assert.deepEqual(ids({ all: true, filters: { name: ['^web$'] } }), ['/web']);
    assert.deepEqual(ids({ all: true, filters: { name: ['web'] } }), ['/web2', '/web']);
    assert.deepEqual(ids({ all: false, filters: { status: ['exited'] } }), ['/old']);
    assert.deepEqual(ids({ all: true, filters: { id: ['bb'] } }), ['/web']);
    assert.deepEqual(ids({ all: true, filters: { label: ['tier=db'] } }), ['/old']);
    assert.deepEqual(ids({ all: true, filters: { label: ['tier'] } }), ['/web', '/old']);
    assert.throws(() => listView(list, { all: true, filters: { bogus: ['x'] } }), /invalid filter 'bogus'/);
    assert.throws(() => listView(list, { all: true, filters: { status: ['sleepy'] } }), /invalid filter 'status=sleepy'/);
  });
});
