import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesFilters, type EventMessage } from './events.ts';

const die: EventMessage = {
  status: 'die',
  id: 'abcdef0123456789',
  from: 'busybox',
  Type: 'container',
  Action: 'die',
  Actor: { ID: 'abcdef0123456789', Attributes: { image: 'busybox', name: 'web', exitCode: '3', tier: 'front' } },
  scope: 'local',
  time: 1,
  timeNano: 1_000_000_000n,
};

test('event filters as docker applies them: any value of a key, every key', () => {
  assert.ok(matchesFilters(die, {}));
  assert.ok(matchesFilters(die, { event: ['start', 'die'] }));
  assert.ok(!matchesFilters(die, { event: ['start'] }));
  assert.ok(matchesFilters(die, { container: ['web'] }));
  assert.ok(matchesFilters(die, { container: ['abcdef'] }));
  assert.ok(!matchesFilters(die, { container: ['db'] }));
  assert.ok(matchesFilters(die, { type: ['container'], image: ['busybox'] }));
  assert.ok(!matchesFilters(die, { type: ['image'] }));
  assert.ok(matchesFilters(die, { label: ['tier=front'] }));
  assert.ok(matchesFilters(die, { label: ['tier'] }));
  assert.ok(!matchesFilters(die, { label: ['tier=back'] }));
  assert.ok(!matchesFilters(die, { event: ['die'], container: ['db'] }));
});
