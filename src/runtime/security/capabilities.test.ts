/**
 * Capability names ↔ bits, and reading the kernel's last capability.
 */

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EngineError } from '../../util/errors.ts';
import {
  CAPABILITIES,
  DOCKER_DEFAULT_CAPABILITIES,
  LAST_KNOWN_CAP,
  capabilityMask,
  capabilityNames,
  capabilityValue,
  clampToKernel,
  lastCap,
} from './capabilities.ts';

describe('capabilities', () => {
  it('numbers the capabilities as linux/capability.h does', () => {
    assert.equal(CAPABILITIES.length, 41);
    assert.equal(LAST_KNOWN_CAP, 40);
    const expected: [string, number][] = [
      ['CAP_CHOWN', 0],
      ['CAP_KILL', 5],
      ['CAP_SETPCAP', 8],
      ['CAP_NET_BIND_SERVICE', 10],
      ['CAP_NET_ADMIN', 12],
      ['CAP_NET_RAW', 13],
      ['CAP_SYS_CHROOT', 18],
      ['CAP_SYS_PTRACE', 19],
      ['CAP_SYS_ADMIN', 21],
      ['CAP_MKNOD', 27],
      ['CAP_AUDIT_WRITE', 29],
      ['CAP_SETFCAP', 31],
      ['CAP_MAC_OVERRIDE', 32],
      ['CAP_SYSLOG', 34],
      ['CAP_AUDIT_READ', 37],
      ['CAP_PERFMON', 38],
      ['CAP_BPF', 39],
      ['CAP_CHECKPOINT_RESTORE', 40],
    ];
    for (const [name, value] of expected) assert.equal(capabilityValue(name), value, name);
    CAPABILITIES.forEach((cap, i) => assert.equal(cap.value, i));
    assert.equal(new Set(CAPABILITIES.map((c) => c.name)).size, 41);
  });

  it('builds masks from names, bits above 31 included', () => {
    assert.equal(capabilityMask([]), 0n);
    assert.equal(capabilityMask(['CAP_CHOWN']), 1n);
    assert.equal(capabilityMask(['CAP_CHOWN', 'CAP_KILL', 'CAP_KILL']), 0b100001n);
    assert.equal(capabilityMask(['CAP_CHECKPOINT_RESTORE', 'CAP_MAC_OVERRIDE']), (1n << 40n) | (1n << 32n));
    assert.equal(capabilityMask(CAPABILITIES.map((c) => c.name)), (1n << 41n) - 1n);
  });

  it('has docker defaults that make the mask docker uses (0xa80425fb)', () => {
    assert.equal(DOCKER_DEFAULT_CAPABILITIES.length, 14);
    assert.equal(capabilityMask(DOCKER_DEFAULT_CAPABILITIES), 0xa80425fbn);
  });

  it('refuses unknown names, as the OCI spec requires', () => {
    for (const name of ['CAP_TEST', 'chown', 'CHOWN', 'cap_chown', '']) {
      assert.throws(
        () => capabilityMask(['CAP_CHOWN', name]),
        (err: unknown) =>
          err instanceof EngineError && err.kind === 'invalid-argument' && err.message === `unknown capability "${name}"`,
      );
    }
  });

  it('turns masks back into names', () => {
    assert.deepEqual(capabilityNames(0n), []);
    assert.deepEqual(capabilityNames(0b100001n), ['CAP_CHOWN', 'CAP_KILL']);
    assert.deepEqual(capabilityNames(capabilityMask(DOCKER_DEFAULT_CAPABILITIES)), [...DOCKER_DEFAULT_CAPABILITIES].sort(
      (a, b) => capabilityValue(a)! - capabilityValue(b)!,
    ));
    assert.deepEqual(capabilityNames((1n << 40n) | (1n << 45n)), ['CAP_CHECKPOINT_RESTORE', 'CAP_45']);
    assert.throws(() => capabilityNames(-1n), /negative/);
  });

  it('clamps a mask to what the kernel knows', () => {
    const all = capabilityMask(CAPABILITIES.map((c) => c.name));
    assert.equal(clampToKernel(all, 40), all);
    assert.equal(clampToKernel(all, 37), (1n << 38n) - 1n);
    assert.equal(clampToKernel(1n << 39n, 38), 0n);
  });

  it('reads cap_last_cap', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-caps-'));
    try {
      const file = join(dir, 'cap_last_cap');
      writeFileSync(file, '40\n');
      assert.equal(lastCap(file), 40);
      writeFileSync(file, '37\n');
      assert.equal(lastCap(file), 37);
      writeFileSync(file, 'forty\n');
      assert.throws(() => lastCap(file), /unexpected content "forty"/);
      assert.throws(
        () => lastCap(join(dir, 'missing')),
        (err: unknown) => err instanceof EngineError && err.kind === 'unavailable',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads this kernel’s cap_last_cap', () => {
    const last = lastCap();
    assert.ok(last >= 36 && last <= 63, String(last));
  });
});
