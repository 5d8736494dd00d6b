import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerResolvConf, hostsFile } from './etc-files.ts';
import { parsePasswd } from './user.ts';

describe('per-container /etc files', () => {
  it('drops loopback resolvers, which do not answer inside the container namespace', () => {
    assert.equal(containerResolvConf('search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n'), 'search lan\nnameserver 10.0.0.1\n');
    assert.match(containerResolvConf('nameserver 127.0.0.1\n'), /nameserver 8\.8\.8\.8\nnameserver 8\.8\.4\.4\n$/);
  });

  it('names the container in /etc/hosts', () => {
    const hosts = hostsFile('0123456789ab');
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, /^127\.0\.1\.1\t0123456789ab$/m);
  });

  it('reads passwd rows', () => {
    assert.deepEqual(parsePasswd([['user', 'x', '1000', '1000', '', '/home/user', '/bin/sh']]), [{ name: 'user', uid: 1000, gid: 1000, home: '/home/user' }]);
  });
});
