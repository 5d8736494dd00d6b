import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container } from './container.ts';
import {
  containerEvents,
  emitContainerEvent,
  emitEvent,
  emitImageEvent,
  emitNetworkEvent,
  emitVolumeEvent,
  emitVolumeMounts,
  execAction,
  matchesFilters,
  type EventMessage,
} from './events.ts';

const die: EventMessage = {
  status: 'die',
  id: 'abcdef0123456789',
  from: 'busybox',
  Type: 'container',
  Action: 'die',
  Actor: { ID: 'abcdef0123456789', Attributes: { image: 'busybox', name: 'web', exitCode: '3', tier: 'front', app: 'shop' } },
  scope: 'local',
  time: 1,
  timeNano: 1_000_000_000n,
};

function message(type: EventMessage['Type'], action: string, id: string, attributes: Record<string, string>): EventMessage {
  return { Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: 1, timeNano: 1n };
}

function fakeContainer(id: string, name: string, image: string, labels: Record<string, string> = {}): Container {
  return { id, record: { Name: `/${name}`, Image: `sha256:${'1'.repeat(64)}`, Config: { Image: image, Labels: labels } } } as unknown as Container;
}

/** Every event the owner's stream has since `since` (its backlog), read until `until` (now). */
async function backlog(owner: object, filters: Record<string, string[]> = {}, since = 0n): Promise<EventMessage[]> {
  const out: EventMessage[] = [];
  const until = BigInt(Date.now() + 1) * 1_000_000n;
  for await (const m of containerEvents(owner, { since, until, filters, signal: new AbortController().signal })) out.push(m);
  return out;
}

test('event filters as docker applies them: any value of a key, every key', () => {
  assert.ok(matchesFilters(die, {}));
  assert.ok(matchesFilters(die, { event: ['start', 'die'] }));
  assert.ok(!matchesFilters(die, { event: ['start'] }));
  assert.ok(matchesFilters(die, { container: ['web'] }));
  assert.ok(matchesFilters(die, { container: ['abcdef'] }));
  assert.ok(!matchesFilters(die, { container: ['db'] }));
  assert.ok(matchesFilters(die, { type: ['container'], image: ['busybox'] }));
  assert.ok(!matchesFilters(die, { type: ['image'] }));
  assert.ok(matchesFilters(die, { label: ['tier=front'] }));
  assert.ok(matchesFilters(die, { label: ['tier'] }));
  assert.ok(!matchesFilters(die, { label: ['tier=back'] }));
  assert.ok(!matchesFilters(die, { event: ['die'], container: ['db'] }));
  assert.ok(matchesFilters(die, { scope: ['local'] }));
  assert.ok(!matchesFilters(die, { scope: ['swarm'] }));
});

test('names match by prefix, labels all at once, as moby filters.FuzzyMatch and MatchKVList do', () => {
  assert.ok(matchesFilters(die, { container: ['we'] }));
  assert.ok(matchesFilters(die, { label: ['tier=front', 'app=shop'] }));
  assert.ok(!matchesFilters(die, { label: ['tier=front', 'app=cart'] }));
  assert.ok(!matchesFilters(message('volume', 'create', 'v1', {}), { label: ['a'] }));
});

test('the detailed actions match bare, other actions only exactly', () => {
  const exec = message('container', 'exec_start: sh -c true', 'c1', { name: 'web' });
  assert.ok(matchesFilters(exec, { event: ['exec_start'] }));
  assert.ok(matchesFilters(exec, { event: ['exec_start: sh -c true'] }));
  assert.ok(!matchesFilters(exec, { event: ['exec_create'] }));
  const health = message('container', 'health_status: healthy', 'c1', {});
  assert.ok(matchesFilters(health, { event: ['health_status'] }));
  assert.ok(!matchesFilters(message('container', 'exec_die', 'c1', {}), { event: ['exec'] }));
});

