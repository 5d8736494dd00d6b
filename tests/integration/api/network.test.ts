/**
 * Container networking through the real docker CLI (v28) against berthd: published ports serve
 * HTTP from busybox httpd via 127.0.0.1, port conflicts get Docker's error, inspect and ps show
 * NetworkSettings and PORTS as Docker does, `none`, `host` and `container:` modes, the
 * `docker network` verbs, names resolved by the embedded DNS server on user networks (and not
 * across networks), and 50 run/rm cycles that leave no veth, netns, lease or rule behind.
 * Traffic goes only to 127.0.0.1 and to containers these tests made. Runs as root with its own
 * bridge, CNI prefix and netns directory, and removes them in `after`.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { run } from '../../../src/network/exec.ts';
import { leaseDir, scopedCounts } from '../network/helpers.ts';
import type { LeakScope } from '../network/helpers.ts';
import { TestDaemon } from './helpers.ts';
import { cniPluginsPresent, NetworkTestEnv } from './network-env.ts';

const root = process.getuid?.() === 0;
const skip = !root ? 'needs root' : !cniPluginsPresent ? 'needs containernetworking-plugins' : false;

const env = new NetworkTestEnv('ba');
const { tag, cniPrefix, netnsDir } = env;
const daemonArgs = env.daemonArgs;
const HTTPD = 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www';

let d: TestDaemon;

function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Retries while httpd is still starting. */
async function getWhenUp(port: number): Promise<{ status: number; body: string }> {
  for (let i = 0; ; i++) {
    try {
      return await get(port);
    } catch (err) {
      if (i > 30) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function docker(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * What a short-lived container printed, read from its log after it exited: `run --rm` can lose
 * the tail of a fast container's output in the attach path, which is not what these tests are about.
 */
async function output(...args: string[]): Promise<string> {
  const id = (await docker('run', '-d', ...args)).trim();
  try {
    assert.equal((await docker('wait', id)).trim(), '0', await d.docker('logs', id).then((r) => r.stdout + r.stderr));
    return await docker('logs', id);
  } finally {
    await d.docker('rm', '-f', id);
  }
}

async function inspect(ref: string): Promise<Record<string, any>> {
  return (JSON.parse(await docker('inspect', ref)) as Array<Record<string, any>>)[0]!;
}

/** This daemon's networks: what its containers could leak, whatever other sessions do on the host. */
async function ourScope(): Promise<LeakScope> {
  const names = (await docker('network', 'ls', '--filter', 'driver=bridge', '--format', '{{.Name}}')).trim().split('\n').filter(Boolean);
  const networks = await Promise.all(names.map(async (n) => (JSON.parse(await docker('network', 'inspect', n)) as Array<Record<string, any>>)[0]!));
  return {
    bridges: networks.map((n) => (n.Options?.['com.docker.network.bridge.name'] as string | undefined) ?? `br-${(n.Id as string).slice(0, 12)}`),
    netnsDir,
    cniPrefix,
    subnets: networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c: { Subnet: string }) => c.Subnet)),
    leaseDirs: names.map((n) => leaseDir(`${cniPrefix}${n}`)),
  };
}

function noMoreThan(now: string, want: string): boolean {
  const a = JSON.parse(now) as Record<string, number>;
  const b = JSON.parse(want) as Record<string, number>;
  return Object.keys(b).every((k) => (a[k] ?? 0) <= (b[k] ?? 0));
}

/** Counts once the warm pool has settled (it refills in the background). */
async function settledCounts(scope: LeakScope, want?: string): Promise<string> {
  // Settled = the same counts three readings in a row (teardowns finish in the background).
  // With `want`, done once no count is above it: a leak only ever adds, and the baseline may still
  // have held an earlier test's container whose teardown finished since.
  let last = '';
  let same = 0;
  for (let i = 0; i < 100; i++) {
    const now = JSON.stringify(await scopedCounts(scope));
    if (want !== undefined && noMoreThan(now, want)) return want;
    same = now === last ? same + 1 : 0;
    if (want === undefined && same >= 2) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

describe('docker networking against berthd', { skip, concurrency: false }, () => {
  before(async () => {
    await env.record();
    d = await TestDaemon.create();
    await d.start(daemonArgs);
  });

  after(async () => {
    if (d !== undefined) await env.restore(d);
  });

  it('a published port serves HTTP from busybox httpd via 127.0.0.1; inspect and ps show it', async () => {
    const id = (await docker('run', '-d', '--name', 'web', '-p', '127.0.0.1:0:80', 'busybox', 'sh', '-c', HTTPD)).trim();
    const info = await inspect('web');
    assert.equal(info.HostConfig.NetworkMode, 'bridge');
    const binding = info.NetworkSettings.Ports['80/tcp'][0];
    assert.equal(binding.HostIp, '127.0.0.1');
    const port = Number(binding.HostPort);
    assert.ok(port > 0);
    const ns = info.NetworkSettings;
    assert.match(ns.IPAddress, /^\d+\.\d+\.\d+\.\d+$/);
    assert.match(ns.Gateway, /^\d+\.\d+\.\d+\.\d+$/);
    assert.match(ns.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.equal(ns.Networks.bridge.IPAddress, ns.IPAddress);
    assert.ok(ns.Networks.bridge.NetworkID.length === 64);
    const page = await getWhenUp(port);
    assert.equal(page.status, 200);
    assert.equal(page.body, `hello from ${id.slice(0, 12)}\n`);
    const ps = await docker('ps', '--filter', 'name=web', '--format', '{{.Ports}}');
    assert.equal(ps.trim(), `127.0.0.1:${port}->80/tcp`);
    assert.equal((await docker('port', 'web')).trim(), `80/tcp -> 127.0.0.1:${port}`);
    // /etc/hosts names the container's address
    const hosts = (await readFile(info.HostsPath, 'utf8')).split('\n');
    assert.ok(hosts.includes(`${ns.IPAddress}\t${id.slice(0, 12)}`), hosts.join('\n'));
    await docker('rm', '-f', 'web');
    await assert.rejects(get(port));
  });

  it('a fixed host port taken by another container is refused with Docker\'s error', async () => {
    const port = await freePort();
    await docker('run', '-d', '--name', 'first', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sh', '-c', HTTPD);
    const second = await d.docker('run', '-d', '--name', 'second', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '30');
    assert.notEqual(second.code, 0);
    assert.match(second.stderr, new RegExp(`driver failed programming external connectivity on endpoint second \\([0-9a-f]{64}\\): Bind for 127\\.0\\.0\\.1:${port} failed: port is already allocated`));
    assert.equal((await getWhenUp(port)).status, 200);
    await docker('rm', '-f', 'first', 'second');
  });

  it('-P publishes the exposed ports on free host ports', async () => {
    await docker('run', '-d', '--name', 'pub', '--expose', '80', '-P', 'busybox', 'sh', '-c', HTTPD);
    const binding = (await inspect('pub')).NetworkSettings.Ports['80/tcp'][0];
    assert.equal(binding.HostIp, '0.0.0.0');
    assert.equal((await getWhenUp(Number(binding.HostPort))).status, 200);
    assert.match(await docker('ps', '--filter', 'name=pub', '--format', '{{.Ports}}'), new RegExp(`^0\\.0\\.0\\.0:${binding.HostPort}->80/tcp`));
    await docker('rm', '-f', 'pub');
    // a range: each container port on its own host port of the range
    const low = await freePort();
    const range = await d.docker('run', '-d', '--name', 'ranged', '-p', `127.0.0.1:${low}-${low + 1}:80-81`, 'busybox', 'sleep', '30');
    if (range.code === 0) {
      const ports = (await inspect('ranged')).NetworkSettings.Ports;
      assert.deepEqual([ports['80/tcp'][0].HostPort, ports['81/tcp'][0].HostPort], [String(low), String(low + 1)]);
    } else {
      // the neighbour of a free port may be taken by a host process: that must be the error
      assert.match(range.stderr, /port is already allocated/);
    }
    await d.docker('rm', '-f', 'ranged');
  });

  it('--network none has only lo; --network host is the host\'s namespace', async () => {
    const none = await output('--network', 'none', 'busybox', 'sh', '-c', 'ls /sys/class/net');
    assert.deepEqual(none.trim().split(/\s+/), ['lo']);
    const host = await output('--network', 'host', 'busybox', 'readlink', '/proc/self/ns/net');
    assert.equal(host.trim(), readlinkSync('/proc/self/ns/net'));
    const bridged = await output('busybox', 'sh', '-c', 'ls /sys/class/net');
    assert.deepEqual(bridged.trim().split(/\s+/).sort(), ['eth0', 'lo']);
  });

  it('stats count the traffic of the container\'s own interfaces, not loopback, and none with --network host', async () => {
    await docker('run', '-d', '--name', 'talker', 'busybox', 'sleep', '60');
    const gateway = (await inspect('talker')).NetworkSettings.Gateway as string;
    await docker('exec', 'talker', 'ping', '-c', '3', '-W', '1', gateway);
    const stats = JSON.parse((await d.api('GET', '/v1.51/containers/talker/stats?stream=false&one-shot=true')).body) as { networks?: Record<string, { rx_bytes: number; tx_packets: number }> };
    assert.deepEqual(Object.keys(stats.networks ?? {}), ['eth0']);
    assert.ok(stats.networks!['eth0']!.tx_packets >= 3 && stats.networks!['eth0']!.rx_bytes > 0, JSON.stringify(stats.networks));
    assert.doesNotMatch(await docker('stats', '--no-stream', '--format', '{{.NetIO}}', 'talker'), /^0B \/ 0B/);
    await docker('rm', '-f', 'talker');
    await docker('run', '-d', '--name', 'hostnet', '--network', 'host', 'busybox', 'sleep', '60');
    const host = JSON.parse((await d.api('GET', '/v1.51/containers/hostnet/stats?stream=false&one-shot=true')).body) as { networks?: unknown };
    assert.equal(host.networks, undefined);
    await docker('rm', '-f', 'hostnet');
  });

  it('docker network ls and inspect show the predefined host and none networks with their containers', async () => {
    const ls = (await docker('network', 'ls', '--format', '{{.Name}} {{.Driver}}')).trim().split('\n');
    assert.ok(ls.includes('host host') && ls.includes('none null') && ls.includes('bridge bridge'), ls.join('; '));
    assert.deepEqual((await docker('network', 'ls', '--filter', 'type=custom', '--filter', 'name=none', '--format', '{{.Name}}')).trim(), '');
    const id = (await docker('run', '-d', '--network', 'none', '--name', 'nonenet', 'busybox', 'sleep', '60')).trim();
    const none = (JSON.parse(await docker('network', 'inspect', 'none')) as Array<Record<string, any>>)[0]!;
    assert.equal(none.Driver, 'null');
    assert.equal(none.Containers[id].Name, 'nonenet');
    assert.equal((await inspect(none.Id as string)).Name, 'none');
    const rm = await d.docker('network', 'rm', 'none');
    assert.match(rm.stderr, /none is a pre-defined network and cannot be removed/);
    const connect = await d.docker('network', 'connect', 'host', 'nonenet');
    assert.notEqual(connect.code, 0);
    await docker('rm', '-f', 'nonenet');
  });

  it('container: mode shares the other container\'s localhost', async () => {
    await docker('run', '-d', '--name', 'owner', 'busybox', 'sh', '-c', 'mkdir -p /www && echo shared > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www');
    const page = await output('--network', 'container:owner', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1:8080/ && exit 0; sleep 0.2; done; exit 1');
    assert.equal(page, 'shared\n');
    const ownerPid = (await inspect('owner')).State.Pid as number;
    assert.equal((await output('--network', 'container:owner', 'busybox', 'readlink', '/proc/self/ns/net')).trim(), readlinkSync(`/proc/${ownerPid}/ns/net`));
    await docker('rm', '-f', 'owner');
  });

  it('docker network create, ls, inspect, connect, disconnect, rm and prune', async () => {
    const third = 16 + (randomBytes(1)[0]! % 200);
    const subnet = `10.213.${third}.0/24`;
    const gateway = `10.213.${third}.254`;
    const id = (await docker('network', 'create', '--subnet', subnet, '--gateway', gateway, '--label', `t=${tag}`, `n1${tag}`)).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    await docker('network', 'create', '--internal', `n2${tag}`);
    const ls = await docker('network', 'ls');
    assert.match(ls, /NETWORK ID\s+NAME\s+DRIVER\s+SCOPE/);
    assert.match(ls, new RegExp(`${id.slice(0, 12)}\\s+n1${tag}\\s+bridge\\s+local`));
    assert.match(ls, /\sbridge\s+bridge\s+local/);
    const net = (JSON.parse(await docker('network', 'inspect', `n1${tag}`)) as Array<Record<string, any>>)[0]!;
    assert.equal(net.Id, id);
    assert.deepEqual(net.IPAM.Config, [{ Subnet: subnet, Gateway: gateway }]);
    assert.deepEqual(net.Labels, { t: tag });
    assert.equal((await inspect(`n2${tag}`)).Internal, true);
    const dup = await d.docker('network', 'create', `n1${tag}`);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already exists/);

    await docker('run', '-d', '--name', 'joiner', 'busybox', 'sleep', '60');
    const ip = `10.213.${third}.77`;
    await docker('network', 'connect', '--alias', 'jj', '--ip', ip, `n1${tag}`, 'joiner');
    const joined = await inspect('joiner');
    assert.equal(joined.NetworkSettings.Networks[`n1${tag}`].IPAddress, ip);
    assert.deepEqual(joined.NetworkSettings.Networks[`n1${tag}`].Aliases, ['jj']);
    const { stdout } = await run('nsenter', ['-t', String(joined.State.Pid), '-n', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth1']);
    assert.match(stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
    const members = (JSON.parse(await docker('network', 'inspect', `n1${tag}`)) as Array<Record<string, any>>)[0]!.Containers;
    assert.equal(members[joined.Id].Name, 'joiner');
    assert.equal(members[joined.Id].IPv4Address, `${ip}/24`);
    const busy = await d.docker('network', 'rm', `n1${tag}`);
    assert.notEqual(busy.code, 0);
    const fixed = `10.213.${third}.50`;
    await docker('run', '-d', '--name', 'fixed', '--network', `n1${tag}`, '--ip', fixed, 'busybox', 'sleep', '60');
    assert.equal((await inspect('fixed')).NetworkSettings.Networks[`n1${tag}`].IPAddress, fixed);
    assert.equal((await inspect('fixed')).NetworkSettings.Networks[`n1${tag}`].IPAMConfig.IPv4Address, fixed);
    await docker('rm', '-f', 'fixed');
    await docker('network', 'disconnect', `n1${tag}`, 'joiner');
    assert.equal((await inspect('joiner')).NetworkSettings.Networks[`n1${tag}`], undefined);
    await docker('rm', '-f', 'joiner');

    assert.equal((await docker('network', 'rm', `n1${tag}`)).trim(), `n1${tag}`);
    const pruned = await docker('network', 'prune', '-f');
    assert.match(pruned, new RegExp(`n2${tag}`));
    assert.doesNotMatch(await docker('network', 'ls'), new RegExp(`n[12]${tag}`));
    const missing = await d.docker('network', 'inspect', `n1${tag}`);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, new RegExp(`network n1${tag} not found`));
    const unknown = await d.docker('run', '--rm', '--network', `nope${tag}`, 'busybox', 'true');
    assert.match(unknown.stderr, new RegExp(`network nope${tag} not found`));
  });

  it('containers on a user network reach each other by name and alias; other networks do not resolve', async () => {
    await docker('network', 'create', `dns${tag}`);
    await docker('network', 'create', `other${tag}`);
    await docker('run', '-d', '--name', `alpha${tag}`, '--network', `dns${tag}`, '--network-alias', `web${tag}`, 'busybox', 'sh', '-c', HTTPD);
    await docker('run', '-d', '--name', `gamma${tag}`, '--network', `other${tag}`, 'busybox', 'sleep', '60');
    const script = [
      `ping -c1 -W2 alpha${tag} >/dev/null && echo ping-ok`,
      `for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web${tag}/ && break; sleep 0.2; done`,
      `(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 1) | nc alpha${tag} 80 | head -1`,
      `nslookup gamma${tag} >/dev/null 2>&1 && echo gamma-resolved || echo gamma-unknown`,
      'grep nameserver /etc/resolv.conf',
    ].join('; ');
    const out = (await output('--network', `dns${tag}`, 'busybox', 'sh', '-c', script)).split('\n');
    const alpha = await inspect(`alpha${tag}`);
    const net = alpha.NetworkSettings.Networks[`dns${tag}`];
    assert.equal(out[0], 'ping-ok', out.join('\n'));
    assert.equal(out[1], `hello from ${alpha.Id.slice(0, 12)}`);
    assert.match(out[2]!, /^HTTP\/1\.[01] 200/);
    assert.equal(out[3], 'gamma-unknown');
    assert.equal(out[4], `nameserver ${net.Gateway}`);
    assert.deepEqual(net.DNSNames, [`alpha${tag}`, alpha.Id.slice(0, 12), `web${tag}`]);
    // the default bridge does not resolve names, as in Docker
    const plain = await output('busybox', 'sh', '-c', `nslookup alpha${tag} >/dev/null 2>&1 && echo resolved || echo unknown`);
    assert.equal(plain.trim(), 'unknown');
    await docker('rm', '-f', `alpha${tag}`, `gamma${tag}`);
    await docker('network', 'rm', `dns${tag}`, `other${tag}`);
  });

  it('network connect of a running container: it resolves names on the new network (resolv.conf and hosts rewritten), and disconnect undoes it', async () => {
    await docker('network', 'create', `cn1${tag}`);
    await docker('network', 'create', `cn2${tag}`);
    await docker('run', '-d', '--name', `peer${tag}`, '--network', `cn1${tag}`, '--network-alias', `svc${tag}`, 'busybox', 'sleep', '60');
    await docker('run', '-d', '--name', `far${tag}`, '--network', `cn2${tag}`, 'busybox', 'sleep', '60');
    // Started on the default bridge: no embedded DNS, the host's resolvers.
    await docker('run', '-d', '--name', `late${tag}`, 'busybox', 'sleep', '60');
    const lookup = (name: string): Promise<string> =>
      docker('exec', `late${tag}`, 'sh', '-c', `nslookup ${name} >/dev/null 2>&1 && ping -c1 -W2 ${name} >/dev/null 2>&1 && echo reached || echo unknown`).then((s) => s.trim());
    try {
      assert.equal(await lookup(`peer${tag}`), 'unknown', 'not resolvable from the default bridge');
      await docker('network', 'connect', `cn1${tag}`, `late${tag}`);
      const late = await inspect(`late${tag}`);
      const cn1 = late.NetworkSettings.Networks[`cn1${tag}`];
      assert.equal((await docker('exec', `late${tag}`, 'grep', '^nameserver', '/etc/resolv.conf')).trim(), `nameserver ${cn1.Gateway}`);
      const hostsLines = (await docker('exec', `late${tag}`, 'cat', '/etc/hosts')).split('\n');
      assert.ok(hostsLines.includes(`${cn1.IPAddress}\t${late.Config.Hostname}`), hostsLines.join('\n'));
      assert.equal(await lookup(`peer${tag}`), 'reached', 'the container on the new network by name');
      assert.equal(await lookup(`svc${tag}`), 'reached', 'and by alias');
      // A second user network: the same server answers for names on every network of the asker.
      await docker('network', 'connect', `cn2${tag}`, `late${tag}`);
      const cn2 = (await inspect(`late${tag}`)).NetworkSettings.Networks[`cn2${tag}`];
      assert.equal(await lookup(`far${tag}`), 'reached', 'names on the second network');
      assert.equal((await docker('exec', `late${tag}`, 'grep', '^nameserver', '/etc/resolv.conf')).trim(), `nameserver ${cn1.Gateway}`);
      await docker('network', 'disconnect', `cn1${tag}`, `late${tag}`);
      assert.equal(await lookup(`peer${tag}`), 'unknown', 'gone with the network');
      assert.equal(await lookup(`far${tag}`), 'reached');
      assert.ok(!(await docker('exec', `late${tag}`, 'cat', '/etc/hosts')).includes(cn1.IPAddress), 'its hosts line is gone');
      await docker('network', 'disconnect', `cn2${tag}`, `late${tag}`);
      const resolv = await docker('exec', `late${tag}`, 'cat', '/etc/resolv.conf');
      assert.ok(!resolv.includes(`nameserver ${cn1.Gateway}\n`) && !resolv.includes(`nameserver ${cn2.Gateway}\n`), `the host resolvers again: ${resolv}`);
    } finally {
      await d.docker('rm', '-f', `late${tag}`, `peer${tag}`, `far${tag}`);
      await d.docker('network', 'rm', `cn1${tag}`, `cn2${tag}`);
    }
  });

  it('removing a container drops the conntrack entries of its published UDP port', async () => {
    const id = (await docker('run', '-d', '-p', '127.0.0.1:0:53/udp', 'busybox', 'sleep', '300')).trim();
    const port = Number((await inspect(id)).NetworkSettings.Ports['53/udp'][0].HostPort);
    const flows = async (): Promise<string[]> => (await readFile('/proc/net/nf_conntrack', 'utf8')).split('\n').filter((l) => l.includes(' udp ') && l.includes(`dport=${port} `));
    const client = createSocket('udp4');
    try {
      // nothing answers: the flow stays, DNATed to the container's address, until it times out
      for (let i = 0; i < 3; i++) client.send('ping', port, '127.0.0.1');
      let seen: string[] = [];
      for (let i = 0; i < 20 && seen.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        seen = await flows();
      }
      assert.ok(seen.some((l) => l.includes('sport=53 ')), `a NATed flow to the container: ${seen.join('\n')}`);
      await docker('rm', '-f', id);
      let left = seen;
      for (let i = 0; i < 50 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = await flows();
      }
      assert.deepEqual(left, [], 'no flow pinned to the removed container');
    } finally {
      client.close();
    }
  });

  it('50 run/rm cycles leave no veth, netns, lease or rule behind', async () => {
    await docker('network', 'create', `cyc${tag}`);
    const dirs = await ourScope();
    // The chains CNI plugins share are made by the first attachment and kept: make them first.
    await docker('run', '--rm', '-p', '127.0.0.1:0:80', 'busybox', 'true');
    const before = await settledCounts(dirs);
    // 25 rounds of two containers each: one `run --rm`, one `run -d` + `rm -f`.
    for (let i = 0; i < 25; i++) {
      const args = i % 2 === 0 ? ['-p', '127.0.0.1:0:80'] : ['--network', `cyc${tag}`];
      await docker('run', '--rm', ...args, 'busybox', 'true');
      const id = (await docker('run', '-d', ...args, 'busybox', 'sleep', '30')).trim();
      await docker('rm', '-f', id);
    }
    assert.equal(await settledCounts(dirs, before), before);
    await docker('network', 'rm', `cyc${tag}`);
  });

  it('a container that dies on its own gives its network back; a daemon restart reconciles', async () => {
    const dirs = await ourScope();
    // The chains CNI plugins share are made by the first attachment and kept: make them first.
    await docker('run', '--rm', '-p', '127.0.0.1:0:80', 'busybox', 'true');
    const before = await settledCounts(dirs);
    const id = (await docker('run', '-d', '-p', '127.0.0.1:0:80', 'busybox', 'sh', '-c', 'sleep 0.3')).trim();
    await docker('wait', id);
    assert.equal(await settledCounts(dirs, before), before);
    assert.deepEqual((await inspect(id)).NetworkSettings.Ports, {});
    await docker('rm', id);

    // kill -9 of berthd while a container runs, the container killed meanwhile: the restart cleans up
    const victim = (await docker('run', '-d', 'busybox', 'sleep', '60')).trim();
    const pid = (await inspect(victim)).State.Pid as number;
    // Killed when idle here (a kill mid-ADD is tests/integration/network's: reconcile waits for the orphaned plugin).
    await settledCounts(dirs);
    await new Promise((r) => setTimeout(r, 1000));
    await d.stop('SIGKILL');
    process.kill(pid, 'SIGKILL');
    await d.start(daemonArgs);
    assert.equal((await inspect(victim)).State.Running, false);
    assert.equal(await settledCounts(dirs, before), before);
    await docker('rm', victim);
  });
});
