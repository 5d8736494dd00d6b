/**
 * The instructions that change only the image's run config (no layer): ENV, LABEL, EXPOSE,
 * VOLUME, USER, WORKDIR, STOPSIGNAL, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER.
 * Each takes the config and returns the next one; arguments are expanded here, with the lookup
 * the builder gives (ENV values first, then ARGs).
 */

import { posix } from 'node:path';
import type { HealthConfig, ImageRunConfig } from '../../oci/image-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import { parseGoDuration } from '../../util/go-duration.ts';
import type { Instruction } from './dockerfile.ts';
import { expand, expandWords, keyValues, type Lookup } from './expand.ts';

export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

export interface ConfigState {
  config: ImageRunConfig;
  /** the image's author (MAINTAINER) */
  author?: string;
  /** CMD was set in this stage (an ENTRYPOINT then keeps it; an inherited CMD is reset) */
  cmdSet: boolean;
}

/** The exec form's list, or the shell form run by the stage's shell. */
export function commandOf(ins: Instruction, shell: readonly string[]): string[] {
  if (ins.json !== undefined) return [...ins.json];
  return [...shell, ins.rest];
}

function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = env.filter((e) => e.split('=')[0] !== key);
  const at = env.findIndex((e) => e.split('=')[0] === key);
  if (at === -1) return [...env, `${key}=${value}`];
  out.splice(at, 0, `${key}=${value}`);
  return out;
}

/** Looks a name up in a config's Env (the last definition wins). */
export function envLookup(env: readonly string[] | undefined): Lookup {
  return (name) => {
    const entry = (env ?? []).findLast((e) => e.split('=')[0] === name);
    return entry === undefined ? undefined : entry.slice(name.length + 1);
  };
}

function healthcheck(ins: Instruction): HealthConfig {
  const words = ins.rest.split(/\s+/);
  const kind = words[0]!.toUpperCase();
  if (kind === 'NONE') {
    if (words.length > 1) throw invalidArgument('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') throw invalidArgument(`unknown type "${words[0]}" in HEALTHCHECK (try CMD)`);
  const rest = ins.rest.slice(words[0]!.length).trim();
  if (rest === '') throw invalidArgument('missing command after HEALTHCHECK CMD');
  let json: string[] | undefined;
  try {
    const parsed: unknown = JSON.parse(rest);
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) json = parsed as string[];
  } catch {
    // the shell form
  }
  const out: HealthConfig = { Test: json !== undefined ? ['CMD', ...json] : ['CMD-SHELL', rest] };
  const flag = (name: string): number | undefined => {
    const value = ins.flags.get(name);
    if (value === undefined) return undefined;
    try {
      return parseGoDuration(value);
    } catch (err) {
      throw invalidArgument(`${err instanceof Error ? err.message : String(err)} for --${name}`);
    }
  };
  const interval = flag('interval');
  const timeout = flag('timeout');
  const startPeriod = flag('start-period');
  const startInterval = flag('start-interval');
  if (interval !== undefined) out.Interval = interval;
  if (timeout !== undefined) out.Timeout = timeout;
  if (startPeriod !== undefined) out.StartPeriod = startPeriod;
  if (startInterval !== undefined) out.StartInterval = startInterval;
  const retries = ins.flags.get('retries');
  if (retries !== undefined) {
    const n = Number(retries);
    if (!Number.isInteger(n) || n < 0) throw invalidArgument(`--retries ${retries}: a whole number is expected`);
    out.Retries = n;
  }
  return out;
}

/** Applies one config-only instruction; returns false when `ins` is not one. */
export function applyConfigStep(state: ConfigState, ins: Instruction, lookup: Lookup, escape: string): boolean {
  const c = state.config;
  const shell = c.Shell ?? DEFAULT_SHELL;
  switch (ins.keyword) {
    case 'ENV': {
      let env = c.Env ?? [];
      for (const [key, value] of keyValues('ENV', ins.rest, (name) => envLookup(env)(name) ?? lookup(name), escape)) env = setEnv(env, key, value ?? '');
      c.Env = env;
      return true;
    }
    case 'LABEL':
      c.Labels = { ...c.Labels };
      for (const [key, value] of keyValues('LABEL', ins.rest, lookup, escape)) c.Labels[key] = value ?? '';
      return true;
    case 'EXPOSE':
      c.ExposedPorts = { ...c.ExposedPorts };
      for (const port of expandWords(ins.rest, lookup, escape)) {
        if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(port)) throw invalidArgument(`invalid containerPort: ${port}`);
        c.ExposedPorts[port.includes('/') ? port.toLowerCase() : `${port}/tcp`] = {};
      }
      return true;
    case 'VOLUME':
      c.Volumes = { ...c.Volumes };
      for (const path of ins.json ?? expandWords(ins.rest, lookup, escape)) {
        if (path.trim() === '') throw invalidArgument('VOLUME specified can not be an empty string');
        c.Volumes[expand(path, lookup, escape)] = {};
      }
      return true;
    case 'USER':
      c.User = expand(ins.rest, lookup, escape);
      return true;
    case 'WORKDIR':
      c.WorkingDir = posix.resolve(c.WorkingDir || '/', expand(ins.rest, lookup, escape));
      return true;
    case 'STOPSIGNAL':
      c.StopSignal = expand(ins.rest, lookup, escape);
      return true;
    case 'CMD':
      c.Cmd = ins.rest === '' ? [] : commandOf(ins, shell);
      state.cmdSet = true;
      return true;
    case 'ENTRYPOINT':
      c.Entrypoint = ins.rest === '' ? null : commandOf(ins, shell);
      // an ENTRYPOINT resets a CMD it did not see set in this stage, as docker does
      if (!state.cmdSet) c.Cmd = null;
      return true;
    case 'SHELL':
      c.Shell = [...ins.json!];
      return true;
    case 'HEALTHCHECK':
      c.Healthcheck = healthcheck(ins);
      return true;
    case 'ONBUILD': {
      const trigger = ins.rest.split(/\s+/)[0]!.toUpperCase();
      if (trigger === 'ONBUILD') throw invalidArgument('chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'FROM' || trigger === 'MAINTAINER') throw invalidArgument(`${trigger} isn't allowed as an ONBUILD trigger`);
      c.OnBuild = [...(c.OnBuild ?? []), ins.rest];
      return true;
    }
    case 'MAINTAINER':
      state.author = ins.rest;
      return true;
    default:
      return false;
  }
}
