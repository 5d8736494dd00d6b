import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { dockerPorts, mappingsFromDocker, parsePublish, PortRegistry, probeHostPort } from './ports.ts';

test('parsePublish reads docker -p forms', () => {
  assert.deepEqual(parsePublish('8080:80'), [{ hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(parsePublish('127.0.0.1:53:53/udp'), [{ hostIP: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' }]);
  assert.deepEqual(parsePublish('80'), [{ hostIP: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(parsePublish('[::1]:8080:80'), [{ hostIP: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
  assert.deepEqual(
    parsePublish('9000-9001:80-81').map((m) => [m.hostPort, m.containerPort]),
    [[9000, 80], [9001, 81]],
  );
  assert.throws(() => parsePublish('9000-9002:80-81'), /differ in length/);
  assert.throws(() => parsePublish('70000:80'), /invalid host port/);
  assert.throws(() => parsePublish('80/icmp'), /unknown protocol/);
  assert.throws(() => parsePublish('8080:0'), /invalid container port/);
});

test('the registry refuses a host port another container holds, per protocol and address', () => {
  const registry = new PortRegistry();
  registry.reserve('a', parsePublish('8080:80'));
  assert.throws(() => registry.reserve('b', parsePublish('8080:81')), /0\.0\.0\.0:8080\/tcp: port is already allocated to container a/);
  assert.throws(() => registry.reserve('b', parsePublish('127.0.0.1:8080:81')), /already allocated/);
  registry.reserve('b', parsePublish('8080:80/udp'));
  assert.throws(() => registry.reserve('c', [...parsePublish('7000:1'), ...parsePublish('7000:2')]), /requested twice/);
  registry.reserve('c', parsePublish('127.0.0.1:9000:1'));
  registry.reserve('d', parsePublish('127.0.0.2:9000:1'));
  registry.release('a');
  registry.reserve('b', parsePublish('8080:80'));
  assert.equal(registry.held('b').length, 2);
});

test('probeHostPort sees a host listener and picks a free port for 0', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    await assert.rejects(probeHostPort({ hostIP: '127.0.0.1', hostPort: port, containerPort: 80, protocol: 'tcp' }), /address already in use/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  assert.equal(await probeHostPort({ hostIP: '127.0.0.1', hostPort: port, containerPort: 80, protocol: 'tcp' }), port);
  const free = await probeHostPort({ hostPort: 0, containerPort: 80, protocol: 'tcp' });
  assert.ok(free > 0);
  assert.ok((await probeHostPort({ hostIP: '127.0.0.1', hostPort: 0, containerPort: 53, protocol: 'udp' })) > 0);
  await assert.rejects(probeHostPort({ hostIP: '198.51.100.7', hostPort: 0, containerPort: 80, protocol: 'tcp' }), /not an address of this host/);
});

test('Docker port bindings and -P become mappings; inspect shows them back', () => {
  const mappings = mappingsFromDocker(
    { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '' }], '53/udp': [{ HostPort: '5300-5310' }] },
    { '80/tcp': {}, '443/tcp': {} },
    true,
  );
  assert.deepEqual(mappings, [
    { hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
    { hostIP: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' },
    { hostIP: '', hostPort: 5300, hostPortEnd: 5310, containerPort: 53, protocol: 'udp' },
    { hostIP: '', hostPort: 0, containerPort: 443, protocol: 'tcp' },
  ]);
  assert.throws(() => mappingsFromDocker({ '80/icmp': [] }, undefined, false), /unknown protocol/);
  assert.deepEqual(dockerPorts([{ hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }], { '80/tcp': {}, '9000': {} }), {
    '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }],
    '9000/tcp': null,
  });
});
