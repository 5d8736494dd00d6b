import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeConfig, newContainerId } from './create.ts';
import { normalizeName, generateName } from './names.ts';

describe('create', () => {
  it("merges the image's config under the request's", () => {
    const image = { Env: ['PATH=/bin', 'A=image'], Cmd: ['sh'], WorkingDir: '/w', User: 'nobody', Labels: { a: '1' }, StopSignal: 'SIGQUIT' };
    const merged = mergeConfig({ Image: 'x', Env: ['A=mine', 'B=2'], Cmd: ['echo', 'hi'], Labels: { b: '2' } }, image);
    assert.deepEqual(merged.Env, ['PATH=/bin', 'A=mine', 'B=2']);
    assert.deepEqual(merged.Cmd, ['echo', 'hi']);
    assert.equal(merged.WorkingDir, '/w');
    assert.equal(merged.User, 'nobody');
    assert.equal(merged.StopSignal, 'SIGQUIT');
    assert.deepEqual(merged.Labels, { a: '1', b: '2' });
  });

  it("takes the image's Cmd when none is given, and drops it when an Entrypoint is", () => {
    assert.deepEqual(mergeConfig({ Cmd: [] }, { Cmd: ['sh'] }).Cmd, ['sh']);
    const withEntrypoint = mergeConfig({ Entrypoint: ['/bin/true'] }, { Cmd: ['sh'], Entrypoint: ['/init'] });
    assert.deepEqual(withEntrypoint.Entrypoint, ['/bin/true']);
    assert.equal(withEntrypoint.Cmd, undefined);
  });

  it("reads an Entrypoint of [''] as none, keeping only the request's Cmd (docker run --entrypoint '')", () => {
    const image = { Entrypoint: ['/init'], Cmd: ['sh'] };
    const cleared = mergeConfig({ Entrypoint: [''], Cmd: ['echo', 'ok'] }, image);
    assert.equal(cleared.Entrypoint, null);
    assert.deepEqual(cleared.Cmd, ['echo', 'ok']);
    // with no Cmd either, there is nothing to run: the image's Cmd is not taken
    const nothing = mergeConfig({ Entrypoint: [''] }, image);
    assert.equal(nothing.Entrypoint, null);
    assert.equal(nothing.Cmd?.length ?? 0, 0);
  });

  it("merges the image's healthcheck field by field under the request's, and its Shell", () => {
    const image = { Cmd: ['sh'], Shell: ['/bin/ash', '-c'], Healthcheck: { Test: ['CMD', 'true'], Interval: 5e9, Retries: 2 } };
    assert.deepEqual(mergeConfig({}, image).Healthcheck, { Test: ['CMD', 'true'], Interval: 5e9, Retries: 2 });
    assert.deepEqual(mergeConfig({}, image).Shell, ['/bin/ash', '-c']);
    assert.deepEqual(mergeConfig({ Healthcheck: { Interval: 1e9, Timeout: 0, Retries: 0 } }, image).Healthcheck, { Test: ['CMD', 'true'], Interval: 1e9, Timeout: 0, Retries: 2 });
    assert.deepEqual(mergeConfig({ Healthcheck: { Test: ['NONE'] } }, image).Healthcheck, { Test: ['NONE'], Interval: 5e9, Retries: 2 });
    assert.equal(mergeConfig({}, { Cmd: ['sh'] }).Healthcheck, undefined);
  });

  it('makes 64-hex IDs whose short form is never all digits', () => {
    for (let i = 0; i < 200; i++) {
      const id = newContainerId(() => false);
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.doesNotMatch(id.slice(0, 12), /^\d{12}$/);
    }
  });

  it("validates names with Docker's rule and generates free ones", () => {
    assert.equal(normalizeName('web'), '/web');
    assert.equal(normalizeName('/web.1_a-b'), '/web.1_a-b');
    assert.throws(() => normalizeName('-bad'), /Invalid container name \(-bad\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/);
    assert.throws(() => normalizeName('a'), /Invalid container name/);
    const taken = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const name = generateName((n) => taken.has(n));
      assert.match(name, /^\/[a-z]+_[a-z]+\d?$/);
      assert.ok(!taken.has(name));
      taken.add(name);
    }
  });
});
