/**
 * `berth` as docker's CLI against a berthd of our own (issue 4): run in the foreground with its
 * output and exit code, -d with logs -f, exec with env and cwd, -it in a real pty, ps, inspect,
 * stop/kill/rm, and docker's wording and exit codes for bad input.
 */

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestDaemon, REPO, cliEnv as env, type Result } from './helpers.ts';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(async () => {
  await d.docker('rm', '-f', 'cli-bg', 'cli-exec', 'cli-life', 'cli-detach', 'cli-cp').catch(() => undefined);
  await d.cleanup();
});


function berthArgs(args: readonly string[]): string[] {
  return ['--import', 'tsx', join(REPO, 'src/bin/berth.ts'), '-H', `unix://${d.socket}`, ...args];
}

/** Runs berth to the end; `killAfterMs` stops a command that follows forever (logs -f). */
function berth(args: readonly string[], options: { stdin?: string; killAfterMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, berthArgs(args), { env: env(), cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(options.stdin);
    const timer = setTimeout(() => child.kill('SIGTERM'), options.killAfterMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr });
    });
  });
}

/** berth in a pty of 33×91 (script(1)), typing each input after the previous output settled; berth's exit code shows as `rc=N`. */
function inPty(args: readonly string[], inputs: readonly string[]): Promise<string> {
  const command = `stty cols 91 rows 33; ${[process.execPath, ...berthArgs(args)].map((a) => `'${a}'`).join(' ')}; echo "rc=$?"`;
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: env(), cwd: REPO });
    let out = '';
    let next = 0;
    const feed = (): void => {
      if (next < inputs.length) child.stdin.write(inputs[next++]!);
    };
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      // script ends the session when its input ends: keep it open until berth is done
      if (/rc=\d+/.test(out)) child.stdin.end();
      else setTimeout(feed, 300);
    });
    const timer = setTimeout(() => child.kill(), 30_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('berth run', () => {
  test('runs in the foreground with the output on its streams and the exit code of the container', async () => {
    const r = await berth(['run', '--rm', '--name', 'cli-fg', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    // --rm: gone by the time run returns (the wait was for `removed`)
    const ps = await berth(['ps', '-a', '-q', '--filter', 'name=cli-fg']);
    assert.equal(ps.code, 0, ps.stderr);
    assert.equal(ps.stdout, '');
  });

  test('passes stdin with -i, and flags become the container config', async () => {
    const r = await berth(['run', '--rm', '-i', '-e', 'GREETING=hi', '-w', '/tmp', '-u', '1000', '--hostname', 'boat', 'busybox', 'sh', '-c', 'read line; echo "$GREETING $line $(pwd) $(id -u) $(hostname)"'], { stdin: 'there\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi there /tmp 1000 boat\n');
  });

  test('-d prints the ID, logs -f follows the output', async () => {
    const run = await berth(['run', '-d', '--name', 'cli-bg', '--label', 'team=berth', 'busybox', 'sh', '-c', 'echo first; sleep 1; echo second; sleep 30']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^[0-9a-f]{64}\n$/);
    const logs = await berth(['logs', '-f', 'cli-bg'], { killAfterMs: 2500 });
    assert.equal(logs.stdout, 'first\nsecond\n');
    const tail = await berth(['logs', '--tail', '1', '-t', 'cli-bg']);
    assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z second\n$/);
    const ps = await berth(['ps', '--filter', 'label=team=berth', '--format', '{{.Names}} {{.State}} {{.Image}}']);
    assert.equal(ps.stdout, 'cli-bg running busybox\n');
    const table = await berth(['ps']);
    assert.match(table.stdout, /^CONTAINER ID {3}IMAGE {5}COMMAND {18}CREATED {2,}STATUS {2,}PORTS {2,}NAMES\n/);
    assert.match(table.stdout, new RegExp(`${run.stdout.slice(0, 12)} +busybox +"sh -c 'echo first; …" .*cli-bg\\n`));
  });

  test('an unknown flag is a usage error: 125 and docker\'s message', async () => {
    const r = await berth(['run', '--no-such-flag', 'busybox']);
    assert.equal(r.code, 125);
    assert.equal(r.stderr, "unknown flag: --no-such-flag\nSee 'berth run --help'.\n");
  });

  test('an image that is nowhere is docker\'s error with 125', async () => {
    const r = await berth(['run', '--rm', 'localhost:1/nosuch/image:v1', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Unable to find image 'localhost:1\/nosuch\/image:v1' locally\n/);
    assert.match(r.stderr, /berth: Error response from daemon: .+\n\nRun 'berth run --help' for more information\n$/);
  });

  test('a command not found exits 127, one not executable 126', async () => {
    const missing = await berth(['run', '--rm', 'busybox', 'no-such-command']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /executable file not found/);
    const notExec = await berth(['run', '--rm', 'busybox', '/etc/passwd']);
    assert.equal(notExec.code, 126, notExec.stderr);
  });

  test('-it gets a terminal of the local size, raw input, and the exit code', async () => {
    const out = await inPty(['run', '-it', '--rm', 'busybox', 'sh'], ['tty; stty size; exit 7\n']);
    assert.match(out, /\/dev\/pts\/\d+\r\n33 91\r\n/);
    assert.match(out, /rc=7/);
  });

  test('ctrl-p ctrl-q detaches from -it and leaves the container running', async () => {
    const out = await inPty(['run', '-it', '--name', 'cli-detach', 'busybox', 'sh'], ['echo ready\n', '\x10\x11']);
    assert.match(out, /rc=0/);
    assert.equal((await berth(['ps', '--filter', 'name=cli-detach', '--format', '{{.State}}'])).stdout, 'running\n');
    assert.equal((await berth(['rm', '-f', 'cli-detach'])).code, 0);
  });
});

describe('berth exec, inspect and the lifecycle verbs', () => {
  test('exec runs with the container\'s env, -e and -w, and returns the exit code', async () => {
    const run = await berth(['run', '-d', '--name', 'cli-exec', '-e', 'FROM_RUN=1', '-w', '/etc', 'busybox', 'sleep', '60']);
    assert.equal(run.code, 0, run.stderr);
    const inherited = await berth(['exec', 'cli-exec', 'sh', '-c', 'echo $FROM_RUN $(pwd)']);
    assert.equal(inherited.stdout, '1 /etc\n');
    const r = await berth(['exec', '-e', 'FOO=bar', '-w', '/tmp', 'cli-exec', 'sh', '-c', 'echo $FOO $(pwd); echo oops >&2; exit 4']);
    assert.equal(r.code, 4);
    assert.equal(r.stdout, 'bar /tmp\n');
    assert.equal(r.stderr, 'oops\n');
    const stdin = await berth(['exec', '-i', 'cli-exec', 'cat'], { stdin: 'piped\n' });
    assert.equal(stdin.stdout, 'piped\n');
    const missing = await berth(['exec', 'no-such-container', 'true']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: No such container: no-such-container\n');
  });

  test('inspect, stop, start, kill, wait, rm as docker prints them', async () => {
    const run = await berth(['run', '-d', '--name', 'cli-life', 'busybox', 'sleep', '60']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const inspect = await berth(['inspect', '--format', '{{.Id}} {{.State.Status}} {{.Name}}', 'cli-life']);
    assert.equal(inspect.stdout, `${id} running /cli-life\n`);
    const [full] = JSON.parse((await berth(['container', 'inspect', 'cli-life'])).stdout) as Array<{ Config: { Cmd: string[] } }>;
    assert.deepEqual(full!.Config.Cmd, ['sleep', '60']);
    const image = await berth(['inspect', '--format', '{{.RepoTags}}', 'busybox']);
    assert.equal(image.stdout, '[busybox:latest]\n');
    const nothing = await berth(['inspect', 'no-such-thing']);
    assert.equal(nothing.code, 1);
    assert.equal(nothing.stdout, '[]\n');
    assert.equal(nothing.stderr, 'Error: No such object: no-such-thing\n');

    const stop = await berth(['stop', '-t', '1', 'cli-life']);
    assert.equal(stop.stdout, 'cli-life\n');
    assert.match((await berth(['ps', '-a', '--filter', 'name=cli-life', '--format', '{{.Status}}'])).stdout, /^Exited \((137|143)\)/);
    assert.equal((await berth(['ps', '-q', '--filter', 'name=cli-life'])).stdout, '');
    assert.equal((await berth(['start', 'cli-life'])).stdout, 'cli-life\n');
    assert.equal((await berth(['kill', '-s', 'KILL', 'cli-life'])).stdout, 'cli-life\n');
    assert.equal((await berth(['wait', 'cli-life'])).stdout, '137\n');
    assert.equal((await berth(['rm', 'cli-life'])).stdout, 'cli-life\n');
    const again = await berth(['rm', 'cli-life']);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'Error response from daemon: No such container: cli-life\n');
  });

  test('cp both ways, with docker\'s rename rule, and volume verbs', async () => {
    const local = await mkdtemp(join(tmpdir(), 'berth-cli-cp-'));
    try {
      assert.equal((await berth(['run', '-d', '--name', 'cli-cp', 'busybox', 'sleep', '60'])).code, 0);
      await writeFile(join(local, 'note.txt'), 'from the host\n');
      assert.equal((await berth(['cp', join(local, 'note.txt'), 'cli-cp:/tmp/'])).code, 0);
      assert.equal((await berth(['cp', join(local, 'note.txt'), 'cli-cp:/tmp/renamed.txt'])).code, 0);
      assert.equal((await berth(['exec', 'cli-cp', 'cat', '/tmp/note.txt', '/tmp/renamed.txt'])).stdout, 'from the host\nfrom the host\n');
      assert.equal((await berth(['cp', 'cli-cp:/etc', join(local, 'etc-copy')])).code, 0);
      assert.match(await readFile(join(local, 'etc-copy', 'passwd'), 'utf8'), /^root:/);
      const missing = await berth(['cp', 'cli-cp:/no/such', join(local, 'x')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^Error response from daemon: Could not find the file \/no\/such in container cli-cp\n$/);
    } finally {
      await berth(['rm', '-f', 'cli-cp']);
      await rm(local, { recursive: true, force: true });
    }
    assert.equal((await berth(['volume', 'create', 'cli-vol'])).stdout, 'cli-vol\n');
    assert.match((await berth(['volume', 'ls'])).stdout, /^DRIVER {4}VOLUME NAME\n(.*\n)*local {5}cli-vol\n/);
    assert.equal((await berth(['volume', 'inspect', '--format', '{{.Name}} {{.Driver}}', 'cli-vol'])).stdout, 'cli-vol local\n');
    assert.equal((await berth(['volume', 'rm', 'cli-vol'])).stdout, 'cli-vol\n');
    assert.equal((await berth(['volume', 'ls', '-q', '--filter', 'name=cli-vol'])).stdout, '');
  });

  test('image verbs go to the daemon named with -H', async () => {
    assert.equal((await berth(['tag', 'busybox', 'cli-tagged:v1'])).code, 0);
    // the daemon's own view agrees: the tag was made in its store, not in a local one
    const listed = await d.docker('images', '--format', '{{.Repository}}:{{.Tag}}');
    assert.match(listed.stdout, /^cli-tagged:v1$/m);
    assert.match((await berth(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout, /^cli-tagged:v1 [0-9a-f]{12}$/m);
    assert.equal((await berth(['rmi', 'cli-tagged:v1'])).stdout, 'Untagged: cli-tagged:v1\n');
    assert.doesNotMatch((await d.docker('images', '--format', '{{.Repository}}')).stdout, /cli-tagged/);
  });

  test('version and info come from the daemon', async () => {
    const v = await berth(['version', '--format', '{{.Server.ApiVersion}}']);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^1\.\d+\n$/);
    const info = await berth(['info', '--format', '{{.OSType}}']);
    assert.equal(info.stdout, 'linux\n');
    // docker's template sees Go's field name, and {{json .}} only the JSON one
    assert.equal((await berth(['version', '--format', '{{.Server.APIVersion}}'])).stdout, v.stdout);
    assert.doesNotMatch((await berth(['version', '--format', '{{json .Server}}'])).stdout, /"APIVersion"/);
  });

  test('system df counts containers and volumes as the docker CLI does; events take relative times', async () => {
    const run = await berth(['run', '-d', '--name', 'cli-df', '-v', 'cli-df-vol:/data', 'busybox', 'sh', '-c', 'echo hi > /data/x; sleep 60']);
    assert.equal(run.code, 0, run.stderr);
    try {
      const ours = await berth(['system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Active}}']);
      const docker = await d.docker('system', 'df', '--format', '{{.Type}} {{.TotalCount}} {{.Active}}');
      assert.equal(ours.stdout, docker.stdout);
      // other tests' containers may run beside it: at least this one, and its volume, count
      assert.match(ours.stdout, /^Containers [1-9]\d* [1-9]\d*$/m);
      assert.match(ours.stdout, /^Local Volumes [1-9]\d* [1-9]\d*$/m);
      const verbose = await berth(['system', 'df', '-v']);
      assert.match(verbose.stdout, /^cli-df-vol +1 +\d/m);
      const sized = await berth(['ps', '-s']);
      assert.match(sized.stdout.split('\n')[0]!, / +NAMES +SIZE$/);
      const events = await berth(['events', '--since', '1m', '--until', '0s', '--filter', 'container=cli-df', '--format', '{{.Action}}']);
      assert.equal(events.code, 0, events.stderr);
      assert.match(events.stdout, /^create$/m);
    } finally {
      await berth(['rm', '-f', 'cli-df']);
      await berth(['volume', 'rm', 'cli-df-vol']);
    }
  });
});
