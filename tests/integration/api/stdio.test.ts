/**
 * Container stdio through berthd, driven by the real docker CLI (v28): json-file logs written
 * by the monitor (follow, tail, timestamps, since/until, rotation), attach with hijacked
 * streams (stdin piped, `-it` in a pty, resize, detach keys), and exec (env, cwd, user, exit
 * codes, stdin, `-it`). Interactive runs go through a pty made by python3's pty module.
 * Runs as root; leaves no containers, mounts or cgroups behind.
 */

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DOCKER, TestDaemon, leftoverCgroups, mountsUnder } from './helpers.ts';

let d: TestDaemon;
const created = new Set<string>();

async function ids(): Promise<string[]> {
  const r = await d.docker('ps', '-aq', '--no-trunc');
  return r.stdout.split('\n').filter(Boolean);
}

before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(async () => {
  try {
    for (const id of await ids().catch(() => [])) {
      created.add(id);
      await d.docker('rm', '-f', id);
    }
    const left = await ids().catch(() => []);
    await d.stop();
    const mounts = await mountsUnder(d.dir);
    const cgroups = [...created].flatMap(leftoverCgroups);
    assert.deepEqual(left, [], 'containers left behind');
    assert.deepEqual(mounts, [], 'mounts left behind');
    assert.deepEqual(cgroups, [], 'cgroups left behind');
  } finally {
    await d.cleanup();
  }
});

async function run(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  const id = r.stdout.trim();
  if (/^[0-9a-f]{64}$/.test(id)) created.add(id);
  return id;
}

/** The docker CLI with `input` on its stdin (a pipe: not a terminal). */
function dockerWithInput(input: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER, ['-H', `unix://${d.socket}`, ...args], { env: { ...process.env, DOCKER_CONFIG: join(d.dir, 'docker-config') }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/**
 * The docker CLI in a pty of 33 rows × 77 columns: after a first pause each `send` is typed,
 * with a pause after it (`<resize>`: the terminal becomes 44 × 99 and the CLI gets SIGWINCH);
 * returns everything the terminal showed and the CLI's exit code.
 */
const PTY_DRIVER = `
import os, pty, sys, time, select, struct, fcntl, termios, json, signal
args = json.loads(sys.argv[1]); sends = json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execv(args[0], args)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 33, 77, 0, 0))
out = b''
def read_for(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: data = os.read(fd, 4096)
            except OSError: return
            if not data: return
            out += data
read_for(1.5)
for s in sends:
    if s == '<resize>':
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 44, 99, 0, 0))
        os.kill(pid, signal.SIGWINCH)
    else:
        os.write(fd, s.encode())
    read_for(1.0)
deadline = time.time() + 20
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done: break
    read_for(0.2)
else:
    os.kill(pid, 9); _, status = os.waitpid(pid, 0)
read_for(0.2)
sys.stdout.write(json.dumps({'out': out.decode(errors='replace'), 'code': os.waitstatus_to_exitcode(status)}))
`;

function inPty(sends: string[], ...args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve, reject) => {
    const argv = [DOCKER, '-H', `unix://${d.socket}`, ...args];
    execFile('python3', ['-c', PTY_DRIVER, JSON.stringify(argv), JSON.stringify(sends)], { env: { ...process.env, DOCKER_CONFIG: join(d.dir, 'docker-config') }, timeout: 60_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as { out: string; code: number });
    });
  });
}

