/**
 * Reference normalisation against a table of what docker does with the same input.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../../util/errors.ts';
import { familiar, formatReference, parseReference, repositoryName, withDigest, withTag } from './reference.ts';

const D = `sha256:${'ab'.repeat(32)}` as const;

const valid: Array<[input: string, full: string, familiarForm: string]> = [
  ['nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
  ['nginx:1.25', 'docker.io/library/nginx:1.25', 'nginx:1.25'],
  ['library/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
  ['docker.io/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
  ['index.docker.io/library/nginx:x', 'docker.io/library/nginx:x', 'nginx:x'],
  ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
  ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
  ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
  ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
  [`host:5000/a/b@${D}`, `host:5000/a/b@${D}`, `host:5000/a/b@${D}`],
  [`nginx:1.25@${D}`, `docker.io/library/nginx:1.25@${D}`, `nginx:1.25@${D}`],
  [`nginx@${D}`, `docker.io/library/nginx@${D}`, `nginx@${D}`],
  ['127.0.0.1:5000/busybox', '127.0.0.1:5000/busybox:latest', '127.0.0.1:5000/busybox:latest'],
  ['registry.example.com/team/app:v1.2.3-rc_1', 'registry.example.com/team/app:v1.2.3-rc_1', 'registry.example.com/team/app:v1.2.3-rc_1'],
  ['Registry.Example.com/app', 'Registry.Example.com/app:latest', 'Registry.Example.com/app:latest'],
  ['UPPER/app', 'UPPER/app:latest', 'UPPER/app:latest'],
  ['a__b/c--d/e.f', 'docker.io/a__b/c--d/e.f:latest', 'a__b/c--d/e.f:latest'],
  ['[::1]:5000/app:t', '[::1]:5000/app:t', '[::1]:5000/app:t'],
  ['nginx:Latest_TAG', 'docker.io/library/nginx:Latest_TAG', 'nginx:Latest_TAG'],
];

const invalid: Array<[input: string, message: string]> = [
  ['', 'invalid reference format'],
  ['Nginx', 'invalid reference format: repository name must be lowercase'],
  ['user/App', 'invalid reference format: repository name must be lowercase'],
  ['localhost:5000/Foo/bar', 'invalid reference format: repository name must be lowercase'],
  ['nginx:', 'invalid reference format'],
  ['nginx:-bad', 'invalid reference format'],
  [`nginx:${'t'.repeat(129)}`, 'invalid reference format'],
  ['nginx@sha256:short', 'invalid reference format: unsupported digest sha256:short'],
  ['nginx@', 'invalid reference format'],
  ['a//b', 'invalid reference format'],
  ['-nginx', 'invalid reference format'],
  ['nginx/', 'invalid reference format'],
  ['nginx..x', 'invalid reference format'],
  ['host:port/app', 'invalid reference format'],
  ['with space', 'invalid reference format'],
  ['ab'.repeat(32), `invalid repository name (${'ab'.repeat(32)}), cannot specify 64-byte hexadecimal strings`],
  [`x/${'a'.repeat(250)}`, 'invalid reference format: repository name must not be more than 255 characters'],
];

describe('parseReference', () => {
  for (const [input, full, fam] of valid) {
    it(`normalises ${JSON.stringify(input)} like docker`, () => {
      const ref = parseReference(input);
      assert.equal(formatReference(ref), full);
      assert.equal(familiar(ref), fam);
      // Normalising the normal form changes nothing.
      assert.deepEqual(parseReference(full), ref);
    });
  }

  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + '…' : input)}`, () => {
      assert.throws(() => parseReference(input), (err: unknown) => {
        assert.ok(err instanceof EngineError);
        assert.equal(err.kind, 'invalid-argument');
        assert.equal(err.message, message);
        return true;
      });
    });
  }

  it('keeps tag and digest apart and can skip the default tag', () => {
    assert.deepEqual(parseReference('nginx', { defaultTag: false }), { domain: 'docker.io', path: 'library/nginx' });
    const ref = parseReference(`localhost:5000/a/b:v1@${D}`);
    assert.deepEqual(ref, { domain: 'localhost:5000', path: 'a/b', tag: 'v1', digest: D });
    assert.equal(repositoryName(ref), 'localhost:5000/a/b');
    assert.equal(formatReference(withDigest(ref, D)), `localhost:5000/a/b@${D}`);
    assert.equal(formatReference(withTag(ref, 'v2')), 'localhost:5000/a/b:v2');
  });
});
