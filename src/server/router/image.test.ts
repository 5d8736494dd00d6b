import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../../util/errors.ts';
import { pullReference, registryAuth } from './image.ts';

const encode = (value: unknown, alphabet: 'base64' | 'base64url' = 'base64url'): string => Buffer.from(JSON.stringify(value)).toString(alphabet);

describe('registryAuth', () => {
  it('decodes the base64url JSON the docker CLI sends, padded or not', () => {
    const auth = { username: 'berth', password: 'p+/?>', serveraddress: '127.0.0.1:5001' };
    assert.deepEqual(registryAuth(encode(auth)), auth);
    assert.deepEqual(registryAuth(encode(auth, 'base64')), auth);
  });

  it('treats an absent header or the CLI’s empty config as no credentials', () => {
    assert.deepEqual(registryAuth(undefined), {});
    assert.deepEqual(registryAuth(''), {});
    assert.deepEqual(registryAuth(encode({})), {});
    assert.deepEqual(registryAuth(encode({ username: '', password: '', email: 'x@y' })), {});
  });

  it('refuses what is not base64 JSON of an object, as a bad request', () => {
    for (const header of ['!!!', encode(['a']), encode('text')]) {
      assert.throws(() => registryAuth(header), (err: unknown) => err instanceof EngineError && err.kind === 'invalid-argument' && err.message.startsWith('invalid X-Registry-Auth header: '));
    }
  });
});

describe('pullReference', () => {
  it('joins fromImage with a tag, or a digest with @', () => {
    assert.equal(pullReference('busybox', 'latest'), 'busybox:latest');
    assert.equal(pullReference('127.0.0.1:5000/busybox', null), '127.0.0.1:5000/busybox');
    assert.equal(pullReference('busybox', `sha256:${'a'.repeat(64)}`), `busybox@sha256:${'a'.repeat(64)}`);
  });
});
