/**
 * `berth run` flags that reach the container through the API (issue 4): one test per group —
 * resources and limits, environment and labels from files, --mount and --volumes-from,
 * --device, --add-host and --dns, and the lifecycle flags (--cidfile, --restart, --stop-timeout,
 * --log-opt, --gpus) — each checked from inside the container or in inspect, and bad values
 * with docker's message and exit 125.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO, TestDaemon, cliEnv as env, type Result } from './helpers.ts';

let d: TestDaemon;
let work: string;
const created = new Set<string>();


/** `--` before the script: Node 20 reads a `--env-file` anywhere before one as its own option. */
function berth(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--', join(REPO, 'src/bin/berth.ts'), '-H', `unix://${d.socket}`, ...args], { env: env(extraEnv), cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr });
    });
  });
}

/** `berth run --name NAME ARGS...` in the foreground; the container is removed at the end. */
async function run(name: string, ...args: string[]): Promise<Result> {
  const r = await berth(['run', '--name', name, ...args]);
  const id = (await d.docker('inspect', '-f', '{{.Id}}', name)).stdout.trim();
  if (id) created.add(id);
  return r;
}

async function inspect(ref: string, format: string): Promise<string> {
  const r = await d.docker('inspect', '-f', format, ref);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-flags-'));
  d = await TestDaemon.create();
  await d.start();
});

