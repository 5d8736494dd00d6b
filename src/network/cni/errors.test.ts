import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pluginError } from './errors.ts';
import { CniRunner } from './runner.ts';

test('a plugin error body becomes a classified EngineError', () => {
  const err = pluginError('cni add bridge on network web', 'bridge', 1, '{"cniVersion":"1.0.0","code":7,"msg":"invalid config","details":"no subnet"}', '');
  assert.equal(err.kind, 'invalid-argument');
  assert.equal(err.code, 7);
  assert.equal(err.message, 'cni add bridge on network web: invalid config: no subnet (code 7: invalid network config)');
  const busy = pluginError('cni add host-local on network web', 'host-local', 1, '{"code":11,"msg":"try later"}', '');
  assert.equal(busy.kind, 'unavailable');
  assert.match(busy.message, /try later \(code 11: try again later\)$/);
  const own = pluginError('cni del x on network y', 'x', 1, '{"code":100,"msg":"boom","details":"boom"}', '');
  assert.equal(own.message, 'cni del x on network y: boom (code 100)');
});

test('a plugin that crashed without a body is reported from stderr', () => {
  const err = pluginError('cni add bridge on network web', 'bridge', 2, '', 'panic: runtime error\ngoroutine 1\nmain.go:1\nmore\n');
  assert.equal(err.kind, 'internal');
  assert.equal(err.message, 'cni add bridge on network web: panic: runtime error; goroutine 1; main.go:1');
});

test('runtimeConfig reaches only plugins that declare the capability', () => {
  const list = { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true } }] };
  const rc = { portMappings: [{ hostPort: 1, containerPort: 2, protocol: 'tcp' as const }], ips: ['10.0.0.2'] };
  const bridge = JSON.parse(CniRunner.stdinFor(list, list.plugins[0]!, rc, undefined));
  assert.deepEqual(bridge, { type: 'bridge', name: 'n', cniVersion: '1.0.0' });
  const prev = { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] };
  const portmap = JSON.parse(CniRunner.stdinFor(list, list.plugins[1]!, rc, prev));
  assert.deepEqual(portmap.runtimeConfig, { portMappings: rc.portMappings });
  assert.deepEqual(portmap.prevResult, prev);
});
