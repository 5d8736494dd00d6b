import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router } from './router.ts';
import { EngineError } from '../util/errors.ts';

function names(): { router: Router; hit: string[] } {
  const hit: string[] = [];
  const router = new Router()
    .add('GET', '/containers/json', () => void hit.push('list'))
    .add('GET', '/containers/{id}/json', () => void hit.push('inspect'))
    .add('POST', '/containers/{id}/start', () => void hit.push('start'))
    .add('DELETE', '/containers/{id}', () => void hit.push('delete'));
  return { router, hit };
}

describe('Router', () => {
  it('matches versioned and unversioned paths to the same route with the asked version', () => {
    const { router } = names();
    const plain = router.match('GET', '/containers/abc/json');
    const versioned = router.match('GET', '/v1.44/containers/abc/json');
    assert.deepEqual(plain?.params, { id: 'abc' });
    assert.equal(plain?.version, '1.51');
    assert.deepEqual(versioned?.params, { id: 'abc' });
    assert.equal(versioned?.version, '1.44');
    assert.equal(plain?.handler, versioned?.handler);
  });

  it('prefers the literal route registered first over a parameter', () => {
    const { router, hit } = names();
    void router.match('GET', '/containers/json')!.handler({} as never);
    assert.deepEqual(hit, ['list']);
  });

  it('decodes percent-encoded parameters and tells methods apart', () => {
    const { router } = names();
    assert.deepEqual(router.match('DELETE', '/v1.51/containers/my%2Dname')?.params, { id: 'my-name' });
    assert.equal(router.match('PUT', '/containers/x'), undefined);
    assert.equal(router.match('GET', '/containers/x/start'), undefined);
  });

  it('answers HEAD with the GET route', () => {
    const { router } = names();
    assert.ok(router.match('HEAD', '/containers/json'));
  });

  it('returns undefined for unknown paths', () => {
    const { router } = names();
    assert.equal(router.match('GET', '/nope'), undefined);
    assert.equal(router.match('GET', '/v1.51/containers/a/b/json'), undefined);
  });

  it('refuses API versions outside 1.24..1.51 with moby wording', () => {
    const { router } = names();
    assert.throws(() => router.match('GET', '/v1.99/containers/json'), (err: unknown) => err instanceof EngineError && err.kind === 'invalid-argument' && err.message === 'client version 1.99 is too new. Maximum supported API version is 1.51');
    assert.throws(() => router.match('GET', '/v1.12/containers/json'), /client version 1.12 is too old. Minimum supported API version is 1.24/);
    assert.ok(router.match('GET', '/v1.24/containers/json'));
  });

  it('lets a {name*} segment take the slashes of an image name', () => {
    const router = new Router().add('GET', '/images/{name*}/json', () => {}).add('DELETE', '/images/{name*}', () => {});
    assert.deepEqual(router.match('GET', '/v1.51/images/127.0.0.1:5000/a/b/json')?.params, { name: '127.0.0.1:5000/a/b' });
    assert.deepEqual(router.match('DELETE', '/images/busybox%3Alatest')?.params, { name: 'busybox:latest' });
    assert.equal(router.match('GET', '/images/json'), undefined);
  });

  it('mounts other routers', () => {
    const outer = new Router().mount(new Router().add('GET', '/_ping', () => {}));
    assert.ok(outer.match('GET', '/v1.40/_ping'));
  });
});
