/**
 * `docker build` (the legacy builder) through the real docker CLI against a private berthd:
 * RUN, COPY with globs, --chown and a .dockerignore, ADD of a local tarball, ENV/ARG/WORKDIR/
 * USER/CMD/ENTRYPOINT/HEALTHCHECK/LABEL/EXPOSE in the image config and history, --build-arg,
 * multi-stage with COPY --from and --target, FROM scratch, a failing RUN and a bad Dockerfile
 * (docker's messages and exit codes), and no container left by a successful build.
 */

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DOCKER, REPO, TestDaemon } from './helpers.ts';

const run = promisify(execFile);

/** The berth CLI (from source) against the test daemon. */
async function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(REPO, 'src/bin/berth.ts'), '-H', `unix://${d.socket}`, ...args], { env, cwd: REPO, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
let d: TestDaemon;

async function ok(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function context(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(d.dir, 'ctx-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

describe('docker build against berthd', { concurrency: false }, () => {
  before(async () => {
    d = await TestDaemon.create();
    await d.start();
  });
  after(async () => {
    await d?.removeAllAndCheck(new Set());
  });

  it('runs RUN, COPY, ADD and config instructions into an image that runs as built', async () => {
    const dir = await context({
      'Dockerfile': [
        'FROM busybox',
        'ARG GREETING=hello',
        'ENV APP_HOME=/app PATH_NOTE="two words"',
        'WORKDIR $APP_HOME',
        'COPY *.txt ./',
        'COPY --chown=1000:1000 conf/ /etc/app/',
        'ADD bundle.tar /opt/',
        'RUN echo "$GREETING from RUN" > built.txt && mkdir -p /data && chown 1000 /data',
        'LABEL org.example.role=test',
        'EXPOSE 8080 9090/udp',
        'HEALTHCHECK --interval=5s --retries=2 CMD true',
        'USER 1000',
        'ENTRYPOINT ["sh", "-c"]',
        'CMD ["cat /app/a.txt /app/built.txt /etc/app/app.conf /opt/inner/payload; id -u"]',
      ].join('\n'),
      'a.txt': 'file a\n',
      'b.txt': 'file b\n',
      'skip.txt': 'must not be copied\n',
      'conf/app.conf': 'setting=1\n',
      '.dockerignore': 'skip.txt\n',
    });
    await mkdir(join(dir, 'inner'));
    await writeFile(join(dir, 'inner', 'payload'), 'from the tarball\n');
    await run('tar', ['-C', dir, '-cf', join(dir, 'bundle.tar'), 'inner']);
    const build = await d.docker('build', '-t', 'built:one', '--build-arg', 'GREETING=hi', dir);
    assert.equal(build.code, 0, build.stderr + build.stdout);
    assert.match(build.stdout, /Step 1\/14 : FROM busybox/);
    assert.match(build.stdout, /---> Running in [0-9a-f]{12}/);
    assert.match(build.stdout, /Successfully built [0-9a-f]{12}/);
    assert.match(build.stdout, /Successfully tagged built:one/);

    const out = await ok('run', '--rm', 'built:one');
    assert.equal(out, 'file a\nhi from RUN\nsetting=1\nfrom the tarball\n1000\n');
    assert.equal(await ok('run', '--rm', '--entrypoint', 'ls', 'built:one', '/app'), 'a.txt\nb.txt\nbuilt.txt\n');
    assert.equal((await ok('run', '--rm', '--entrypoint', 'stat', 'built:one', '-c', '%u:%g', '/etc/app/app.conf')).trim(), '1000:1000');

    const [inspect] = JSON.parse(await ok('image', 'inspect', 'built:one')) as { Config: Record<string, unknown> }[];
    const config = inspect!.Config;
    assert.equal(config['WorkingDir'], '/app');
    assert.equal(config['User'], '1000');
    assert.deepEqual(config['Entrypoint'], ['sh', '-c']);
    assert.ok((config['Env'] as string[]).includes('APP_HOME=/app'));
    assert.ok((config['Env'] as string[]).includes('PATH_NOTE=two words'));
    assert.ok(!(config['Env'] as string[]).some((e) => e.startsWith('GREETING=')), 'ARG values stay out of the image');
    assert.deepEqual(config['ExposedPorts'], { '8080/tcp': {}, '9090/udp': {} });
    assert.deepEqual((config['Labels'] as Record<string, string>)['org.example.role'], 'test');
    assert.deepEqual(config['Healthcheck'], { Test: ['CMD-SHELL', 'true'], Interval: 5_000_000_000, Retries: 2 });
    const history = await ok('history', '--no-trunc', '--format', '{{.CreatedBy}}', 'built:one');
    assert.match(history, /#\(nop\) WORKDIR \$APP_HOME/);
    assert.match(history, /echo "\$GREETING from RUN"/);
    assert.deepEqual(await d.containerIds(), [], 'intermediate containers are removed');
  });

  it('reuses the steps of an earlier build until the first one whose input changed', async () => {
    const dir = await context({
      'Dockerfile': 'FROM busybox\nENV STAGE=one\nRUN echo run-one > /one\nCOPY data.txt /data.txt\nRUN cat /one /data.txt > /both\n',
      'data.txt': 'version 1\n',
    });
    const first = await ok('build', '-t', 'built:cache', dir);
    assert.doesNotMatch(first, /Using cache/);
    const again = await ok('build', '-t', 'built:cache', dir);
    assert.equal(again.match(/Using cache/g)?.length, 3, again);
    assert.doesNotMatch(again, /Running in/);
    const idOf = (out: string): string => /Successfully built ([0-9a-f]{12})/.exec(out)![1]!;
    assert.equal(idOf(again), idOf(first));

    await writeFile(join(dir, 'data.txt'), 'version 2\n');
    const changed = await ok('build', '-t', 'built:cache', dir);
    assert.equal(changed.match(/Using cache/g)?.length, 1, 'only the RUN before the COPY is reused');
    assert.equal(await ok('run', '--rm', 'built:cache', 'cat', '/both'), 'run-one\nversion 2\n');
    const fresh = await ok('build', '--no-cache', dir);
    assert.doesNotMatch(fresh, /Using cache/);
  });

  it('builds multi-stage with COPY --from, --target and FROM scratch', async () => {
    const dir = await context({
      'Dockerfile': [
        'FROM busybox AS compile',
        'RUN mkdir /out && echo compiled > /out/artifact',
        'FROM busybox AS final',
        'COPY --from=compile /out/artifact /artifact',
        'CMD ["cat", "/artifact"]',
        'FROM scratch AS empty',
        'COPY --from=compile /bin/busybox /busybox',
        'ENTRYPOINT ["/busybox", "echo", "from scratch"]',
      ].join('\n'),
    });
    await ok('build', '-q', '-t', 'built:final', '--target', 'final', dir);
    assert.equal(await ok('run', '--rm', 'built:final'), 'compiled\n');
    const quiet = await ok('build', '-q', '-t', 'built:scratch', dir);
    assert.match(quiet.trim(), /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok('run', '--rm', 'built:scratch'), 'from scratch\n');
  });

  it('berth build sends the context less .dockerignore (with ! re-includes) and writes --iidfile', async () => {
    const dir = await context({
      'build/Dockerfile.custom': 'FROM busybox\nCOPY . /ctx/\nRUN ls -R /ctx | sort > /listing\nCMD ["cat", "/listing"]\n',
      'keep/a.txt': 'a\n',
      'logs/x.log': 'x\n',
      'logs/important.log': 'i\n',
      '.dockerignore': 'logs\n!logs/important.log\n**/*.tmp\n',
      'keep/scratch.tmp': 't\n',
    });
    const iid = join(dir, 'iid');
    const r = await berth('build', '-f', join(dir, 'build/Dockerfile.custom'), '-t', 'built:berth', '--iidfile', iid, '--label', 'via=berth', dir);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Step 1\/4 : FROM busybox/);
    assert.match(r.stdout, /Successfully tagged built:berth/);
    const listing = await ok('run', '--rm', 'built:berth');
    assert.match(listing, /important\.log/);
    assert.doesNotMatch(listing, /x\.log|scratch\.tmp/);
    assert.match(listing, /a\.txt/);
    const id = await readFile(iid, 'utf8');
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const [inspect] = JSON.parse(await ok('image', 'inspect', 'built:berth')) as { Id: string; Config: { Labels: Record<string, string> } }[];
    assert.equal(inspect!.Id, id);
    assert.equal(inspect!.Config.Labels['via'], 'berth');
    const failing = await context({ Dockerfile: 'FROM busybox\nRUN exit 7\n' });
    const bad = await berth('build', failing);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /returned a non-zero code: 7/);
    // without --force-rm the failed step's container stays, as docker's legacy builder leaves it
    for (const leftover of await d.containerIds()) await ok('rm', '-f', leftover);
  });

  it('a build whose client goes away stops its step and leaves no container', async () => {
    const dir = await context({ Dockerfile: 'FROM busybox\nRUN echo started && sleep 60\n' });
    const env = { ...process.env, DOCKER_CONFIG: join(d.dir, 'docker-config') };
    const child = spawn(DOCKER, ['-H', `unix://${d.socket}`, 'build', '--no-cache', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the step never started: ${out}`)), 30_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        // the RUN's own output, not the `Step 2/2 : RUN echo started…` line
        if (/^started$/m.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGKILL');
    let left = await d.containerIds();
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      left = await d.containerIds();
    }
    assert.deepEqual(left, [], 'the step container is killed and removed');
  });

  it('reports a failing RUN and a bad Dockerfile as docker does, leaving the daemon serving', async () => {
    const failing = await context({ Dockerfile: 'FROM busybox\nRUN echo before && exit 3\n' });
    const r = await d.docker('build', '--force-rm', failing);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /before/);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo before && exit 3' returned a non-zero code: 3/);
    assert.deepEqual(await d.containerIds(), [], '--force-rm removes the failed step container');

    const bad = await context({ Dockerfile: 'FROM busybox\nFROBNICATE now\n' });
    const parse = await d.docker('build', bad);
    assert.equal(parse.code, 1);
    assert.match(parse.stderr, /dockerfile parse error on line 2: unknown instruction: FROBNICATE/);

    const missing = await context({ Dockerfile: 'FROM busybox\nCOPY nothere /x\n' });
    const copy = await d.docker('build', missing);
    assert.equal(copy.code, 1);
    assert.match(copy.stderr, /COPY failed: file not found in build context or excluded by \.dockerignore: stat nothere: file does not exist/);

    const escape = await context({ Dockerfile: 'FROM busybox\nCOPY ../../etc/passwd /x\n' });
    const outside = await d.docker('build', escape);
    assert.equal(outside.code, 1);
    assert.match(outside.stderr, /forbidden path outside the build context/);

    const linked = await context({ Dockerfile: 'FROM busybox\nCOPY link /x\n' });
    await symlink('/etc/shadow', join(linked, 'link'));
    const viaLink = await d.docker('build', linked);
    assert.equal(viaLink.code, 1, 'a context symlink to a host file is not followed out of the context');

    assert.equal((await d.api('GET', '/_ping')).status, 200);
  });
});
