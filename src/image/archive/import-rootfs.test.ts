/**
 * `docker import --change` parsing: the Dockerfile subset docker accepts, in both argument
 * forms, and refusal of instructions that would need a build.
 */

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { applyChanges } from './import-rootfs.ts';

describe('applyChanges', () => {
  it('applies exec and shell forms, env pairs and the legacy env form', () => {
    const config = applyChanges({ Env: ['PATH=/bin', 'A=old'] }, [
      'ENTRYPOINT ["/init", "--"]',
      'CMD echo hi',
      'ENV A=new C="x y"',
      'ENV LEGACY some value',
      'VOLUME ["/data", "/logs"]',
      'USER 1000:1000',
      'STOPSIGNAL SIGQUIT',
      'expose 8080',
    ]);
    assert.deepEqual(config, {
      Entrypoint: ['/init', '--'],
      Cmd: ['/bin/sh', '-c', 'echo hi'],
      Env: ['PATH=/bin', 'A=new', 'C=x y', 'LEGACY=some value'],
      Volumes: { '/data': {}, '/logs': {} },
      User: '1000:1000',
      StopSignal: 'SIGQUIT',
      ExposedPorts: { '8080/tcp': {} },
    });
  });

  it('refuses instructions import cannot honour', () => {
    assert.throws(() => applyChanges({}, ['COPY . /']), /COPY is not supported as a change/);
    assert.throws(() => applyChanges({}, ['CMD']), /invalid change/);
  });
});
