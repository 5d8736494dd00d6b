import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StaticCredentials } from '../image/registry/index.ts';
import { RequestCredentials } from './image-api.ts';

describe('RequestCredentials', () => {
  const fallback = new StaticCredentials({ '127.0.0.1:5001': { username: 'stored', password: 's' } });
  const creds = new RequestCredentials(fallback);

  it('answers with the fallback outside a request', async () => {
    assert.deepEqual(await creds.get('127.0.0.1:5001'), { username: 'stored', password: 's' });
    assert.equal(await creds.get('127.0.0.1:5000'), undefined);
  });

  it('gives a request its own credentials for the registry it names, and only that one', async () => {
    await creds.run({ username: 'u', password: 'p', serveraddress: 'https://127.0.0.1:5000/v2/' }, async () => {
      assert.deepEqual(await creds.get('127.0.0.1:5000'), { username: 'u', password: 'p' });
      assert.deepEqual(await creds.get('127.0.0.1:5001'), { username: 'stored', password: 's' });
    });
  });

  it('keeps concurrent requests apart', async () => {
    const seen = await Promise.all(
      ['a', 'b'].map((user) =>
        creds.run({ username: user, password: 'p' }, async () => {
          await new Promise((r) => setTimeout(r, user === 'a' ? 20 : 0));
          return (await creds.get('registry.test'))?.username;
        }),
      ),
    );
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('falls back when a request carries no password', async () => {
    await creds.run({ username: 'u' }, async () => assert.deepEqual(await creds.get('127.0.0.1:5001'), { username: 'stored', password: 's' }));
  });
});