after(async () => {
  try {
    await d.docker('volume', 'rm', '-f', 'flags-vol');
    await d.removeAllAndCheck(created);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

describe('berth run flags', () => {
  it('resources and limits: --ulimit, --shm-size, --sysctl, --oom-score-adj, --pids-limit, --cpuset-cpus', async () => {
    const r = await run('flags-res', '--ulimit', 'nofile=512:1024', '--ulimit', 'nproc=100', '--shm-size', '8m', '--sysctl', 'net.ipv4.ip_forward=1', '--oom-score-adj', '321', '--pids-limit', '50', '--cpuset-cpus', '0', 'busybox', 'sh', '-c', [
      'ulimit -n; ulimit -Hn; ulimit -u',
      "df -k /dev/shm | awk 'NR==2 {print $2}'",
      'cat /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj',
    ].join('; '));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '512\n1024\n100\n8192\n1\n321\n');
    assert.equal(await inspect('flags-res', '{{.HostConfig.PidsLimit}} {{.HostConfig.CpusetCpus}} {{json .HostConfig.Ulimits}}'), '50 0 [{"Name":"nofile","Hard":1024,"Soft":512},{"Name":"nproc","Hard":100,"Soft":100}]');
    const bad = await berth(['run', '--ulimit', 'nofile=2:1', 'busybox']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, 'invalid argument "nofile=2:1" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 2 > 1\nSee \'berth run --help\'.\n');
  });

  it('environment and labels from files: --env-file, -e NAME from our environment, --label-file', async () => {
    await writeFile(join(work, 'env'), '# settings\nFROM_FILE=file value\nOVERRIDDEN=file\nPASSED\n');
    await writeFile(join(work, 'labels'), 'team=red\n');
    const r = await berth(['run', '--rm', '--env-file', join(work, 'env'), '-e', 'OVERRIDDEN=flag', '-e', 'LOCAL', '--label-file', join(work, 'labels'), 'busybox', 'sh', '-c', 'echo "$FROM_FILE|$OVERRIDDEN|$PASSED|$LOCAL"'], { PASSED: 'from env', LOCAL: 'local' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'file value|flag|from env|local\n');
    const missing = await berth(['run', '--rm', '--env-file', join(work, 'nosuch'), 'busybox', 'true']);
    assert.equal(missing.code, 125);
    assert.equal(missing.stderr, `berth: open ${join(work, 'nosuch')}: no such file or directory\n\nRun 'berth run --help' for more information\n`);
  });

  it('--mount bind (read-only), volume and tmpfs, and --volumes-from', async () => {
    await writeFile(join(work, 'hello'), 'from the host\n');
    const r = await run('flags-mount', '--mount', `type=bind,source=${work},target=/host,readonly`, '--mount', 'type=volume,source=flags-vol,target=/vol', '--mount', 'type=tmpfs,target=/scratch,tmpfs-size=1m', 'busybox', 'sh', '-c', [
      'cat /host/hello',
      'touch /host/x 2>/dev/null || echo read-only',
      'echo kept > /vol/file',
      "grep ' /scratch ' /proc/self/mountinfo | grep -o 'size=[0-9]*k'",
    ].join('; '));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'from the host\nread-only\nsize=1024k\n');
    const from = await run('flags-from', '--volumes-from', 'flags-mount:ro', 'busybox', 'sh', '-c', 'cat /vol/file /host/hello; touch /vol/y 2>/dev/null || echo ro');
    assert.equal(from.code, 0, from.stderr);
    assert.equal(from.stdout, 'kept\nfrom the host\nro\n');
    const bad = await berth(['run', '--mount', 'type=bind,src=/tmp', 'busybox']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, 'invalid argument "type=bind,src=/tmp" for "--mount" flag: target is required\nSee \'berth run --help\'.\n');
  });

  it('--device: the host node in the container, usable, within the permissions given', async () => {
    const r = await run('flags-dev', '--device', '/dev/null:/dev/mynull:rw', '--device', '/dev/zero:r', 'busybox', 'sh', '-c', [
      "ls -l /dev/mynull | awk '{print $1, $5, $6}'",
      'echo x > /dev/mynull && echo wrote',
      'head -c 3 /dev/zero | wc -c',
    ].join('; '));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'crw-rw-rw- 1, 3\nwrote\n3\n');
    const missing = await berth(['run', '--rm', '--device', '/dev/nosuch-berth', 'busybox', 'true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /^berth: Error response from daemon: error gathering device information while adding custom device "\/dev\/nosuch-berth": no such file or directory\n/);
    const badMode = await berth(['run', '--rm', '--device', '/dev/null:/dev/x:rwz', 'busybox', 'true']);
    assert.equal(badMode.code, 125);
    assert.match(badMode.stderr, /^berth: bad mode specified: rwz\n/);
  });

  it('--privileged and --cap-add ALL give every capability the daemon holds (no more: the kernel refuses that)', async () => {
    const own = /^CapBnd:\s*([0-9a-f]+)$/m.exec(await readFile('/proc/self/status', 'utf8'))![1]!;
    const privileged = await run('flags-priv', '--privileged', 'busybox', 'grep', '^CapEff', '/proc/self/status');
    assert.equal(privileged.code, 0, privileged.stderr);
    assert.equal(privileged.stdout.trim().split(/\s+/)[1], own);
    const all = await run('flags-capall', '--cap-add', 'ALL', 'busybox', 'grep', '^CapBnd', '/proc/self/status');
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout.trim().split(/\s+/)[1], own);
  });

  it('--add-host and --dns, --dns-search, --dns-option in /etc/hosts and /etc/resolv.conf', async () => {
    const r = await run('flags-dns', '--add-host', 'db.internal:10.9.8.7', '--add-host', 'v6host=fd00::1', '--dns', '10.0.0.53', '--dns-search', 'example.test', '--dns-option', 'ndots:3', 'busybox', 'sh', '-c', 'grep -E "db.internal|v6host" /etc/hosts; grep -E "^(nameserver|search|options)" /etc/resolv.conf');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '10.9.8.7\tdb.internal\nfd00::1\tv6host\nnameserver 10.0.0.53\nsearch example.test\noptions ndots:3\n');
    assert.equal(await inspect('flags-dns', '{{json .HostConfig.ExtraHosts}} {{json .HostConfig.Dns}}'), '["db.internal:10.9.8.7","v6host:fd00::1"] ["10.0.0.53"]');
    const bad = await berth(['run', '--add-host', 'nohost', 'busybox']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, 'invalid argument "nohost" for "--add-host" flag: bad format for add-host: "nohost"\nSee \'berth run --help\'.\n');
  });

  it('lifecycle flags: --cidfile, --restart, --stop-timeout, --log-opt, --init, --gpus, --platform', async () => {
    const cidfile = join(work, 'cid');
    const r = await run('flags-life', '-d', '--cidfile', cidfile, '--restart', 'on-failure:2', '--stop-timeout', '7', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', '--init', '--platform', 'linux/amd64', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo "line $i of some log output"; i=$((i+1)); done; sleep 1000');
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.equal(await readFile(cidfile, 'utf8'), id);
    assert.equal(await inspect(id, '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.Config.StopTimeout}} {{.HostConfig.Init}} {{json .HostConfig.LogConfig.Config}}'), 'on-failure:2 7 true {"max-file":"2","max-size":"1k"}');
    const logPath = await inspect(id, '{{.LogPath}}');
    for (let i = 0; i < 400 && !existsSync(`${logPath}.1`); i++) await new Promise((res) => setTimeout(res, 50));
    const logs = (await readdir(dirname(logPath))).filter((f) => f.startsWith(logPath.slice(dirname(logPath).length + 1))).sort();
    assert.equal(logs.length, 2, `rotated into two files: ${logs.join(' ')}`);
    const again = await berth(['run', '-d', '--cidfile', cidfile, 'busybox', 'true']);
    assert.equal(again.code, 125);
    assert.equal(again.stderr, `berth: container ID file found, make sure the other container isn't running or delete ${cidfile}\n\nRun 'berth run --help' for more information\n`);
    assert.equal((await berth(['rm', '-f', id])).code, 0);

    const restart = await berth(['run', '--rm', '--restart', 'sometimes', 'busybox', 'true']);
    assert.equal(restart.code, 125);
    assert.match(restart.stderr, /^berth: Error response from daemon: invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'\n/);
    const retries = await berth(['run', '--restart', 'always:3', 'busybox', 'true']);
    assert.equal(retries.code, 125);
    assert.match(retries.stderr, /invalid restart policy: maximum retry count can only be used with 'on-failure'/);
    const gpus = await berth(['run', '--rm', '--gpus', 'all', 'busybox', 'true']);
    assert.equal(gpus.code, 125);
    assert.match(gpus.stderr, /^berth: Error response from daemon: could not select device driver "" with capabilities: \[\[gpu\]\]\n/);
    const timeout = await berth(['run', '--stop-timeout', 'soon', 'busybox', 'true']);
    assert.equal(timeout.code, 125);
    assert.equal(timeout.stderr, 'invalid argument "soon" for "--stop-timeout" flag: strconv.ParseInt: parsing "soon": invalid syntax\nSee \'berth run --help\'.\n');
  });

  it('update: new limits in the running container\'s cgroup and its HostConfig, a restart policy, moby\'s checks', async () => {
    const r = await run('flags-update', '-d', '--memory', '64m', '--pids-limit', '20', 'busybox', 'sleep', '1000');
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const cgroup = (controller: string, file: string): Promise<string> => readFile(join('/sys/fs/cgroup', controller, 'berth', id, file), 'utf8').then((t) => t.trim());
    assert.equal(await cgroup('memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
    const up = await berth(['update', '--memory', '128m', '--memory-swap', '256m', '--pids-limit', '30', '--cpus', '0.5', '--restart', 'on-failure:4', 'flags-update']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, 'flags-update\n');
    assert.equal(await cgroup('memory', 'memory.limit_in_bytes'), String(128 * 1024 * 1024));
    assert.equal(await cgroup('pids', 'pids.max'), '30');
    assert.equal(await cgroup('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(await inspect(id, '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}'), `${128 * 1024 * 1024} ${256 * 1024 * 1024} 30 500000000 on-failure:4`);

    const small = await berth(['update', '--memory', '1m', 'flags-update']);
    assert.equal(small.code, 1);
    assert.equal(small.stderr, 'Error response from daemon: Minimum memory limit allowed is 6MB\n');
    const none = await berth(['update', 'flags-update']);
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'you must provide one or more flags when using this command\n');
    const policy = await berth(['update', '--restart', 'always:2', 'flags-update']);
    assert.equal(policy.code, 1);
    assert.match(policy.stderr, /invalid restart policy: maximum retry count can only be used with 'on-failure'/);

    // a stopped container gets the new limits at its next start
    assert.equal((await berth(['stop', '-t', '1', 'flags-update'])).code, 0);
    assert.equal((await berth(['update', '--pids-limit', '40', 'flags-update'])).code, 0);
    assert.equal((await berth(['start', 'flags-update'])).code, 0);
    assert.equal(await cgroup('pids', 'pids.max'), '40');
    assert.equal((await d.docker('update', '--pids-limit', '45', 'flags-update')).code, 0, 'the docker CLI speaks the same API');
    assert.equal(await cgroup('pids', 'pids.max'), '45');
  });

  it('the docker CLI\'s requests for the same flags work alike', async () => {
    const r = await d.docker('run', '--name', 'flags-docker', '--init', '--ulimit', 'nofile=100:200', '--add-host', 'a.test:1.2.3.4', '--dns', '10.0.0.53', '--device', '/dev/null:/dev/n2', '--mount', 'type=tmpfs,dst=/t', 'busybox', 'sh', '-c', [
      "tr '\\0' ' ' < /proc/1/cmdline; echo",
      'ulimit -n',
      'grep a.test /etc/hosts',
      'grep nameserver /etc/resolv.conf',
      'echo x > /dev/n2 && echo device',
      "grep -c ' /t ' /proc/self/mountinfo",
    ].join('; '));
    created.add(await inspect('flags-docker', '{{.Id}}'));
    assert.equal(r.code, 0, r.stderr);
    const [pid1, ...rest] = r.stdout.split('\n');
    assert.match(pid1!, /^\/sbin\/docker-init -- sh -c /);
    assert.deepEqual(rest, ['100', '1.2.3.4\ta.test', 'nameserver 10.0.0.53', 'device', '1', '']);
  });

  it('the health flags reach the container (the checks themselves: health.test.ts)', async () => {
    const r = await run('flags-health', '-d', '--health-cmd', 'true', '--health-interval', '200ms', '--health-retries', '2', '--health-start-period', '1s', 'busybox', 'sleep', '1000');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await inspect('flags-health', '{{json .Config.Healthcheck}}'), '{"Test":["CMD-SHELL","true"],"Interval":200000000,"StartPeriod":1000000000,"Retries":2}');
    const bad = await berth(['run', '--health-interval', '-1s', 'busybox']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, "berth: --health-interval cannot be negative\n\nRun 'berth run --help' for more information\n");
  });
});
