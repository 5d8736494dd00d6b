/**
 * Transport decisions that need no network: which scheme a host gets, how registry error
 * bodies become messages, and what kind each status is.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryTransport, isLoopbackHost, kindForStatus, registryError } from './transport.ts';

describe('RegistryTransport.endpoint', () => {
  it('uses plain HTTP for loopback and configured insecure registries only', () => {
    const t = new RegistryTransport({ insecureRegistries: ['reg.lan:5000', 'other.lan'] });
    assert.equal(t.endpoint('127.0.0.1:5000'), 'http://127.0.0.1:5000');
    assert.equal(t.endpoint('127.1.2.3'), 'http://127.1.2.3');
    assert.equal(t.endpoint('localhost:5000'), 'http://localhost:5000');
    assert.equal(t.endpoint('[::1]:5000'), 'http://[::1]:5000');
    assert.equal(t.endpoint('reg.lan:5000'), 'http://reg.lan:5000');
    assert.equal(t.endpoint('other.lan:443'), 'http://other.lan:443');
    assert.equal(t.endpoint('reg.lan:6000'), 'https://reg.lan:6000');
    assert.equal(t.endpoint('quay.io'), 'https://quay.io');
    assert.equal(t.endpoint('docker.io'), 'https://registry-1.docker.io');
    assert.equal(t.url('127.0.0.1:5000', '/v2/a/b/manifests/latest').href, 'http://127.0.0.1:5000/v2/a/b/manifests/latest');
    assert.equal(t.url('127.0.0.1:5000', 'http://127.0.0.1:5000/v2/x/blobs/uploads/u?_state=s').search, '?_state=s');
  });

  it('knows loopback names', () => {
    assert.equal(isLoopbackHost('localhost'), true);
    assert.equal(isLoopbackHost('127.0.0.1:1'), true);
    assert.equal(isLoopbackHost('128.0.0.1'), false);
    assert.equal(isLoopbackHost('localhost.example.com'), false);
  });
});

describe('registryError', () => {
  it('words errors like docker from the distribution error body', async () => {
    const res = new Response(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }] }), { status: 404, statusText: 'Not Found' });
    const err = await registryError(res, 'fetch manifest r:x');
    assert.equal(err.message, 'fetch manifest r:x: manifest unknown: manifest unknown');
    assert.equal(err.kind, 'not-found');
    assert.equal(err.status, 404);
    assert.equal(err.code, 'MANIFEST_UNKNOWN');
  });

  it('falls back to the status line for bodies that are not registry errors', async () => {
    const err = await registryError(new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }), 'fetch blob d');
    assert.equal(err.message, 'fetch blob d: 502 Bad Gateway');
    assert.equal(err.kind, 'unavailable');
  });

  it('maps statuses to error kinds', () => {
    assert.deepEqual([401, 403, 404, 409, 405, 400, 416, 429, 500, 503].map(kindForStatus), [
      'forbidden', 'forbidden', 'not-found', 'conflict', 'not-implemented', 'invalid-argument', 'invalid-argument', 'unavailable', 'unavailable', 'unavailable',
    ]);
  });
});
