/**
 * `docker events` (the real docker CLI v28) against a private berthd: a scenario of volume,
 * container, exec, image and network verbs read back with `--since`/`--until` as one stream in
 * Docker's order, with moby's actors and attributes, and the CLI's filters (type, event,
 * container, image, volume, network) applied by the daemon. The network part runs when the
 * daemon can have networking (root and the CNI plugins), on a bridge, prefix and netns dir of
 * its own and a 10.219.x.0/24 subnet; everything is removed afterwards.
 */

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestDaemon } from './helpers.ts';
import { cniPluginsPresent, NetworkTestEnv } from './network-env.ts';

const root = process.getuid?.() === 0;
const networking = root && cniPluginsPresent;
const env = new NetworkTestEnv('ev');
const tag = env.tag;

interface Event {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
  timeNano: number;
}

let d: TestDaemon;
const created = new Set<string>();

async function docker(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Unix seconds with nanoseconds, the form `docker events --since` takes. */
function now(): string {
  return (Date.now() / 1000).toFixed(3);
}

/** The events between two instants through `docker events --format '{{json .}}'`, filters as CLI flags. */
async function eventsBetween(since: string, until: string, ...filters: string[]): Promise<Event[]> {
  const out = await docker('events', '--since', since, '--until', until, '--format', '{{json .}}', ...filters.flatMap((f) => ['--filter', f]));
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Event);
}

/** What a reader of the stream sees of an event: type, action, and the actor by name where it has one. */
function brief(e: Event): string {
  const name = e.Type === 'network' || e.Type === 'container' ? e.Actor.Attributes['name'] : e.Actor.ID;
  return `${e.Type} ${e.Action} ${name}`;
}

