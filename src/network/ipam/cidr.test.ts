import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCidr, hostPrefixes, overlaps, parseCidr, pickSubnet, resolverPrefixes, formatIPv4, contains, lastHost } from './cidr.ts';

test('parseCidr drops host bits and rejects junk', () => {
  assert.equal(formatCidr(parseCidr('10.1.2.3/8')), '10.0.0.0/8');
  assert.equal(formatCidr(parseCidr('192.0.2.7')), '192.0.2.7/32');
  assert.throws(() => parseCidr('10.0.0.0/33'), /bad prefix length/);
  assert.throws(() => parseCidr('10.0.0/8'), /not an IPv4 address/);
  assert.throws(() => parseCidr('300.0.0.0/8'), /not an IPv4 address/);
  assert.equal(formatIPv4(lastHost(parseCidr('172.17.0.0/16'))), '172.17.255.254');
  assert.ok(contains(parseCidr('172.17.0.0/16'), parseCidr('172.17.3.4').base));
});

test('overlaps is symmetric and honours the shorter prefix', () => {
  const pairs: [string, string, boolean][] = [
    ['172.17.0.0/16', '172.17.5.0/24', true],
    ['172.17.0.0/16', '172.18.0.0/16', false],
    ['10.0.0.0/8', '10.255.255.53/32', true],
    ['192.0.2.0/24', '192.0.3.0/24', false],
    ['0.0.0.0/0', '1.2.3.4/32', true],
  ];
  for (const [a, b, expected] of pairs) {
    assert.equal(overlaps(parseCidr(a), parseCidr(b)), expected, `${a} vs ${b}`);
    assert.equal(overlaps(parseCidr(b), parseCidr(a)), expected, `${b} vs ${a}`);
  }
});

// This VM: 192.0.2.0/24 on eth0, resolver 10.255.255.53 behind the default route.
const thisVm = {
  routes: [
    { dst: 'default', gateway: '192.0.2.1', dev: 'eth0' },
    { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.2' },
    { type: 'local', dst: '127.0.0.0/8', dev: 'lo', table: 'local' },
    { dst: 'fe80::/64', dev: 'eth0' },
  ],
  addrs: [
    { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
    { ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.2', prefixlen: 24 }, { family: 'inet6', local: 'fd00::2', prefixlen: 64 }] },
  ],
};

test('the default candidate on this VM is 172.17.0.0/16', () => {
  const used = [...hostPrefixes(thisVm.routes, thisVm.addrs), ...resolverPrefixes('nameserver 10.255.255.53\n')];
  assert.equal(formatCidr(pickSubnet(used)!), '172.17.0.0/16');
});

test('a host already on 172.16.0.0/12 (a VPN) pushes the choice to 10.88.0.0/16', () => {
  const routes = [...thisVm.routes, { dst: '172.16.0.0/12', dev: 'tun0' }];
  assert.equal(formatCidr(pickSubnet(hostPrefixes(routes, thisVm.addrs))!), '10.88.0.0/16');
});

test('a resolver inside a candidate excludes that candidate', () => {
  const used = [...hostPrefixes(thisVm.routes, thisVm.addrs), ...resolverPrefixes('# x\nnameserver 172.17.0.53\nnameserver fd00::1\n')];
  assert.equal(formatCidr(pickSubnet(used)!), '172.18.0.0/16');
});

test('an address without a covering route (a /32 alias) still counts', () => {
  const addrs = [...thisVm.addrs, { ifname: 'eth1', addr_info: [{ family: 'inet', local: '172.17.9.9', prefixlen: 32 }] }];
  assert.equal(formatCidr(pickSubnet(hostPrefixes(thisVm.routes, addrs))!), '172.18.0.0/16');
});

test('networks Berth already made are skipped, and exhaustion is reported as undefined', () => {
  const used = [parseCidr('172.17.0.0/16'), parseCidr('172.18.0.0/16')];
  assert.equal(formatCidr(pickSubnet(used)!), '172.19.0.0/16');
  assert.equal(pickSubnet([parseCidr('0.0.0.0/1'), parseCidr('128.0.0.0/1')]), undefined);
  assert.equal(formatCidr(pickSubnet([], ['10.0.0.0/8'])!), '10.0.0.0/8');
});

test('the default route and malformed entries are ignored', () => {
  const prefixes = hostPrefixes([{ dst: 'default' }, { dst: 'unreachable' }, {}, 'junk'], null);
  assert.deepEqual(prefixes, []);
});