test('image filter: the actor ID, the name and both without their tag', () => {
  const tag = message('image', 'tag', `sha256:${'a'.repeat(64)}`, { name: 'myrepo:v1' });
  assert.ok(matchesFilters(tag, { image: ['myrepo:v1'] }));
  assert.ok(matchesFilters(tag, { image: ['myrepo'] }));
  assert.ok(matchesFilters(tag, { image: [`sha256:${'a'.repeat(64)}`] }));
  assert.ok(!matchesFilters(tag, { image: ['other'] }));
  const pull = message('image', 'pull', 'busybox:latest', { name: 'busybox' });
  assert.ok(matchesFilters(pull, { image: ['busybox'] }));
  // a container event matches its image attribute, with or without the tag
  const start = message('container', 'start', 'c1', { image: 'busybox:1.36', name: 'web' });
  assert.ok(matchesFilters(start, { image: ['busybox'] }));
  assert.ok(matchesFilters(start, { image: ['busybox:1.36'] }));
  assert.ok(!matchesFilters(start, { image: ['alpine'] }));
});

test('volume, network and daemon filters match the actor ID or its name by prefix', () => {
  const mount = message('volume', 'mount', 'data', { driver: 'local', container: 'c1' });
  assert.ok(matchesFilters(mount, { volume: ['data'] }));
  assert.ok(matchesFilters(mount, { volume: ['da'] }));
  assert.ok(!matchesFilters(mount, { volume: ['logs'] }));
  const connect = message('network', 'connect', 'f00d'.repeat(16), { name: 'front', type: 'bridge', container: 'c1' });
  assert.ok(matchesFilters(connect, { network: ['front'] }));
  assert.ok(matchesFilters(connect, { network: ['f00d'] }));
  assert.ok(!matchesFilters(connect, { network: ['back'] }));
  assert.ok(matchesFilters(connect, { type: ['network'], event: ['connect'] }));
  assert.ok(!matchesFilters(connect, { daemon: ['x'] }));
  assert.ok(!matchesFilters(connect, { container: ['c1'] }), 'moby matches container= on the actor, not the attribute');
});

test('message shapes: status/id/from only on container events, status/id on image events', () => {
  const owner = {};
  const c = fakeContainer('c'.repeat(64), 'web', 'busybox', { tier: 'front', name: 'label-loses' });
  emitContainerEvent(owner, c, 'kill', { signal: '15', image: 'extra-loses' });
  emitImageEvent(owner, `sha256:${'a'.repeat(64)}`, 'myrepo:v1', 'tag', { maintainer: 'me' });
  emitVolumeEvent(owner, 'data', 'create', { driver: 'local' });
  emitNetworkEvent(owner, { Id: 'n'.repeat(64), Name: 'front' }, 'connect', { container: c.id });
  return backlog(owner).then(([kill, tag, create, connect]) => {
    assert.deepEqual({ ...kill!, time: 0, timeNano: 0n }, {
      status: 'kill',
      id: c.id,
      from: 'busybox',
      Type: 'container',
      Action: 'kill',
      Actor: { ID: c.id, Attributes: { signal: '15', tier: 'front', image: 'busybox', name: 'web' } },
      scope: 'local',
      time: 0,
      timeNano: 0n,
    });
    assert.equal(kill!.time, Number(kill!.timeNano / 1_000_000_000n));
    assert.deepEqual([tag!.status, tag!.id, 'from' in tag!], ['tag', `sha256:${'a'.repeat(64)}`, false]);
    assert.deepEqual(tag!.Actor.Attributes, { maintainer: 'me', name: 'myrepo:v1' });
    assert.deepEqual([create!.Type, 'status' in create!, create!.Actor], ['volume', false, { ID: 'data', Attributes: { driver: 'local' } }]);
    assert.deepEqual(connect!.Actor, { ID: 'n'.repeat(64), Attributes: { container: c.id, name: 'front', type: 'bridge' } });
    assert.ok(kill!.timeNano < tag!.timeNano && tag!.timeNano < create!.timeNano && create!.timeNano < connect!.timeNano);
  });
});

