import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helpersUnder } from './inflight.ts';

async function fakeProcess(proc: string, pid: string, cmdline: string[], environ: string[]): Promise<void> {
  await mkdir(join(proc, pid));
  await writeFile(join(proc, pid, 'cmdline'), `${cmdline.join('\0')}\0`);
  await writeFile(join(proc, pid, 'environ'), `${environ.join('\0')}\0`);
}

test('helpers of a dead daemon: plugins by CNI_NETNS under our directory, unshare by --net=', async () => {
  const proc = await mkdtemp(join(tmpdir(), 'berth-proc-'));
  try {
    await fakeProcess(proc, '101', ['/usr/lib/cni/firewall'], ['CNI_COMMAND=ADD', 'CNI_NETNS=/run/berth/netns/pool-1', 'PATH=/usr/bin']);
    await fakeProcess(proc, '102', ['unshare', '--net=/run/berth/netns/abc', 'ip', 'link', 'set', 'lo', 'up'], []);
    await fakeProcess(proc, '103', ['/usr/lib/cni/bridge'], ['CNI_NETNS=/run/berth/netns-other/x']);
    await fakeProcess(proc, '104', ['/usr/sbin/iptables', '-w'], ['CNI_NETNS=/var/run/netns/cni-1']);
    await fakeProcess(proc, '105', ['sleep', '60'], ['HOME=/root']);
    await mkdir(join(proc, 'self'));
    assert.deepEqual((await helpersUnder('/run/berth/netns', proc)).sort(), [101, 102]);
    assert.deepEqual(await helpersUnder('/run/berth/netns/', proc).then((p) => p.sort()), [101, 102], 'a trailing slash changes nothing');
    assert.deepEqual(await helpersUnder('/run/nothing', proc), []);
  } finally {
    await rm(proc, { recursive: true, force: true });
  }
});
