// What a container sees of the host: its own pid 1, hostname, network, root, masked /proc.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { runContainer, cleanupStateRoot } from './helpers.ts';

after(cleanupStateRoot);

test('the container process is PID 1 and host processes are invisible', () => {
  const r = runContainer(['sh', '-c', 'echo pid=$$; ls /proc | grep -c "^[0-9]"']);
  assert.equal(r.code, 0, r.stderr);
  const [pidLine, count] = r.stdout.trim().split('\n');
  assert.equal(pidLine, 'pid=1');
  // sh, ls and grep at most: nothing of the host's hundreds of processes.
  assert.ok(Number(count) <= 3, `saw ${count} processes`);
});

test('the hostname is the container\'s own and the host keeps its own', () => {
  const r = runContainer(['hostname']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'berth');
  assert.notEqual(hostname(), 'berth');
});

test('a new network namespace has only lo, and lo is up', () => {
  const r = runContainer(['sh', '-c', 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; ip link show lo']);
  assert.equal(r.code, 0, r.stderr);
  const [ifaces, ...rest] = [r.stdout.trim().split('\n')[0], ...r.stdout.trim().split('\n').slice(1)];
  assert.equal(ifaces, 'lo');
  assert.match(rest.join('\n'), /UP/);
});

test('/ is the rootfs after pivot_root: the host tree is gone', () => {
  const r = runContainer(['sh', '-c', 'ls /work /var/lib 2>&1; cut -d" " -f5 /proc/self/mountinfo | grep -cx /']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /No such file or directory/);
  assert.equal(r.stdout.trim().split('\n').pop(), '1');
});

test('masked paths read empty and read-only paths refuse writes', () => {
  const r = runContainer(['sh', '-c', 'wc -c < /proc/keys; wc -c < /proc/timer_list; echo 1 > /proc/sys/kernel/domainname && echo wrote || echo refused']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim()), ['0', '0', 'refused']);
  assert.match(r.stderr, /Read-only file system/);
});

test('the root filesystem is read-only when root.readonly is set', () => {
  const r = runContainer(['sh', '-c', 'touch /newfile']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Read-only file system/);
});

test('default devices exist with the right numbers and /dev/null works', () => {
  const r = runContainer(['sh', '-c', 'stat -c "%n %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; echo x > /dev/null && readlink /dev/fd && readlink /dev/ptmx']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    '/dev/null 1:3 666', '/dev/zero 1:5 666', '/dev/full 1:7 666', '/dev/random 1:8 666', '/dev/urandom 1:9 666', '/dev/tty 5:0 666',
    '/proc/self/fd', 'pts/ptmx',
  ]);
});

test('the exit code of the container is the exit code of run', () => {
  assert.equal(runContainer(['sh', '-c', 'exit 7']).code, 7);
  assert.equal(runContainer(['true']).code, 0);
});

test('a missing binary exits 127 with an error naming it', () => {
  const r = runContainer(['/no/such/binary']);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /\/no\/such\/binary.*ENOENT/);
});
