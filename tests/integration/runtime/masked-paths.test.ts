// Masked directories (linux.maskedPaths) as the container sees them: empty and read-only, all
// of them one empty tmpfs (the shim mounts one per container and binds it to the others).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runContainer, cleanupStateRoot } from './helpers.ts';

after(cleanupStateRoot);

/** For each path: its entries, whether a write is refused, its filesystem type and device. */
function probe(paths: readonly string[]): string {
  return paths
    .map((p) => `echo "${p} entries=$(ls -A ${p} | wc -l) $(touch ${p}/x 2>/dev/null && echo writable || echo refused) $(stat -f -c %T ${p}) $(stat -c %d ${p})"`)
    .join('; ');
}

function parse(stdout: string): Array<{ path: string; entries: string; write: string; fs: string; dev: string }> {
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [path = '', entries = '', write = '', fs = '', dev = ''] = line.split(' ');
      return { path, entries, write, fs, dev };
    });
}

test('masked directories are empty, read-only and share one tmpfs', () => {
  const masked = ['/proc/sys/fs', '/proc/sys/vm', '/sys/kernel'];
  const r = runContainer(['sh', '-c', probe(masked)], (spec) => {
    spec.linux!.maskedPaths = masked;
  });
  assert.equal(r.code, 0, r.stderr);
  const seen = parse(r.stdout);
  assert.deepEqual(seen.map((s) => s.path), masked);
  for (const s of seen) {
    assert.equal(s.entries, 'entries=0', `${s.path} is not empty`);
    assert.equal(s.write, 'refused', `${s.path} is writable`);
    assert.equal(s.fs, 'tmpfs', `${s.path} is ${s.fs}`);
  }
  assert.equal(new Set(seen.map((s) => s.dev)).size, 1, `masked dirs on devices ${seen.map((s) => s.dev).join(', ')}`);
});

test('a mask over the first masked directory does not unmask the ones after it', () => {
  // /proc/sys hides /proc/sys/fs, the first mask: /sys/kernel is masked all the same.
  const r = runContainer(['sh', '-c', probe(['/proc/sys', '/sys/kernel'])], (spec) => {
    spec.linux!.maskedPaths = ['/proc/sys/fs', '/proc/sys', '/sys/kernel'];
  });
  assert.equal(r.code, 0, r.stderr);
  for (const s of parse(r.stdout)) {
    assert.equal(s.entries, 'entries=0', `${s.path} is not empty`);
    assert.equal(s.write, 'refused', `${s.path} is writable`);
    assert.equal(s.fs, 'tmpfs', `${s.path} is ${s.fs}`);
  }
});
