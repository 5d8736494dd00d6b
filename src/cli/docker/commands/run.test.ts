import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../args.ts';
import { createBody, parsePublish, ramInBytes } from './container-opts.ts';
import { withDefaultTag } from './run.ts';
import { detachSequence } from './streams.ts';

test('sizes are binary multiples as go-units reads them', () => {
  assert.equal(ramInBytes('512m'), 512 * 1024 * 1024);
  assert.equal(ramInBytes('1g'), 1024 ** 3);
  assert.equal(ramInBytes('100'), 100);
  assert.throws(() => ramInBytes('lots'), /invalid size/);
});

test('-p forms give docker\'s port keys and bindings', () => {
  assert.deepEqual(parsePublish('8080:80'), { port: '80/tcp', binding: { HostIp: '', HostPort: '8080' } });
  assert.deepEqual(parsePublish('127.0.0.1:53:53/udp'), { port: '53/udp', binding: { HostIp: '127.0.0.1', HostPort: '53' } });
  assert.deepEqual(parsePublish('80'), { port: '80/tcp', binding: { HostIp: '', HostPort: '' } });
  assert.throws(() => parsePublish('x:80'), /invalid port format/);
});

test('run flags become Config and HostConfig as docker sends them', () => {
  const { flags } = parseArgs(
    ['-d', '--rm', '-e', 'A=1', '-v', '/src:/dst:ro', '-v', '/anon', '-p', '8080:80', '--memory', '64m', '--cpus', '1.5', '--pids-limit', '20', '--cap-drop', 'ALL', '--tmpfs', '/run:size=1m', '--label', 'k=v', '--init', '--restart', 'on-failure:3', '--entrypoint', '/bin/sh'],
    {
      detach: { type: 'bool', short: 'd' }, rm: { type: 'bool' }, env: { type: 'list', short: 'e' }, volume: { type: 'list', short: 'v' }, publish: { type: 'list', short: 'p' },
      memory: { type: 'string' }, cpus: { type: 'string' }, 'pids-limit': { type: 'string' }, 'cap-drop': { type: 'list' }, tmpfs: { type: 'list' }, label: { type: 'list' },
      init: { type: 'bool' }, restart: { type: 'string' }, entrypoint: { type: 'string' },
    },
  );
  const body = createBody(flags, 'busybox', ['-c', 'true']);
  const host = body['HostConfig'] as Record<string, unknown>;
  assert.deepEqual(body['Cmd'], ['-c', 'true']);
  assert.deepEqual(body['Entrypoint'], ['/bin/sh']);
  assert.deepEqual(body['Env'], ['A=1']);
  assert.deepEqual(body['Labels'], { k: 'v' });
  assert.deepEqual(body['Volumes'], { '/anon': {} });
  assert.deepEqual(body['ExposedPorts'], { '80/tcp': {} });
  assert.equal(body['AttachStdout'], false);
  assert.deepEqual(host['Binds'], ['/src:/dst:ro']);
  assert.deepEqual(host['PortBindings'], { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.equal(host['Memory'], 64 * 1024 * 1024);
  assert.equal(host['NanoCpus'], 1.5e9);
  assert.equal(host['PidsLimit'], 20);
  assert.deepEqual(host['CapDrop'], ['ALL']);
  assert.deepEqual(host['Tmpfs'], { '/run': 'size=1m' });
  assert.equal(host['AutoRemove'], true);
  assert.equal(host['Init'], true);
  assert.deepEqual(host['RestartPolicy'], { Name: 'on-failure', MaximumRetryCount: 3 });
});

test('images without a tag are named with :latest', () => {
  assert.equal(withDefaultTag('busybox'), 'busybox:latest');
  assert.equal(withDefaultTag('localhost:5000/a/b'), 'localhost:5000/a/b:latest');
  assert.equal(withDefaultTag('a/b:v1'), 'a/b:v1');
  assert.equal(withDefaultTag('a@sha256:00'), 'a@sha256:00');
});

test('detach keys in docker\'s syntax', () => {
  assert.deepEqual(detachSequence('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(detachSequence('ctrl-@,a,ctrl-['), [0, 97, 27]);
  assert.throws(() => detachSequence('shift-x'), /invalid detach keys/);
});