describe('docker events', { skip: root ? false : 'needs root' }, () => {
  before(async () => {
    if (networking) await env.record();
    d = await TestDaemon.create();
    await d.start(networking ? env.daemonArgs : undefined);
  });

  after(async () => {
    if (d === undefined) return;
    await d.docker('rm', '-f', `ev1${tag}`, `ev2${tag}`, `ev3${tag}`);
    await d.docker('volume', 'rm', '-f', `evvol${tag}`);
    await d.docker('rmi', `evtest${tag}:v1`);
    if (networking) {
      await d.docker('network', 'rm', `evnet${tag}`);
      await env.restore(d);
    } else {
      await d.removeAllAndCheck(created);
    }
  });

  it('a scenario reads back in Docker order, with moby actors and attributes', async () => {
    const since = now();
    const volume = `evvol${tag}`;
    await docker('volume', 'create', volume);
    const id = (await docker('run', '-d', '--name', `ev1${tag}`, '--label', `suite=events${tag}`, '-v', `${volume}:/data`, 'busybox', 'sleep', '300')).trim();
    created.add(id);
    await docker('pause', id);
    await docker('unpause', id);
    assert.equal((await d.docker('exec', id, 'sh', '-c', 'exit 3')).code, 3);
    await docker('rename', `ev1${tag}`, `ev2${tag}`);
    await docker('kill', id);
    await docker('wait', id);
    await docker('rm', id);
    await docker('volume', 'rm', volume);
    await docker('tag', 'busybox', `evtest${tag}:v1`);
    await docker('rmi', `evtest${tag}:v1`);
    let network = '';
    let other = '';
    const net = `evnet${tag}`;
    if (networking) {
      const third = 16 + (randomBytes(1)[0]! % 200);
      network = (await docker('network', 'create', '--subnet', `10.219.${third}.0/24`, net)).trim();
      other = (await docker('run', '-d', '--name', `ev3${tag}`, 'busybox', 'sleep', '300')).trim();
      created.add(other);
      await docker('network', 'connect', net, other);
      await docker('network', 'disconnect', net, other);
      await docker('rm', '-f', other);
      await docker('network', 'rm', net);
    }
    // --until is whole seconds in the CLI: past the last event's second
    await sleep(1100);
    const until = String(Math.ceil(Date.now() / 1000));
    const events = await eventsBetween(since, until);
    const ev1 = `ev1${tag}`;
    const ev2 = `ev2${tag}`;
    const bridgeConnect = networking ? ['network connect bridge'] : [];
    const bridgeDisconnect = networking ? ['network disconnect bridge'] : [];
    const expected = [
      `volume create ${volume}`,
      // moby's VolumesService.Create logs every create, a container's reference to an existing volume too
      `volume create ${volume}`,
      `container create ${ev1}`,
      ...bridgeConnect,
      `volume mount ${volume}`,
      `container start ${ev1}`,
      `container pause ${ev1}`,
      `container unpause ${ev1}`,
      `container exec_create: sh -c exit 3 ${ev1}`,
      `container exec_start: sh -c exit 3 ${ev1}`,
      `container exec_die ${ev1}`,
      `container rename ${ev2}`,
      `container kill ${ev2}`,
      ...bridgeDisconnect,
      `volume unmount ${volume}`,
      `container die ${ev2}`,
      `container destroy ${ev2}`,
      `volume destroy ${volume}`,
    ];
    const imageEvents = events.filter((e) => e.Type === 'image').map((e) => e.Action);
    assert.deepEqual(imageEvents, ['tag', 'untag']);
    const ours = events.filter((e) => e.Type !== 'image' && (e.Actor.ID === id || e.Actor.Attributes['container'] === id || e.Actor.ID === volume));
    assert.deepEqual(ours.map(brief), expected, JSON.stringify(events, null, 1));

    // the attributes moby gives each
    const find = (type: string, action: string, from: Event[] = events): Event => {
      const found = from.find((e) => e.Type === type && e.Action === action);
      assert.ok(found, `no ${type} ${action} event`);
      return found;
    };
    const create = find('container', 'create');
    assert.deepEqual([create.status, create.id, create.from, create.scope], ['create', id, 'busybox', 'local']);
    // the container's labels (the image's merged in, as Docker does), then image and name
    const imageLabels = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config.Labels}}', 'busybox')) as Record<string, string> | null;
    assert.deepEqual(create.Actor.Attributes, { ...imageLabels, suite: `events${tag}`, image: 'busybox', name: ev1 });
    assert.equal(create.time, Math.floor(create.timeNano / 1e9));
    assert.deepEqual(find('volume', 'create').Actor.Attributes, { driver: 'local' });
    assert.equal(find('volume', 'create').status, undefined, 'no deprecated fields on volume events');
    assert.deepEqual(find('volume', 'mount').Actor.Attributes, { driver: 'local', container: id, destination: '/data', 'read/write': 'true', propagation: '' });
    assert.deepEqual(find('volume', 'unmount').Actor.Attributes, { driver: 'local', container: id });
    const execCreate = find('container', 'exec_create: sh -c exit 3');
    const execID = execCreate.Actor.Attributes['execID'];
    assert.match(execID ?? '', /^[0-9a-f]{64}$/);
    assert.equal(find('container', 'exec_start: sh -c exit 3').Actor.Attributes['execID'], execID);
    const execDie = find('container', 'exec_die');
    assert.deepEqual([execDie.Actor.Attributes['execID'], execDie.Actor.Attributes['exitCode']], [execID, '3']);
    assert.equal(find('container', 'rename').Actor.Attributes['oldName'], `/${ev1}`);
    assert.equal(find('container', 'kill').Actor.Attributes['signal'], '9');
    const die = find('container', 'die');
    assert.equal(die.Actor.Attributes['exitCode'], '137');
    assert.match(die.Actor.Attributes['execDuration'] ?? '', /^\d+$/);
    const tagged = find('image', 'tag');
    assert.deepEqual(tagged.Actor.Attributes, { ...imageLabels, name: `evtest${tag}:v1` });
    assert.match(tagged.Actor.ID, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual([tagged.status, tagged.id], ['tag', tagged.Actor.ID]);
    // the image keeps its other name: its labels are still there to copy
    assert.deepEqual(find('image', 'untag').Actor, { ID: tagged.Actor.ID, Attributes: { ...imageLabels, name: tagged.Actor.ID } });

    if (networking) {
      const networkEvents = events.filter((e) => e.Type === 'network' && e.Actor.ID === network);
      assert.deepEqual(
        networkEvents.map((e) => [e.Action, e.Actor.Attributes]),
        [
          ['create', { name: net, type: 'bridge' }],
          ['connect', { container: other, name: net, type: 'bridge' }],
          ['disconnect', { container: other, name: net, type: 'bridge' }],
          ['destroy', { name: net, type: 'bridge' }],
        ],
      );
      const third = events.filter((e) => e.Actor.ID === other || e.Actor.Attributes['container'] === other).map(brief);
      assert.deepEqual(third, [
        `container create ev3${tag}`,
        'network connect bridge',
        `container start ev3${tag}`,
        `network connect ${net}`,
        `network disconnect ${net}`,
        `container kill ev3${tag}`,
        'network disconnect bridge',
        `container die ev3${tag}`,
        `container destroy ev3${tag}`,
      ]);
    }

    // the daemon applies the CLI's filters
    const actions = async (...filters: string[]): Promise<string[]> => (await eventsBetween(since, until, ...filters)).map((e) => `${e.Type} ${e.Action}`);
    assert.deepEqual(await actions('type=volume'), ['volume create', 'volume create', 'volume mount', 'volume unmount', 'volume destroy']);
    assert.deepEqual(await actions('type=image'), ['image tag', 'image untag']);
    assert.deepEqual(await actions('image=evtest' + tag), ['image tag']);
    assert.deepEqual(await actions('event=exec_start'), ['container exec_start: sh -c exit 3']);
    assert.deepEqual(await actions('event=kill', 'event=pause'), networking ? ['container pause', 'container kill', 'container kill'] : ['container pause', 'container kill']);
    assert.deepEqual(await actions(`volume=${volume}`), ['volume create', 'volume create', 'volume mount', 'volume unmount', 'volume destroy']);
    assert.deepEqual(await actions(`container=${id.slice(0, 12)}`, 'event=die'), ['container die']);
    assert.deepEqual(await actions(`label=suite=events${tag}`, 'type=container', 'event=rename'), ['container rename']);
    if (networking) assert.deepEqual(await actions(`network=${net}`), ['network create', 'network connect', 'network disconnect', 'network destroy']);
  });

  it('stop, restart, top, cp, export, commit, save and load log what moby logs', async () => {
    const since = now();
    const name = `ev4${tag}`;
    const id = (await docker('run', '-d', '--name', name, 'busybox', 'sleep', '300')).trim();
    created.add(id);
    await docker('stop', '-t', '1', id);
    await docker('start', id);
    await docker('restart', '-t', '1', id);
    await docker('top', id);
    await docker('cp', `${id}:/etc/hostname`, `${d.dir}/hostname`);
    await docker('cp', `${d.dir}/hostname`, `${id}:/tmp/`);
    await docker('export', '-o', `${d.dir}/export.tar`, id);
    const imageId = (await docker('commit', '-m', 'snap', id, `evcommit${tag}:v2`)).trim();
    await docker('save', '-o', `${d.dir}/save.tar`, `evcommit${tag}:v2`);
    await docker('rmi', '-f', `evcommit${tag}:v2`);
    await docker('load', '-i', `${d.dir}/save.tar`);
    await docker('rmi', `evcommit${tag}:v2`);
    await docker('rm', '-f', id);
    await sleep(1100);
    const until = String(Math.ceil(Date.now() / 1000));
    const events = await eventsBetween(since, until, `container=${id}`);
    const actions = events.map((e) => (e.Action === 'kill' ? `kill ${e.Actor.Attributes['signal']}` : e.Action));
    // sleep as PID 1 ignores SIGTERM: stop and restart end it with SIGKILL after the timeout
    assert.deepEqual(actions, [
      'create',
      'start',
      'kill 15',
      'kill 9',
      'die',
      'stop',
      'start',
      'kill 15',
      'kill 9',
      'die',
      'stop',
      'start',
      'restart',
      'top',
      'archive-path',
      'extract-to-dir',
      'export',
      'pause',
      'commit',
      'unpause',
      'kill 9',
      'die',
      'destroy',
    ]);
    const commit = events.find((e) => e.Action === 'commit')!;
    assert.deepEqual([commit.Actor.Attributes['comment'], commit.Actor.Attributes['imageID'], commit.Actor.Attributes['imageRef']], ['snap', imageId, `evcommit${tag}:v2`]);
    const images = (await eventsBetween(since, until, 'type=image')).map((e) => [e.Action, e.Actor.ID === imageId ? 'ID' : e.Actor.ID, e.Actor.Attributes['name'] === imageId ? 'ID' : e.Actor.Attributes['name']]);
    assert.deepEqual(images, [
      ['tag', 'ID', `evcommit${tag}:v2`],
      ['save', 'ID', 'ID'],
      ['untag', 'ID', 'ID'],
      ['delete', 'ID', 'ID'],
      ['load', 'ID', 'ID'],
      ['untag', 'ID', 'ID'],
      ['delete', 'ID', 'ID'],
    ]);
  });

  it('prunes log each removal, then a prune event with what was reclaimed', async () => {
    const since = now();
    const volume = `evprune${tag}`;
    await docker('volume', 'create', volume);
    const id = (await docker('run', '-d', '--name', `ev5${tag}`, 'busybox', 'true')).trim();
    created.add(id);
    await docker('wait', id);
    await docker('container', 'prune', '-f');
    const pruned = await docker('volume', 'prune', '-af');
    await sleep(1100);
    const until = String(Math.ceil(Date.now() / 1000));
    const events = (await eventsBetween(since, until, 'event=destroy', 'event=prune')).map((e) => [e.Type, e.Action, e.Actor.ID, e.Actor.Attributes['reclaimed'] ?? '']);
    assert.deepEqual(events, [
      ['container', 'destroy', id, ''],
      ['container', 'prune', '', '0'],
      ['volume', 'destroy', volume, ''],
      ['volume', 'prune', '', events[3]?.[3] ?? ''],
    ]);
    // the bytes the volume prune reports reclaiming (the CLI prints them rounded)
    assert.match(events[3]?.[3] ?? '', /^\d+$/);
    assert.match(pruned, /Total reclaimed space: /);
  });

  it('filters with a key docker does not know are ignored, as moby does; until before since is a 400', async () => {
    const until = Math.floor(Date.now() / 1000);
    const unknown = await d.api('GET', `/events?until=${until}&filters=${encodeURIComponent(JSON.stringify({ foo: { bar: true } }))}`);
    assert.equal(unknown.status, 200);
    const backwards = await d.api('GET', `/events?since=${until}&until=${until - 10}`);
    assert.equal(backwards.status, 400);
    assert.match(backwards.body, /cannot be after `until` time/);
  });
});
