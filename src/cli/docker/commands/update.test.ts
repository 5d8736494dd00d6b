import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, UsageError } from '../args.ts';
import { OptionError } from './container-opts.ts';
import { updateBody } from './update.ts';

const SPECS = { memory: { type: 'string', short: 'm' }, 'memory-swap': { type: 'string' }, 'pids-limit': { type: 'string' }, cpus: { type: 'string' }, restart: { type: 'string' }, 'blkio-weight': { type: 'string' } } as const;

test('update sends only the flags given, in the API\'s units', () => {
  const { flags } = parseArgs(['-m', '256m', '--memory-swap', '-1', '--pids-limit', '50', '--cpus', '1.5', '--restart', 'on-failure:2'], SPECS);
  assert.deepEqual(updateBody(flags), { PidsLimit: 50, NanoCpus: 1.5e9, Memory: 256 * 1024 * 1024, MemorySwap: -1, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } });
  assert.deepEqual(updateBody(parseArgs(['--blkio-weight', '300'], SPECS).flags), { BlkioWeight: 300 });
  assert.throws(() => updateBody(parseArgs(['-m', 'x'], SPECS).flags), (e: unknown) => e instanceof UsageError && e.message === 'invalid argument "x" for "-m, --memory" flag: invalid size: \'x\'');
  assert.throws(() => updateBody(parseArgs(['--restart', 'on-failure:x'], SPECS).flags), (e: unknown) => e instanceof OptionError && /maximum retry count must be an integer/.test(e.message));
});
