/**
 * docker's credential helpers: `credHelpers` per registry before `credsStore`, the helper's
 * get/store/erase protocol (a real helper program on PATH, keeping secrets in its own dir), the
 * empty `auths` entry docker writes for such a login, and the helper's "not found" as no login.
 */

import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerConfigCredentials } from './credentials.ts';

let dir: string;
let savedPath: string | undefined;

/** A helper in sh that keeps one file per server under $dir/<name>-store. */
async function installHelper(name: string): Promise<string> {
  const store = join(dir, `${name}-store`);
  const script = `#!/bin/sh
set -e
mkdir -p ${store}
key() { printf '%s' "$1" | od -An -tx1 | tr -d ' \\n'; }
case "$1" in
  get) server=$(cat); f=${store}/$(key "$server"); [ -f "$f" ] || { echo "credentials not found in native keychain"; exit 1; }; cat "$f" ;;
  store) json=$(cat); server=$(printf '%s' "$json" | sed 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/'); printf '%s' "$json" > ${store}/$(key "$server") ;;
  erase) server=$(cat); f=${store}/$(key "$server"); [ -f "$f" ] || { echo "credentials not found in native keychain"; exit 1; }; rm "$f" ;;
  *) echo "unknown action $1" >&2; exit 2 ;;
esac
`;
  const path = join(dir, `docker-credential-${name}`);
  await writeFile(path, script);
  await chmod(path, 0o755);
  return store;
}

describe('credential helpers', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-credhelpers-'));
    savedPath = process.env['PATH'];
    process.env['PATH'] = `${dir}:${savedPath ?? '/usr/bin:/bin'}`;
  });
  after(async () => {
    process.env['PATH'] = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  it('stores, reads and erases through credsStore, leaving docker\'s empty auths entry', async () => {
    const store = await installHelper('berthtest');
    const path = join(dir, 'config.json');
    await writeFile(path, JSON.stringify({ credsStore: 'berthtest', auths: {} }));
    const creds = new DockerConfigCredentials(path);
    assert.equal(await creds.get('127.0.0.1:5001'), undefined, 'not found is no login');
    await creds.set('127.0.0.1:5001', { username: 'alice', password: 's3cret' });
    const file = JSON.parse(await readFile(path, 'utf8')) as { auths: Record<string, unknown>; credsStore: string };
    assert.deepEqual(file.auths, { '127.0.0.1:5001': {} });
    assert.equal(file.credsStore, 'berthtest');
    assert.ok(!(await readFile(path, 'utf8')).includes('s3cret'), 'the secret stays with the helper');
    assert.equal((await readdir(store)).length, 1);
    assert.deepEqual(await creds.get('http://127.0.0.1:5001/v2/'), { username: 'alice', password: 's3cret' });
    assert.equal(await creds.remove('127.0.0.1:5001'), true);
    assert.equal(await creds.get('127.0.0.1:5001'), undefined);
    assert.deepEqual((JSON.parse(await readFile(path, 'utf8')) as { auths: object }).auths, {});
  });

  it('prefers credHelpers for its registry and keeps other logins in the file', async () => {
    await installHelper('perhost');
    const path = join(dir, 'config2.json');
    const plain = Buffer.from('bob:pw').toString('base64');
    await writeFile(path, JSON.stringify({ credHelpers: { 'registry.example:5000': 'perhost' }, auths: { '127.0.0.1:5000': { auth: plain } } }));
    const creds = new DockerConfigCredentials(path);
    await creds.set('registry.example:5000', { username: 'carol', password: 'token' });
    assert.deepEqual(await creds.get('registry.example:5000'), { username: 'carol', password: 'token' });
    assert.deepEqual(await creds.get('127.0.0.1:5000'), { username: 'bob', password: 'pw' });
  });

  it('names a missing or failing helper', async () => {
    const path = join(dir, 'config3.json');
    await writeFile(path, JSON.stringify({ credsStore: 'absent-helper' }));
    await assert.rejects(new DockerConfigCredentials(path).get('127.0.0.1:5001'), /docker-credential-absent-helper: not found in PATH/);
    await writeFile(join(dir, 'docker-credential-broken'), '#!/bin/sh\necho "keychain locked" >&2\nexit 1\n');
    await chmod(join(dir, 'docker-credential-broken'), 0o755);
    await writeFile(path, JSON.stringify({ credsStore: 'broken' }));
    await assert.rejects(new DockerConfigCredentials(path).get('127.0.0.1:5001'), /from docker-credential-broken: keychain locked/);
  });
});