describe('logs from the monitor json-file log', () => {
  it('docker run in the foreground splits stdout and stderr and returns the exit code', async () => {
    const r = await d.docker('run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('docker run -d, then logs and logs -f until the container exits', async () => {
    const id = await run('run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line$i; echo e$i >&2; sleep 0.2; done');
    const follow = await d.docker('logs', '-f', id);
    assert.equal(follow.code, 0, follow.stderr);
    assert.equal(follow.stdout, 'line1\nline2\nline3\n');
    assert.equal(follow.stderr, 'e1\ne2\ne3\n');
    const again = await d.docker('logs', id);
    assert.equal(again.stdout, 'line1\nline2\nline3\n');
    const path = (await d.docker('inspect', '-f', '{{.LogPath}}', id)).stdout.trim();
    assert.ok(path.endsWith(`/${id}/${id}-json.log`), path);
    assert.ok(existsSync(path));
  });

  it('logs -t --tail 2 prints the last two lines with 9-digit timestamps', async () => {
    const id = await run('run', '-d', 'busybox', 'sh', '-c', 'echo a; echo b; echo c');
    await d.docker('wait', id);
    const r = await d.docker('logs', '-t', '--tail', '2', id);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z b$/);
    assert.match(lines[1]!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z c$/);
  });

  it('logs --since and --until filter by time', async () => {
    const id = await run('run', '-d', 'busybox', 'sh', '-c', 'echo early; sleep 1.5; echo late');
    await d.docker('wait', id);
    const stamped = (await d.docker('logs', '-t', id)).stdout.trimEnd().split('\n');
    const lateAt = stamped[1]!.split(' ')[0]!;
    const since = (await d.docker('logs', '--since', lateAt, id)).stdout;
    assert.equal(since, 'late\n');
    const until = (await d.docker('logs', '--until', new Date(Date.parse(lateAt) - 500).toISOString(), id)).stdout;
    assert.equal(until, 'early\n');
    assert.equal((await d.docker('logs', '--since', '2000-01-01T00:00:00Z', id)).stdout, 'early\nlate\n');
  });

  it('rotates the log as --log-opt max-size/max-file say, and logs reads across the files', async () => {
    const id = await run('run', '-d', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done');
    await d.docker('wait', id);
    const dir = join(d.root, 'containers', id);
    const files = readdirSync(dir).filter((f) => f.startsWith(`${id}-json.log`)).sort();
    assert.deepEqual(files, [`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
    const lines = (await d.docker('logs', id)).stdout.trimEnd().split('\n');
    assert.ok(lines.length > 10 && lines.length < 200, `${lines.length} lines kept`);
    assert.equal(lines.at(-1), 'line-199-xxxxxxxxxxxxxxxxxxxxxxxx');
    assert.equal((await d.docker('logs', '--tail', '1', id)).stdout, 'line-199-xxxxxxxxxxxxxxxxxxxxxxxx\n');
  });

  it('--log-driver none: output still reaches an attached client, logs refuses to read', async () => {
    const r = await d.docker('run', '--rm', '--log-driver', 'none', 'busybox', 'echo', 'via-attach');
    assert.equal(r.stdout, 'via-attach\n');
    const id = await run('create', '--log-driver', 'none', 'busybox', 'true');
    const logs = await d.docker('logs', id);
    assert.notEqual(logs.code, 0);
    assert.match(logs.stderr, /configured logging driver does not support reading/);
    assert.match((await d.docker('run', '--rm', '--log-driver', 'syslog', 'busybox', 'true')).stderr, /logging driver syslog is not supported/);
  });

  it('refuses an invalid max-size at create', async () => {
    const r = await d.docker('run', '--rm', '--log-opt', 'max-size=lots', 'busybox', 'true');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid size: 'lots'/);
  });
});

describe('attach with hijacked streams', () => {
  it('docker run -i pipes stdin to the container and closes it at EOF', async () => {
    const r = await dockerWithInput('hello\nworld\n', 'run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo done; exit 4');
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, 'hello\nworld\ndone\n');
  });

  it('docker run -it gives the container a pty of the client terminal size, resize, input and exit code', async () => {
    const r = await inPty(['tty; stty size; echo $TERM; echo $((6*7))\n', '<resize>', 'stty size\n', 'exit 7\n'], 'run', '-it', '--rm', 'busybox', 'sh');
    assert.equal(r.code, 7, r.out);
    assert.match(r.out, /\/dev\/pts\/\d+\r\n33 77\r\nxterm\r\n42\r\n/);
    assert.match(r.out, /stty size\r\n44 99\r\n/, 'SIGWINCH resizes the pty');
  });

  it('ctrl-p ctrl-q detaches from docker run -it and the container runs on', async () => {
    const name = 'stdio-detach';
    const r = await inPty(['echo started\n', '\x10\x11'], 'run', '-it', '--name', name, 'busybox', 'sh');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /started/);
    const id = (await d.docker('inspect', '-f', '{{.Id}} {{.State.Running}}', name)).stdout.trim();
    created.add(id.split(' ')[0]!);
    assert.match(id, / true$/);
    await d.docker('rm', '-f', name);
  });

  it('docker attach to a running container streams until its exit and returns its code', async () => {
    const id = await run('run', '-d', 'busybox', 'sh', '-c', 'sleep 1; echo after-attach; exit 9');
    const r = await d.docker('attach', id);
    assert.equal(r.code, 9, r.stderr);
    assert.equal(r.stdout, 'after-attach\n');
  });

  it('docker start -a attaches before the container runs', async () => {
    const id = await run('create', 'busybox', 'sh', '-c', 'echo first-line; exit 2');
    const r = await d.docker('start', '-a', id);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, 'first-line\n');
  });

  it('resize changes the size of a running TTY container', async () => {
    const id = await run('run', '-d', '-t', 'busybox', 'sh', '-c', 'sleep 1; stty size; sleep 30');
    const resized = await d.api('POST', `/containers/${id}/resize?h=21&w=55`);
    assert.equal(resized.status, 200, resized.body);
    await new Promise((r) => setTimeout(r, 1500));
    assert.match((await d.docker('logs', id)).stdout, /21 55/);
    await d.docker('rm', '-f', id);
  });
});

describe('exec', () => {
  let id: string;
  before(async () => {
    id = await run('run', '-d', '-e', 'FOO=bar', '-w', '/tmp', 'busybox', 'sleep', '300');
  });

  it('runs with the container env, hostname and working directory', async () => {
    const r = await d.docker('exec', id, 'sh', '-c', 'echo $HOSTNAME $FOO; pwd; echo oops >&2');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${id.slice(0, 12)} bar\n/tmp\n`);
    assert.equal(r.stderr, 'oops\n');
  });

  it('propagates the exit code', async () => {
    assert.equal((await d.docker('exec', id, 'sh', '-c', 'exit 5')).code, 5);
  });

  it('honours -u, -w and -e', async () => {
    const r = await d.docker('exec', '-u', '1000:1000', '-w', '/', '-e', 'X=1', id, 'sh', '-c', 'id -u; id -g; pwd; echo $X $FOO');
    assert.equal(r.stdout, '1000\n1000\n/\n1 bar\n');
  });

  it("a command that cannot start: Docker's message and 127/126", async () => {
    const missing = await d.docker('exec', id, 'nosuchcmd');
    assert.equal(missing.code, 127);
    assert.match(missing.stdout, /^OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in \$PATH: unknown/);
    const denied = await d.docker('exec', id, '/etc/passwd');
    assert.equal(denied.code, 126);
    assert.match(denied.stdout, /exec: "\/etc\/passwd": permission denied/);
  });

  it('exec -i pipes stdin', async () => {
    const r = await dockerWithInput('piped\n', 'exec', '-i', id, 'cat');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'piped\n');
  });

  it('exec -d runs detached and exec inspect reports the exit code', async () => {
    const created = await d.api('POST', `/containers/${id}/exec`, JSON.stringify({ Cmd: ['sh', '-c', 'exit 6'] }), { 'Content-Type': 'application/json' });
    assert.equal(created.status, 201, created.body);
    const execId = (JSON.parse(created.body) as { Id: string }).Id;
    const started = await d.api('POST', `/exec/${execId}/start`, JSON.stringify({ Detach: true }), { 'Content-Type': 'application/json' });
    assert.equal(started.status, 200, started.body);
    let inspect: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      inspect = JSON.parse((await d.api('GET', `/exec/${execId}/json`)).body) as Record<string, unknown>;
      if (inspect['Running'] === false && inspect['ExitCode'] !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(inspect['ExitCode'], 6);
    assert.equal(inspect['ContainerID'], id);
    assert.deepEqual(inspect['ProcessConfig'], { tty: false, entrypoint: 'sh', arguments: ['-c', 'exit 6'], privileged: false, user: '' });
    assert.equal((await d.api('GET', '/exec/nope/json')).status, 404);
  });

  it('exec -it gives a pty of the client size, resized on SIGWINCH', async () => {
    const r = await inPty(['tty; stty size; echo $TERM\n', '<resize>', 'stty size\n', 'exit 4\n'], 'exec', '-it', id, 'sh');
    assert.equal(r.code, 4, r.out);
    assert.match(r.out, /\/dev\/pts\/\d+\r\n33 77\r\nxterm\r\n/);
    assert.match(r.out, /stty size\r\n44 99\r\n/, 'SIGWINCH resizes the exec pty');
  });

  it('refuses exec in a stopped container', async () => {
    const stopped = await run('create', 'busybox', 'true');
    const r = await d.docker('exec', stopped, 'true');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is not running/);
  });
});

describe('top, stats and events', () => {
  it('docker top lists the container processes; -o picks columns', async () => {
    const id = await run('run', '-d', 'busybox', 'sh', '-c', 'sleep 300 & wait');
    const r = await d.docker('top', id);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/m);
    assert.match(r.stdout, /sh -c sleep 300 & wait$/m);
    assert.match(r.stdout, /\s+sleep 300$/m);
    const pid = (await d.docker('inspect', '-f', '{{.State.Pid}}', id)).stdout.trim();
    const custom = await d.docker('top', id, '-o', 'pid,comm');
    assert.match(custom.stdout, new RegExp(`^${pid}\\s+sh$`, 'm'));
    assert.match((await d.docker('top', (await run('create', 'busybox', 'true')))).stderr, /is not running/);
    await d.docker('rm', '-f', id);
  });

  it('docker stats --no-stream shows memory, cpu and pids from the cgroup', async () => {
    const id = await run('run', '-d', '-m', '64m', '--name', 'stdio-stats', 'busybox', 'sh', '-c', 'sleep 300 & sleep 300');
    const r = await d.docker('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}} {{.CPUPerc}}', id);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^stdio-stats \d+(\.\d+)?[KM]iB \/ 64MiB 2 \d+\.\d+%$/m);
    const raw = await d.api('GET', `/containers/${id}/stats?stream=false&one-shot=true`);
    const doc = JSON.parse(raw.body) as Record<string, any>;
    assert.equal(doc['id'], id);
    assert.equal(doc['pids_stats'].current, 2);
    assert.equal(doc['memory_stats'].limit, 64 * 1024 * 1024);
    assert.ok(doc['cpu_stats'].system_cpu_usage > 0);
    await d.docker('rm', '-f', id);
  });

  it('docker events streams create/attach/start/die/destroy, and --since replays them with filters', async () => {
    const since = String(Math.floor(Date.now() / 1000) - 1);
    const live = spawn(DOCKER, ['-H', `unix://${d.socket}`, 'events', '--filter', 'container=stdio-events', '--format', '{{.Action}}'], { env: { ...process.env, DOCKER_CONFIG: join(d.dir, 'docker-config') } });
    let seen = '';
    live.stdout.on('data', (c: Buffer) => (seen += c.toString()));
    await new Promise((r) => setTimeout(r, 500));
    const r = await d.docker('run', '--rm', '--name', 'stdio-events', 'busybox', 'sh', '-c', 'exit 3');
    assert.equal(r.code, 3);
    for (let i = 0; i < 50 && !seen.includes('destroy'); i++) await new Promise((res) => setTimeout(res, 100));
    live.kill();
    // an attached run attaches before it starts, and moby logs the attach
    assert.deepEqual(seen.trim().split('\n'), ['create', 'attach', 'start', 'die', 'destroy']);
    const until = String(Math.floor(Date.now() / 1000) + 1);
    const replay = await d.docker('events', '--since', since, '--until', until, '--filter', 'event=die', '--filter', 'container=stdio-events', '--format', '{{.Action}} {{.Actor.Attributes.exitCode}}');
    assert.equal(replay.code, 0, replay.stderr);
    assert.equal(replay.stdout, 'die 3\n');
  });
});
