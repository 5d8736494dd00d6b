/** Tests for the v1 device rules replay. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceRuleLine, v1DevicesWrites } from './devices.ts';

describe('v1DevicesWrites', () => {
  it('starts from deny-all and replays the rules in order', () => {
    assert.deepEqual(
      v1DevicesWrites([
        { allow: false, access: 'rwm' },
        { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
        { allow: true, type: 'c', major: 136, minor: null, access: 'rw' },
        { allow: false, type: 'b', major: 8, minor: 0, access: 'm' },
      ]),
      [
        { file: 'devices.deny', value: 'a' },
        { file: 'devices.deny', value: 'a *:* rwm' },
        { file: 'devices.allow', value: 'c 1:3 rwm' },
        { file: 'devices.allow', value: 'c 136:* rw' },
        { file: 'devices.deny', value: 'b 8:0 m' },
      ],
    );
  });

  it('no devices section leaves the cgroup as it is', () => {
    assert.deepEqual(v1DevicesWrites(undefined), []);
  });

  it('refuses malformed rules instead of writing them', () => {
    assert.throws(() => deviceRuleLine({ allow: true, type: 'x' }), { kind: 'invalid-argument' });
    assert.throws(() => deviceRuleLine({ allow: true, access: 'rwx' }), { kind: 'invalid-argument' });
  });
});
