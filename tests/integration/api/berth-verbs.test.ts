/**
 * The berth CLI's container and system verbs beyond run/ps/logs, against a private berthd with
 * networking: rename, port, diff, export, commit, stats --no-stream, events, container prune
 * and system prune, each compared with what the docker CLI shows for the same container.
 */

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO, TestDaemon, cliEnv as berthEnv } from './helpers.ts';
import { cniPluginsPresent, NetworkTestEnv } from './network-env.ts';

const run = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root' : !cniPluginsPresent ? 'needs containernetworking-plugins' : false;
const env = new NetworkTestEnv('bv');
let d: TestDaemon;


async function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(REPO, 'src/bin/berth.ts'), '-H', `unix://${d.socket}`, ...args], { env: berthEnv(), cwd: REPO, timeout: 60_000, maxBuffer: 64 << 20, encoding: 'buffer' }).then((r) => ({ stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString() }));
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: Buffer; stderr?: Buffer };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout?.toString() ?? '', stderr: e.stderr?.toString() ?? '' };
  }
}

async function ok(...args: string[]): Promise<string> {
  const r = await berth(...args);
  assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('berth container and system verbs', { skip, concurrency: false }, () => {
  before(async () => {
    await env.record();
    d = await TestDaemon.create();
    await d.start(env.daemonArgs);
  });
  after(async () => {
    if (d !== undefined) await env.restore(d);
  });

  it('rename, port, diff, export and commit', async () => {
    await ok('run', '-d', '--name', 'verbs-a', '-p', '127.0.0.1:0:80', '-p', '127.0.0.1:0:53/udp', 'busybox', 'sh', '-c', 'echo data > /new-file && rm /bin/true && exec sleep 300');
    await ok('rename', 'verbs-a', 'verbs-b');
    assert.match(await ok('ps', '--format', '{{.Names}}'), /^verbs-b$/m);

    const ports = await ok('port', 'verbs-b');
    assert.match(ports, /^80\/tcp -> 127\.0\.0\.1:\d+$/m);
    assert.match(ports, /^53\/udp -> 127\.0\.0\.1:\d+$/m);
    assert.equal(ports, (await d.docker('port', 'verbs-b')).stdout);
    assert.match(await ok('port', 'verbs-b', '80'), /^127\.0\.0\.1:\d+\n$/);
    const missing = await berth('port', 'verbs-b', '81');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No public port '81\/tcp' published for verbs-b/);

    // the file appears once the shell ran
    let diff = '';
    for (let i = 0; i < 40 && !diff.includes('/new-file'); i++) {
      diff = await ok('diff', 'verbs-b');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(diff, /^A \/new-file$/m);
    assert.match(diff, /^D \/bin\/true$/m);
    assert.match(diff, /^C \/bin$/m);
    assert.equal(diff, (await d.docker('diff', 'verbs-b')).stdout);

    const tar = await ok('export', 'verbs-b');
    assert.ok(tar.includes('new-file'), 'the export holds the new file');
    const unwritable = await berth('export', '-o', '/nonexistent-dir/out.tar', 'verbs-b');
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /ENOENT|no such file or directory/i);

    const id = (await ok('commit', '-c', 'CMD ["cat", "/new-file"]', '-m', 'from berth', 'verbs-b', 'committed:v1')).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok('run', '--rm', 'committed:v1'), 'data\n');
    assert.match((await d.docker('history', '--format', '{{.Comment}}', 'committed:v1')).stdout, /from berth/);
    await ok('rm', '-f', 'verbs-b');
  });

  it('stats --no-stream shows docker\'s columns; events shows what happened', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await ok('run', '-d', '--name', 'verbs-stats', '--memory', '64m', 'busybox', 'sleep', '300');
    const stats = await ok('stats', '--no-stream');
    const lines = stats.trimEnd().split('\n');
    assert.match(lines[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    const row = lines.find((l) => l.includes('verbs-stats'));
    assert.ok(row, stats);
    assert.match(row!, /^[0-9a-f]{12}\s+verbs-stats\s+\d+\.\d\d%\s+[\d.]+[KMG]?i?B \/ 64MiB\s+\d+\.\d\d%\s+\S+ \/ \S+\s+\S+ \/ \S+\s+1$/);
    assert.equal((await ok('stats', '--no-stream', '--format', '{{.Name}}: {{.PIDs}}', 'verbs-stats')).trim(), 'verbs-stats: 1');
    await ok('stop', '-t', '1', 'verbs-stats');
    const events = await ok('events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=verbs-stats');
    assert.match(events, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container create [0-9a-f]{64} \(image=busybox, name=verbs-stats(, [^)]*)?\)$/m);
    assert.match(events, /container start [0-9a-f]{64}/);
    assert.match(events, /container die [0-9a-f]{64} \(.*exitCode=\d+.*\)/);
  });

  it('attach follows a running container to its exit code; a stopped one is refused', async () => {
    await ok('run', '-d', '--name', 'verbs-attach', 'busybox', 'sh', '-c', 'sleep 1; for i in 1 2 3; do echo tick $i; sleep 0.2; done; exit 4');
    const attached = await berth('attach', 'verbs-attach');
    assert.equal(attached.code, 4, attached.stderr);
    assert.match(attached.stdout, /tick 1\ntick 2\ntick 3\n/);
    const stopped = await berth('attach', 'verbs-attach');
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /You cannot attach to a stopped container, start it first/);
    await ok('rm', 'verbs-attach');
  });

  it('container prune and system prune remove what is stopped and unused, nothing running', async () => {
    await ok('run', '-d', '--name', 'verbs-keep', 'busybox', 'sleep', '300');
    await ok('create', '--name', 'verbs-gone', 'busybox', 'true');
    await ok('network', 'create', 'verbs-net');
    const prune = await ok('container', 'prune', '-f');
    assert.match(prune, /^Deleted Containers:\n[0-9a-f]{64}\n/m);
    assert.match(prune, /Total reclaimed space: /);
    const names = await ok('ps', '-a', '--format', '{{.Names}}');
    assert.match(names, /verbs-keep/);
    assert.doesNotMatch(names, /verbs-gone|verbs-stats/);

    // without -f the prompt decides: "n" keeps everything
    const declined = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/bin/berth.ts'), '-H', `unix://${d.socket}`, 'system', 'prune'], { env: berthEnv(), cwd: REPO });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stdin.end('n\n');
      child.on('close', () => resolve(out));
    });
    assert.match(declined, /WARNING! This will remove:\n {2}- all stopped containers\n {2}- all networks not used by at least one container\n {2}- all dangling images\n {2}- unused build cache\n\nAre you sure you want to continue\? \[y\/N\] $/);
    assert.match(await ok('network', 'ls', '--format', '{{.Name}}'), /verbs-net/);

    const system = await ok('system', 'prune', '-f');
    assert.match(system, /^Deleted Networks:\nverbs-net\n/m);
    assert.match(await ok('ps', '--format', '{{.Names}}'), /verbs-keep/);
    await ok('rm', '-f', 'verbs-keep');
  });
});
