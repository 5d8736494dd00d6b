/**
 * Reads and checks a bundle's config.json. Every problem is reported with the field that has
 * it, before anything is created: a malformed config must leave nothing behind.
 */

import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { invalidArgument, errorCode, notFound } from '../../util/errors.ts';
import type { Spec, NamespaceType, IdMapping, Process } from '../../oci/runtime-spec.ts';

const NAMESPACE_TYPES: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'];

export async function loadSpec(bundle: string): Promise<Spec> {
  const path = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw notFound(`read ${path}: no such file`, err);
    throw err;
  }
  return parseSpec(text, path);
}

export function parseSpec(text: string, source = 'config.json'): Spec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`parse ${source}: ${(err as Error).message}`, err);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw invalidArgument(`parse ${source}: not a JSON object`);
  }
  const spec = raw as Spec;
  checkSpec(spec);
  return spec;
}

function fail(field: string, problem: string): never {
  throw invalidArgument(`invalid config: ${field}: ${problem}`);
}

function checkInt(field: string, value: unknown, min = -Infinity): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(field, `must be an integer${min > -Infinity ? ` >= ${min}` : ''}`);
}

function checkStringArray(field: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) fail(field, 'must be an array of strings');
}

/** Validates a spec in place; throws `invalid-argument` naming the first bad field. */
export function checkSpec(spec: Spec): void {
  if (typeof spec.ociVersion !== 'string' || !/^1\.\d+\.\d+/.test(spec.ociVersion)) {
    fail('ociVersion', `unsupported version ${JSON.stringify(spec.ociVersion)} (need 1.x.y)`);
  }
  if (!spec.root || typeof spec.root.path !== 'string' || spec.root.path === '') fail('root.path', 'required');
  if (spec.process !== undefined) checkProcess(spec.process, 'process');
  if (spec.hostname !== undefined && typeof spec.hostname !== 'string') fail('hostname', 'must be a string');
  for (const [i, mount] of (spec.mounts ?? []).entries()) {
    if (typeof mount.destination !== 'string' || !mount.destination.startsWith('/')) {
      fail(`mounts[${i}].destination`, `must be an absolute path, got ${JSON.stringify(mount.destination)}`);
    }
    checkStringArray(`mounts[${i}].options`, mount.options);
  }
  for (const [kind, hooks] of Object.entries(spec.hooks ?? {})) {
    for (const [i, hook] of (hooks ?? []).entries()) {
      if (typeof hook.path !== 'string' || !isAbsolute(hook.path)) fail(`hooks.${kind}[${i}].path`, 'must be an absolute path');
      checkStringArray(`hooks.${kind}[${i}].args`, hook.args);
      checkStringArray(`hooks.${kind}[${i}].env`, hook.env);
      if (hook.timeout !== undefined) checkInt(`hooks.${kind}[${i}].timeout`, hook.timeout, 1);
    }
  }
  const linux = spec.linux;
  if (!linux) return;
  const seen = new Set<string>();
  for (const [i, ns] of (linux.namespaces ?? []).entries()) {
    if (!NAMESPACE_TYPES.includes(ns.type)) fail(`linux.namespaces[${i}].type`, `unknown namespace type ${JSON.stringify(ns.type)}`);
    if (seen.has(ns.type)) fail(`linux.namespaces[${i}]`, `duplicate namespace type ${ns.type}`);
    seen.add(ns.type);
    if (ns.path !== undefined && !isAbsolute(ns.path)) fail(`linux.namespaces[${i}].path`, 'must be an absolute path');
  }
  const hasUserns = seen.has('user');
  for (const key of ['uidMappings', 'gidMappings'] as const) {
    const maps = linux[key];
    if (maps === undefined) continue;
    if (!Array.isArray(maps)) fail(`linux.${key}`, 'must be an array');
    maps.forEach((m: IdMapping, i) => {
      checkInt(`linux.${key}[${i}].containerID`, m.containerID, 0);
      checkInt(`linux.${key}[${i}].hostID`, m.hostID, 0);
      checkInt(`linux.${key}[${i}].size`, m.size, 1);
    });
    if (maps.length > 0 && !hasUserns) fail(`linux.${key}`, 'set without a user namespace');
  }
  const userns = linux.namespaces?.find((n) => n.type === 'user');
  if (userns && !userns.path && (!linux.uidMappings?.length || !linux.gidMappings?.length)) {
    fail('linux.uidMappings', 'a new user namespace needs uidMappings and gidMappings');
  }
  if (spec.hostname && !linux.namespaces?.some((n) => n.type === 'uts')) {
    fail('hostname', 'cannot set a hostname without a private UTS namespace');
  }
  for (const [i, dev] of (linux.devices ?? []).entries()) {
    if (!['c', 'b', 'u', 'p'].includes(dev.type)) fail(`linux.devices[${i}].type`, `unknown device type ${JSON.stringify(dev.type)}`);
    if (typeof dev.path !== 'string' || !dev.path.startsWith('/dev/')) fail(`linux.devices[${i}].path`, 'must be under /dev');
    if (dev.type !== 'p') {
      checkInt(`linux.devices[${i}].major`, dev.major, 0);
      checkInt(`linux.devices[${i}].minor`, dev.minor, 0);
    }
  }
  checkStringArray('linux.maskedPaths', linux.maskedPaths);
  checkStringArray('linux.readonlyPaths', linux.readonlyPaths);
  for (const p of [...(linux.maskedPaths ?? []), ...(linux.readonlyPaths ?? [])]) {
    if (!p.startsWith('/')) fail('linux.maskedPaths/readonlyPaths', `${JSON.stringify(p)} must be absolute`);
  }
  if (linux.rootfsPropagation !== undefined && !['', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'].includes(linux.rootfsPropagation)) {
    fail('linux.rootfsPropagation', `unknown value ${JSON.stringify(linux.rootfsPropagation)}`);
  }
}

function checkProcess(process: Process, field: string): void {
  if (typeof process !== 'object' || process === null) fail(field, 'must be an object');
  if (!Array.isArray(process.args) || process.args.length === 0) fail(`${field}.args`, 'must have at least one element');
  checkStringArray(`${field}.args`, process.args);
  checkStringArray(`${field}.env`, process.env);
  if (typeof process.cwd !== 'string' || !process.cwd.startsWith('/')) fail(`${field}.cwd`, `must be an absolute path, got ${JSON.stringify(process.cwd)}`);
  if (!process.user) fail(`${field}.user`, 'required');
  checkInt(`${field}.user.uid`, process.user.uid, 0);
  checkInt(`${field}.user.gid`, process.user.gid, 0);
  for (const [i, gid] of (process.user.additionalGids ?? []).entries()) checkInt(`${field}.user.additionalGids[${i}]`, gid, 0);
  for (const [i, rl] of (process.rlimits ?? []).entries()) {
    if (typeof rl.type !== 'string' || !rl.type.startsWith('RLIMIT_')) fail(`${field}.rlimits[${i}].type`, `unknown rlimit ${JSON.stringify(rl.type)}`);
    checkInt(`${field}.rlimits[${i}].soft`, rl.soft, 0);
    checkInt(`${field}.rlimits[${i}].hard`, rl.hard, 0);
    if (rl.soft > rl.hard) fail(`${field}.rlimits[${i}]`, `soft limit ${rl.soft} above hard limit ${rl.hard}`);
  }
  if (process.terminal !== undefined && typeof process.terminal !== 'boolean') fail(`${field}.terminal`, 'must be a boolean');
}

/** `root.path` made absolute against the bundle. */
export function rootfsPath(spec: Spec, bundle: string): string {
  return resolve(bundle, spec.root!.path);
}

export { checkProcess };
