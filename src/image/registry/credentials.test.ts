/**
 * docker's config.json: the keys docker writes, base64 auth, DOCKER_CONFIG, atomic 0600 rewrite
 * that keeps the entries we do not own.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../util/errors.ts';
import { DOCKER_HUB_AUTH_KEY, DockerConfigCredentials, authKeyFor, defaultDockerConfigPath, serverHost } from './credentials.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-creds-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('credential keys', () => {
  it('uses docker hub legacy key and host[:port] for others', () => {
    assert.equal(authKeyFor('docker.io'), DOCKER_HUB_AUTH_KEY);
    assert.equal(authKeyFor('https://index.docker.io/v1/'), DOCKER_HUB_AUTH_KEY);
    assert.equal(authKeyFor('registry-1.docker.io'), DOCKER_HUB_AUTH_KEY);
    assert.equal(authKeyFor('127.0.0.1:5001'), '127.0.0.1:5001');
    assert.equal(authKeyFor('https://Registry.Example.com/v2/'), 'registry.example.com');
    assert.equal(serverHost('http://localhost:5000'), 'localhost:5000');
    assert.throws(() => serverHost('https://'), (err: unknown) => err instanceof EngineError && err.kind === 'invalid-argument');
  });

  it('finds config.json in $DOCKER_CONFIG or ~/.docker', () => {
    assert.equal(defaultDockerConfigPath({ DOCKER_CONFIG: '/etc/berth-docker' }), '/etc/berth-docker/config.json');
    assert.equal(defaultDockerConfigPath({}), join(homedir(), '.docker', 'config.json'));
  });
});

describe('DockerConfigCredentials', () => {
  it('reads what docker login wrote, including legacy URL keys', () =>
    withDir(async (dir) => {
      const path = join(dir, 'config.json');
      await writeFile(path, JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:secret:with:colons').toString('base64') },
          'https://old.example.com/v1/': { auth: Buffer.from('old:pw').toString('base64') },
          '127.0.0.1:5001': { auth: Buffer.from('berth:berth-pass').toString('base64') },
          'broken.example': { auth: Buffer.from('nocolon').toString('base64') },
        },
      }));
      const store = new DockerConfigCredentials(path);
      assert.deepEqual(await store.get('docker.io'), { username: 'hub', password: 'secret:with:colons' });
      assert.deepEqual(await store.get('old.example.com'), { username: 'old', password: 'pw' });
      assert.deepEqual(await store.get('127.0.0.1:5001'), { username: 'berth', password: 'berth-pass' });
      assert.equal(await store.get('127.0.0.1:5000'), undefined);
      await assert.rejects(store.get('broken.example'), /invalid auth field/);
    }));

  it('a missing file means no credentials; a malformed one is an error', () =>
    withDir(async (dir) => {
      assert.equal(await new DockerConfigCredentials(join(dir, 'none.json')).get('x'), undefined);
      await writeFile(join(dir, 'bad.json'), '{not json');
      await assert.rejects(new DockerConfigCredentials(join(dir, 'bad.json')).get('x'), (err: unknown) => err instanceof EngineError && err.kind === 'invalid-argument');
    }));

  it('writes 0600 atomically, keeps other settings, replaces legacy keys', () =>
    withDir(async (dir) => {
      const path = join(dir, 'nested', 'config.json');
      await mkdir(join(dir, 'nested'));
      await writeFile(path, JSON.stringify({ auths: { 'https://reg.example/v1/': { auth: 'b2xkOm9sZA==' } }, credHelpers: { 'gcr.io': 'gcloud' }, psFormat: 'x' }));
      const store = new DockerConfigCredentials(path);
      await store.set('reg.example', { username: 'new', password: 'pw' });
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      const written = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      assert.deepEqual(written, {
        auths: { 'reg.example': { auth: Buffer.from('new:pw').toString('base64') } },
        credHelpers: { 'gcr.io': 'gcloud' },
        psFormat: 'x',
      });
      assert.equal(await store.remove('reg.example'), true);
      assert.equal(await store.remove('reg.example'), false);
      assert.deepEqual((JSON.parse(await readFile(path, 'utf8')) as { auths: object }).auths, {});
    }));
});