test('mount and unmount events carry moby attributes for volume mount points only', async () => {
  const owner = {};
  const c = fakeContainer('d'.repeat(64), 'db', 'busybox');
  const points = [
    { Type: 'volume', Name: 'data', Destination: '/data', RW: true, Propagation: '' },
    { Type: 'bind', Destination: '/etc/x', RW: false, Propagation: 'rprivate' },
    { Type: 'volume', Name: 'ro', Destination: '/ro', RW: false, Propagation: '' },
  ];
  emitVolumeMounts(owner, c, points, 'mount');
  emitVolumeMounts(owner, c, points, 'unmount');
  const events = (await backlog(owner)).map((m) => [m.Action, m.Actor.ID, m.Actor.Attributes]);
  assert.deepEqual(events, [
    ['mount', 'data', { driver: 'local', container: c.id, destination: '/data', 'read/write': 'true', propagation: '' }],
    ['mount', 'ro', { driver: 'local', container: c.id, destination: '/ro', 'read/write': 'false', propagation: '' }],
    ['unmount', 'data', { driver: 'local', container: c.id }],
    ['unmount', 'ro', { driver: 'local', container: c.id }],
  ]);
});

test('exec actions read as moby writes them', () => {
  assert.equal(execAction('exec_create', ['sh', '-c', 'echo hi']), 'exec_create: sh -c echo hi');
  assert.equal(execAction('exec_start', ['true']), 'exec_start: true ');
});

test('one backlog of 256 per owner; since, until and filters apply to it', async () => {
  const owner = {};
  const other = {};
  for (let i = 0; i < 300; i++) emitVolumeEvent(owner, `v${i}`, 'create', { driver: 'local' });
  emitVolumeEvent(other, 'elsewhere', 'create', { driver: 'local' });
  const all = await backlog(owner);
  assert.equal(all.length, 256);
  assert.equal(all[0]!.Actor.ID, 'v44');
  assert.equal(all.at(-1)!.Actor.ID, 'v299');
  assert.deepEqual((await backlog(owner, {}, all.at(-2)!.timeNano)).map((m) => m.Actor.ID), ['v298', 'v299']);
  // v29 itself fell out of the backlog
  assert.deepEqual((await backlog(owner, { volume: ['v29'] })).map((m) => m.Actor.ID), ['v290', 'v291', 'v292', 'v293', 'v294', 'v295', 'v296', 'v297', 'v298', 'v299']);
  assert.deepEqual((await backlog(other)).map((m) => m.Actor.ID), ['elsewhere']);
});

test('live events reach every subscriber until it leaves; a stream without `since` has no backlog', async () => {
  const owner = {};
  emitVolumeEvent(owner, 'before', 'create', { driver: 'local' });
  const a = new AbortController();
  const b = new AbortController();
  const first = containerEvents(owner, { filters: {}, signal: a.signal });
  const second = containerEvents(owner, { filters: { type: ['network'] }, signal: b.signal });
  const nextA = first.next();
  const nextB = second.next();
  // the generators subscribe on their first next(): let them
  await new Promise((resolve) => setImmediate(resolve));
  emitVolumeEvent(owner, 'live', 'create', { driver: 'local' });
  emitEvent(owner, { type: 'network', action: 'create', actor: { ID: 'n1', Attributes: { name: 'front', type: 'bridge' } } });
  assert.equal((await nextA).value?.Actor.ID, 'live');
  assert.equal((await nextB).value?.Actor.ID, 'n1');
  a.abort();
  b.abort();
  emitVolumeEvent(owner, 'after', 'create', { driver: 'local' });
  assert.equal((await first.next()).done, true);
  assert.equal((await second.next()).done, true);
});

test('until before since is refused before the stream starts', () => {
  assert.throws(() => containerEvents({}, { since: 2_000_000_000n, until: 1_000_000_000n, filters: {}, signal: new AbortController().signal }), /`since` time \(2\.000000000\) cannot be after `until` time \(1\.000000000\)/);
});

test('a prune event has no actor: no deprecated id or from, status only', async () => {
  const owner = {};
  emitEvent(owner, { type: 'container', action: 'prune', actor: { ID: '', Attributes: { reclaimed: '0' } } });
  const [prune] = await backlog(owner);
  assert.deepEqual({ ...prune!, time: 0, timeNano: 0n }, { status: 'prune', Type: 'container', Action: 'prune', Actor: { ID: '', Attributes: { reclaimed: '0' } }, scope: 'local', time: 0, timeNano: 0n });
});
