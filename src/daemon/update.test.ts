import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { updatedHostConfig, updatedResources } from './update.ts';

const MB = 1024 * 1024;

describe('update', () => {
  it('changes only what the request sets (0 keeps, as moby reads it)', () => {
    const current = { Memory: 64 * MB, CpuShares: 512, PidsLimit: 20, RestartPolicy: { Name: 'no' as const, MaximumRetryCount: 0 } };
    const next = updatedHostConfig(current, { Memory: 128 * MB, CpuShares: 0, PidsLimit: -1, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });
    assert.deepEqual(next, { Memory: 128 * MB, CpuShares: 512, PidsLimit: -1, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });
    assert.deepEqual(updatedHostConfig(current, {}), current);
  });

  it("refuses what moby's update refuses", () => {
    assert.throws(() => updatedHostConfig({}, { Memory: MB }), { message: 'Minimum memory limit allowed is 6MB' });
    assert.throws(() => updatedHostConfig({ MemorySwap: 64 * MB }, { Memory: 128 * MB }), { message: 'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time' });
    assert.throws(() => updatedHostConfig({}, { Memory: 128 * MB, MemorySwap: 64 * MB }), { message: 'Minimum memoryswap limit should be larger than memory limit, see usage' });
    assert.throws(() => updatedHostConfig({ CpuQuota: 50_000 }, { NanoCpus: 1e9 }), { message: 'Conflicting options: Nano CPUs and CPU Period cannot both be set' });
    assert.throws(() => updatedHostConfig({ AutoRemove: true }, { RestartPolicy: { Name: 'always' } }), { message: 'Restart policy cannot be updated because AutoRemove is enabled for the container' });
    assert.throws(() => updatedHostConfig({}, { RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }), /maximum retry count can only be used with 'on-failure'/);
  });

  it('hands the runtime the cgroup settings Docker derives from the HostConfig', () => {
    assert.deepEqual(updatedResources({ Memory: 64 * MB, NanoCpus: 5e8, PidsLimit: 30 }), { memory: { limit: 64 * MB, swap: 128 * MB }, cpu: { period: 100_000, quota: 50_000 }, pids: { limit: 30 } });
  });
});
