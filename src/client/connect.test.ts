import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEngine, socketOf, startDaemon, withEngine } from './connect.ts';
import { ConnectError, EngineClient } from './engine-client.ts';

test('hosts other than unix:// are refused', () => {
  assert.equal(socketOf('unix:///run/x.sock'), '/run/x.sock');
  assert.throws(() => socketOf('tcp://1.2.3.4:2375'), /only unix:\/\/ sockets are supported/);
});

test('a named socket with no daemon is an error, not an autostart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-connect-'));
  try {
    await assert.rejects(connectEngine(`unix://${join(dir, 'none.sock')}`, {}), (err) => err instanceof ConnectError && /Cannot connect to the Berth daemon/.test(err.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('withEngine starts nothing for a named socket: the body runs once and the connect error surfaces', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-connect-'));
  let calls = 0;
  try {
    await assert.rejects(
      withEngine(`unix://${join(dir, 'none.sock')}`, {}, async (client) => {
        calls++;
        return client.json('GET', '/containers/json');
      }),
      ConnectError,
    );
    assert.equal(calls, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('startDaemon brings berthd up detached and answering /_ping, its output in the log', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-autostart-'));
  const execRoot = await mkdtemp('/run/berth-autostart-');
  const socket = join(dir, 'berth.sock');
  let pid: number | undefined;
  try {
    pid = await startDaemon(`unix://${socket}`, { args: ['--data-root', join(dir, 'root'), '--exec-root', execRoot, '--bridge', 'none'], logFile: join(dir, 'berthd.log'), timeoutMs: 20_000 });
    assert.equal(await new EngineClient(socket).ping(), true);
    const client = await connectEngine(`unix://${socket}`, {});
    const version = await client.json<{ ApiVersion: string }>('GET', '/version');
    assert.match(version.ApiVersion, /^1\.\d+$/);
    assert.equal(typeof (await readFile(join(dir, 'berthd.log'), 'utf8')), 'string');
  } finally {
    if (pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 50));
        } catch {
          break;
        }
      }
    }
    await rm(dir, { recursive: true, force: true });
    await rm(execRoot, { recursive: true, force: true });
  }
});
