// process.terminal: the pty master goes to the caller's --console-socket (as runc sends it), or,
// for a foreground run without one, the shim relays it to its own stdio.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cleanupStateRoot, makeBundle, removeBundle, rt, uniqueId, forceDelete, CLI, testStateRoot } from './helpers.ts';

after(cleanupStateRoot);

// Node cannot receive SCM_RIGHTS; a few lines of Python play the console socket's owner.
const RECEIVER = `
import socket, sys, os, array
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1]); srv.listen(1)
print("listening", flush=True)
conn, _ = srv.accept()
msg, fds, flags, addr = socket.recv_fds(conn, 4096, 1)
master = fds[0]
out = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode(errors="replace"))
`;

test('create --console-socket hands the pty master to the caller, and the process has a tty', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-console-'));
  const socketPath = join(dir, 'console.sock');
  const script = join(dir, 'receiver.py');
  writeFileSync(script, RECEIVER);
  const receiver = spawn('python3', [script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  receiver.stdout.on('data', (d) => (output += d));
  await new Promise<void>((resolve) => receiver.stdout.once('data', () => resolve()));
  const bundle = makeBundle(['sh', '-c', 'tty; stty size'], (spec) => {
    spec.process!.terminal = true;
    spec.process!.consoleSize = { height: 40, width: 132 };
  });
  const id = uniqueId('console');
  try {
    const c = rt('create', '--console-socket', socketPath, '--bundle', bundle.dir, id);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(rt('start', id).code, 0);
    await new Promise<void>((resolve) => receiver.on('close', () => resolve()));
    assert.match(output, /\/dev\/pts\/\d+/);
    assert.match(output, /40 132/);
  } finally {
    receiver.kill();
    forceDelete(id);
    removeBundle(bundle);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run with a terminal and no console socket relays the pty through the shim', () => {
  const bundle = makeBundle(['sh', '-c', 'tty && echo relayed'], (spec) => {
    spec.process!.terminal = true;
  });
  const id = uniqueId('relay');
  try {
    // script(1) gives the CLI a real terminal of its own.
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const r = spawnSync('script', ['-qec', `${CLI} --root ${testStateRoot()} run --bundle ${bundle.dir} ${id}`, '/dev/null'], { encoding: 'utf8', env, timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\/dev\/pts\/\d+\r?\nrelayed/);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});
