/**
 * DEVICE_FILTER against the kernel (root; needs the cgroup2 hierarchy, at /sys/fs/cgroup/unified
 * on this hybrid host or /sys/fs/cgroup on a unified one): a real cgroup gets a device program
 * through berth-shim, a process moved into it finds only the allowed nodes usable, and replacing
 * the filter (update) leaves exactly one program attached. The cgroup is removed at the end.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, rmdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CgroupV2Manager, deviceFilterBytes } from '../../../src/cgroups/index.ts';
import type { DeviceCgroup } from '../../../src/oci/runtime-spec.ts';
import { applyDeviceFilter, deviceFilterSteps } from '../../../src/runtime/device-filter.ts';
import { step } from '../../../src/runtime/plan/plan.ts';
import type { Plan } from '../../../src/runtime/plan/plan.ts';
import { ShimConnection } from '../../../src/runtime/shim/shim-client.ts';
import type { ShimExit, ShimMessage } from '../../../src/runtime/shim/shim-client.ts';

const CGROUP2_MAGIC = 0x63677270;
const EACCES = 13;
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const isRoot = process.getuid?.() === 0;

function cgroup2Root(): string | undefined {
  for (const dir of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup']) {
    try {
      if (statfsSync(dir).type === CGROUP2_MAGIC) return dir;
    } catch {
      // not mounted here
    }
  }
  return undefined;
}

const root = cgroup2Root();
const skip = !isRoot ? 'needs root' : root === undefined ? 'needs a cgroup2 mount' : false;

/** BPF_PROG_QUERY(BPF_CGROUP_DEVICE) on the cgroup itself: how many programs it has attached. */
const QUERY = `
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
ids = (ctypes.c_uint32 * 64)()
attr = ctypes.create_string_buffer(128)
struct.pack_into('<IIIIQI', attr, 0, fd, 6, 0, 0, ctypes.addressof(ids), 64)
if libc.syscall(321, 16, attr, 128) < 0:
    sys.exit('bpf: ' + os.strerror(ctypes.get_errno()))
print(struct.unpack_from('<I', attr, 24)[0])
`;

function attachedPrograms(dir: string): number {
  return Number(execFileSync('python3', ['-c', QUERY, dir], { encoding: 'utf8' }).trim());
}

const PROBE = 'echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 && echo zero-ok || echo zero-denied';
const onlyNull: DeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
];
const nullAndZero: DeviceCgroup[] = [...onlyNull, { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }];

describe('DEVICE_FILTER', { skip }, () => {
  let tmp = '';
  let dir = '';
  let manager: CgroupV2Manager;
  let outputs = 0;

  async function run(plan: Plan): Promise<{ messages: ShimMessage[]; exit: ShimExit; out: string }> {
    const outFile = join(tmp, `out-${outputs++}`);
    const fd = openSync(outFile, 'w');
    const conn = await ShimConnection.start(plan, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const messages: ShimMessage[] = [];
    try {
      for (let message = await conn.next(); message !== undefined; message = await conn.next()) messages.push(message);
      return { messages, exit: await conn.exited, out: readFileSync(outFile, 'utf8') };
    } finally {
      conn.close();
    }
  }

  /** The probe, run by the shim as a process placed in the test cgroup before it execs. */
  function probePlan(launcher: Plan = []): Plan {
    return [
      ...launcher,
      step('CLONE', 0),
      step('WRITE_PID_TO', join(dir, 'cgroup.procs')),
      step('WAIT', '', 0),
      step('CHILD'),
      step('EXEC', '/usr/bin:/bin', 3, 'sh', '-c', PROBE),
    ];
  }

  before(() => {
    execFileSync('make', ['-s', '-C', join(repo, 'native')], { stdio: 'inherit' });
    tmp = mkdtempSync(join(tmpdir(), 'berth-devtest-'));
    dir = join(root!, `berth-devtest-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir);
    manager = CgroupV2Manager.load({ mode: 'v2', path: dir.slice(root!.length), dirs: { '': dir } });
  });

  after(async () => {
    rmSync(tmp, { recursive: true, force: true });
    // The probes were reaped by WAIT; the kernel may still be releasing the cgroup.
    for (let i = 0; existsSync(dir); i++) {
      try {
        rmdirSync(dir);
      } catch (err) {
        if (i >= 50) throw err;
        await sleep(20);
      }
    }
  });

  test('a launcher DEVICE_FILTER confines the process moved into the cgroup', async () => {
    const result = await run(probePlan(deviceFilterSteps(manager, { devices: onlyNull })));
    assert.deepEqual(result.messages, [{ type: 'exit', code: 0 }]);
    assert.equal(result.out, 'null-ok\nzero-denied\n');
    assert.equal(attachedPrograms(dir), 1);
  });

  test('update replaces the filter: the new rules apply and one program stays attached', async () => {
    await applyDeviceFilter(manager, { devices: nullAndZero });
    assert.equal(attachedPrograms(dir), 1);
    assert.equal((await run(probePlan())).out, 'null-ok\nzero-ok\n');

    await applyDeviceFilter(manager, { devices: onlyNull });
    assert.equal(attachedPrograms(dir), 1);
    assert.equal((await run(probePlan())).out, 'null-ok\nzero-denied\n');
  });

  test('a program the verifier rejects is reported with the verifier\'s reason, and nothing changes', async () => {
    const exitOnly = Buffer.from([0x95, 0, 0, 0, 0, 0, 0, 0]); // exit without setting r0
    const result = await run([step('DEVICE_FILTER', dir, exitOnly)]);
    assert.deepEqual(result.messages, [
      { type: 'error', errno: EACCES, step: 'bpf_prog_load', detail: `device filter for ${dir} (1 insns), verifier: R0 !read_ok` },
    ]);
    assert.equal(result.exit.code, 125);
    assert.equal(attachedPrograms(dir), 1);
    assert.equal((await run(probePlan())).out, 'null-ok\nzero-denied\n');
  });

  test('a plan without CLONE runs its launcher ops and exits 0; other ops are refused', async () => {
    const ok = await run([step('SET_DUMPABLE', 0), step('DEVICE_FILTER', dir, deviceFilterBytes(onlyNull))]);
    assert.deepEqual(ok.messages, []);
    assert.equal(ok.exit.code, 0);
    const refused = await run([step('DEVICE_FILTER', dir, deviceFilterBytes(nullAndZero)), step('SETHOSTNAME', 'x')]);
    assert.deepEqual(refused.messages, [{ type: 'error', errno: 0, step: 'plan', detail: 'record 1: op 30 not allowed in this section' }]);
    assert.equal(refused.exit.code, 125);
    assert.equal((await run(probePlan())).out, 'null-ok\nzero-denied\n', 'the refused plan attached nothing');
  });

  test('a missing cgroup is an open error naming it', async () => {
    const result = await run([step('DEVICE_FILTER', join(dir, 'missing'), deviceFilterBytes(onlyNull))]);
    assert.deepEqual(result.messages, [{ type: 'error', errno: 2, step: 'open', detail: join(dir, 'missing') }]);
  });
});
