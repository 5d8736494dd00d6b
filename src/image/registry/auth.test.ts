/**
 * Challenge parsing and the Authorizer's token handling, with the token endpoint replaced by
 * a function (the Authorizer's `fetchToken` seam), so no network is involved.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '../../util/errors.ts';
import { Authorizer, basicAuthorization, parseChallenges } from './auth.ts';
import { StaticCredentials } from './credentials.ts';

describe('parseChallenges', () => {
  it('parses docker distribution bearer challenges', () => {
    assert.deepEqual(
      parseChallenges('Bearer realm="http://127.0.0.1:5003/token",service="berth-registry",scope="repository:nginx:pull"'),
      [{ scheme: 'bearer', params: { realm: 'http://127.0.0.1:5003/token', service: 'berth-registry', scope: 'repository:nginx:pull' } }],
    );
  });

  it('keeps commas inside quoted values and handles several challenges', () => {
    assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token", scope="repository:a/b:pull,push", Basic realm="reg"'), [
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', scope: 'repository:a/b:pull,push' } },
      { scheme: 'basic', params: { realm: 'reg' } },
    ]);
  });

  it('accepts unquoted tokens, escapes, and odd spacing', () => {
    assert.deepEqual(parseChallenges('basic  realm = plain , charset="UTF-8"'), [{ scheme: 'basic', params: { realm: 'plain', charset: 'UTF-8' } }]);
    assert.deepEqual(parseChallenges('Bearer realm="a\\"b"'), [{ scheme: 'bearer', params: { realm: 'a"b' } }]);
    assert.deepEqual(parseChallenges(''), []);
  });
});

interface Call {
  url: URL;
  headers: Record<string, string>;
}

function tokenServer(body: (call: Call, n: number) => { status?: number; json: unknown }) {
  const calls: Call[] = [];
  const fetchToken = async (url: URL, headers: Record<string, string>): Promise<Response> => {
    const call = { url, headers };
    calls.push(call);
    const { status = 200, json } = body(call, calls.length);
    return new Response(JSON.stringify(json), { status, headers: { 'Content-Type': 'application/json' } });
  };
  return { calls, fetchToken };
}

const CHALLENGE = 'Bearer realm="http://auth.test/token",service="reg",scope="repository:app:pull"';

describe('Authorizer', () => {
  it('gets a token with service, scopes and Basic credentials, then reuses it up front', async () => {
    const server = tokenServer((_c, n) => ({ json: { token: `t${n}`, expires_in: 300 } }));
    const creds = new StaticCredentials({ 'reg.test': { username: 'u', password: 'p' } });
    const auth = new Authorizer({ credentials: creds, fetchToken: server.fetchToken });
    assert.equal(await auth.authorization('reg.test', ['repository:app:pull']), undefined, 'nothing before the first challenge');
    assert.equal(await auth.onChallenge('reg.test', CHALLENGE, ['repository:app:pull']), 'Bearer t1');
    const { url, headers } = server.calls[0]!;
    assert.equal(`${url.origin}${url.pathname}`, 'http://auth.test/token');
    assert.equal(url.searchParams.get('service'), 'reg');
    assert.deepEqual(url.searchParams.getAll('scope'), ['repository:app:pull']);
    assert.equal(headers['Authorization'], basicAuthorization({ username: 'u', password: 'p' }));
    assert.equal(await auth.authorization('reg.test', ['repository:app:pull']), 'Bearer t1');
    assert.equal(server.calls.length, 1);
    // Another scope set is another token.
    assert.equal(await auth.authorization('reg.test', ['repository:app:pull,push']), 'Bearer t2');
    assert.deepEqual(server.calls[1]!.url.searchParams.getAll('scope'), ['repository:app:pull,push']);
  });

  it('merges the challenge scope with the requested ones and accepts access_token', async () => {
    const server = tokenServer(() => ({ json: { access_token: 'oauth' } }));
    const auth = new Authorizer({ fetchToken: server.fetchToken });
    assert.equal(await auth.onChallenge('h', CHALLENGE, ['repository:other:pull']), 'Bearer oauth');
    assert.deepEqual(server.calls[0]!.url.searchParams.getAll('scope'), ['repository:app:pull', 'repository:other:pull']);
    assert.equal(server.calls[0]!.headers['Authorization'], undefined, 'anonymous token request without credentials');
  });

  it('renews tokens that are about to expire', async () => {
    const server = tokenServer((_c, n) => ({ json: { token: `t${n}`, expires_in: 5 } }));
    const auth = new Authorizer({ fetchToken: server.fetchToken });
    await auth.onChallenge('h', CHALLENGE, []);
    // 5 s lifetime minus the 10 s safety margin: already due.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await auth.authorization('h', ['repository:app:pull']), 'Bearer t2');
  });

  it('fetches one token for concurrent requests of the same scope', async () => {
    const server = tokenServer((_c, n) => ({ json: { token: `t${n}` } }));
    const auth = new Authorizer({ fetchToken: server.fetchToken });
    await auth.onChallenge('h', CHALLENGE, []);
    auth.forget('h');
    const all = await Promise.all([1, 2, 3].map(() => auth.authorization('h', ['x'])));
    assert.deepEqual(all, ['Bearer t2', 'Bearer t2', 'Bearer t2']);
    assert.equal(server.calls.length, 2);
  });

  it('answers Basic challenges from the credential store, nothing without credentials', async () => {
    const creds = new StaticCredentials({ 'b.test:5001': { username: 'berth', password: 'pw' } });
    const auth = new Authorizer({ credentials: creds });
    assert.equal(await auth.onChallenge('b.test:5001', 'Basic realm="r"', []), `Basic ${Buffer.from('berth:pw').toString('base64')}`);
    assert.equal(await auth.onChallenge('other:5001', 'Basic realm="r"', []), undefined);
    assert.equal(await auth.onChallenge('other:5001', 'Negotiate', []), undefined);
  });

  it('reports refused credentials as forbidden', async () => {
    const server = tokenServer(() => ({ status: 401, json: { details: 'incorrect username or password' } }));
    const auth = new Authorizer({ credentials: new StaticCredentials({ h: { username: 'u', password: 'bad' } }), fetchToken: server.fetchToken });
    await assert.rejects(auth.onChallenge('h', CHALLENGE, []), (err: unknown) =>
      err instanceof EngineError && err.kind === 'forbidden' && err.message === 'get token from http://auth.test/token: unauthorized: incorrect username or password');
    const empty = tokenServer(() => ({ json: {} }));
    await assert.rejects(new Authorizer({ fetchToken: empty.fetchToken }).onChallenge('h', CHALLENGE, []), /response has no token/);
  });
});
