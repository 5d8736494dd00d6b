import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyConfigStep, type ConfigState } from './config-steps.ts';
import { parseInstruction } from './dockerfile.ts';

function apply(state: ConfigState, line: string, vars: Record<string, string> = {}): ConfigState {
  assert.equal(applyConfigStep(state, parseInstruction(line, 1), (n) => vars[n], '\\'), true);
  return state;
}

describe('config instructions', () => {
  it('resolves WORKDIR against the previous one and expands variables', () => {
    const s: ConfigState = { config: { Env: ['BASE=/srv'] }, cmdSet: false };
    apply(s, 'WORKDIR $BASE', { BASE: '/srv' });
    apply(s, 'WORKDIR app');
    assert.equal(s.config.WorkingDir, '/srv/app');
  });

  it('replaces an ENV in place and reads earlier values in the same line', () => {
    const s: ConfigState = { config: { Env: ['PATH=/bin', 'A=1'] }, cmdSet: false };
    apply(s, 'ENV PATH=/opt/bin:$PATH B=$A');
    assert.deepEqual(s.config.Env, ['PATH=/opt/bin:/bin', 'A=1', 'B=1']);
  });

  it('resets an inherited CMD on ENTRYPOINT, keeps one set in the stage', () => {
    const inherited: ConfigState = { config: { Cmd: ['sh'] }, cmdSet: false };
    apply(inherited, 'ENTRYPOINT ["/init"]');
    assert.equal(inherited.config.Cmd, null);
    const own: ConfigState = { config: {}, cmdSet: false };
    apply(own, 'CMD ["run"]');
    apply(own, 'ENTRYPOINT /init --flag');
    assert.deepEqual(own.config.Cmd, ['run']);
    assert.deepEqual(own.config.Entrypoint, ['/bin/sh', '-c', '/init --flag']);
  });

  it('uses SHELL for the shell form', () => {
    const s: ConfigState = { config: {}, cmdSet: false };
    apply(s, 'SHELL ["/bin/bash", "-euc"]');
    apply(s, 'CMD echo hi');
    assert.deepEqual(s.config.Cmd, ['/bin/bash', '-euc', 'echo hi']);
  });

  it('reads HEALTHCHECK forms and flags', () => {
    const s: ConfigState = { config: {}, cmdSet: false };
    apply(s, 'HEALTHCHECK --interval=1m30s --timeout=500ms --retries=4 CMD ["probe", "-q"]');
    assert.deepEqual(s.config.Healthcheck, { Test: ['CMD', 'probe', '-q'], Interval: 90e9, Timeout: 500e6, Retries: 4 });
    apply(s, 'HEALTHCHECK NONE');
    assert.deepEqual(s.config.Healthcheck, { Test: ['NONE'] });
    assert.throws(() => apply(s, 'HEALTHCHECK --interval=soon CMD true'), /invalid duration "soon"/);
  });

  it('normalises EXPOSE and refuses a bad port', () => {
    const s: ConfigState = { config: {}, cmdSet: false };
    apply(s, 'EXPOSE 80 53/UDP 8000-8001');
    assert.deepEqual(s.config.ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000-8001/tcp': {} });
    assert.throws(() => apply(s, 'EXPOSE http'), /invalid containerPort: http/);
  });

  it('refuses ONBUILD chains', () => {
    assert.throws(() => apply({ config: {}, cmdSet: false }, 'ONBUILD ONBUILD RUN x'), /isn't allowed/);
  });
});
