/**
 * docker-compose (Debian's v1, on docker-py: a second real Engine API client besides the docker
 * CLI) against berthd: a project with a user network, a published port, a bind mount, a service
 * built from a Dockerfile, depends_on and service names resolved by DNS; `up --build`, `ps`,
 * `exec`, `logs`, `restart`, an idempotent second `up`, and `down --rmi local -v` leaving no
 * container, network or image of the project. Traffic only to 127.0.0.1 and the project's own
 * containers.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TestDaemon } from './helpers.ts';
import { cniPluginsPresent, NetworkTestEnv } from './network-env.ts';

const exec = promisify(execFile);
const compose = await exec('docker-compose', ['version', '--short']).then(() => true, () => false);
const skip = process.getuid?.() !== 0 ? 'needs root' : !cniPluginsPresent ? 'needs containernetworking-plugins' : !compose ? 'needs docker-compose (scripts/fixtures/clients.sh)' : false;

const env = new NetworkTestEnv('bc');
let d: TestDaemon;
let project: string;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function dc(...args: string[]): Promise<string> {
  const childEnv = { ...process.env, DOCKER_HOST: `unix://${d.socket}`, COMPOSE_PROJECT_NAME: 'berthtest' };
  try {
    const { stdout, stderr } = await exec('docker-compose', args, { cwd: project, env: childEnv, timeout: 180_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`docker-compose ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`);
  }
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 40; i++) {
    last = await probe().catch(() => undefined as T);
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last as T;
}

describe('docker-compose against berthd', { skip, concurrency: false }, () => {
  let port = 0;
  before(async () => {
    await env.record();
    d = await TestDaemon.create();
    await d.start(env.daemonArgs);
    project = await mkdtemp(join(d.dir, 'project-'));
    port = await freePort();
    await mkdir(join(project, 'www'));
    await writeFile(join(project, 'www', 'index.html'), 'hello compose\n');
    await mkdir(join(project, 'app'));
    await writeFile(join(project, 'app', 'Dockerfile'), 'FROM busybox\nRUN echo built-by-compose > /msg\nCMD ["sh", "-c", "cat /msg; exec sleep 3600"]\n');
    await writeFile(
      join(project, 'docker-compose.yml'),
      [
        'version: "3.8"',
        'services:',
        '  web:',
        '    image: busybox',
        '    command: ["httpd", "-f", "-p", "80", "-h", "/www"]',
        '    volumes: ["./www:/www:ro"]',
        `    ports: ["127.0.0.1:${port}:80"]`,
        '    networks: [back]',
        '  client:',
        '    image: busybox',
        '    command: ["sh", "-c", "until wget -qO- http://web/; do sleep 0.2; done; exec sleep 3600"]',
        '    depends_on: [web]',
        '    environment: { ROLE: client }',
        '    networks: [back]',
        '  app:',
        '    build: ./app',
        '    networks: [back]',
        'networks:',
        '  back: {}',
      ].join('\n'),
    );
  });
  after(async () => {
    if (d !== undefined) await env.restore(d);
  });

  it('brings a project up with a build, serves it, and takes it down without leftovers', async () => {
    const up = await dc('up', '-d', '--build');
    assert.match(up, /Successfully built [0-9a-f]{12}/);
    assert.match(up, /Creating berthtest_client_1 \.\.\. done/);
    const ps = await dc('ps');
    assert.match(ps, /berthtest_web_1\s+httpd -f -p 80 -h \/www\s+Up\s+127\.0\.0\.1:\d+->80\/tcp/);
    assert.match(ps, /berthtest_app_1 .* Up/);
    assert.equal(await eventually(() => get(port), (b) => b === 'hello compose\n'), 'hello compose\n');
    // the client resolved `web` through the network's DNS and fetched the page
    const logs = await eventually(() => dc('logs', 'client'), (l) => l.includes('hello compose'));
    assert.match(logs, /hello compose/);
    assert.match(await dc('logs', 'app'), /built-by-compose/);
    assert.equal((await dc('exec', '-T', 'client', 'sh', '-c', 'echo $ROLE')).trim(), 'client');

    assert.match(await dc('restart', 'web'), /Restarting berthtest_web_1 \.\.\. done/);
    assert.equal(await eventually(() => get(port), (b) => b === 'hello compose\n'), 'hello compose\n');
    const again = await dc('up', '-d');
    assert.match(again, /berthtest_web_1 is up-to-date/);
    assert.doesNotMatch(again, /Recreating|needs to be recreated/);

    const down = await dc('down', '--rmi', 'local', '-v');
    assert.match(down, /Removing network berthtest_back/);
    assert.match(down, /Removing image berthtest_app/);
    assert.deepEqual(await d.containerIds(), []);
    const networks = (await d.docker('network', 'ls', '--format', '{{.Name}}')).stdout.split('\n').filter(Boolean);
    // the project's networks are gone; Docker's three predefined ones stay
    assert.deepEqual(networks.sort(), ['bridge', 'host', 'none']);
    const images = (await d.docker('images', '--format', '{{.Repository}}')).stdout;
    assert.doesNotMatch(images, /berthtest_app/);
  });
});
