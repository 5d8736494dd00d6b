/**
 * `run` and `create` flags → the create request (Config with HostConfig), as the docker CLI
 * turns them into one (cli/command/container/opts.go). A value that cannot be a flag's is a
 * usage error in docker's words (`invalid argument "x" for "--ulimit" flag: …`, exit 125); a
 * combination of flags that cannot work is an OptionError (`berth: …`, also 125).
 */

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, type FlagSpecs, type Parsed } from '../args.ts';
import { parseGoDuration } from '../../../util/go-duration.ts';

/** A valid set of flags that docker still refuses once it looks at them together. */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

export const CREATE_FLAGS: FlagSpecs = {
  detach: { type: 'bool', short: 'd' },
  rm: { type: 'bool' },
  name: { type: 'string' },
  env: { type: 'list', short: 'e' },
  'env-file': { type: 'list' },
  workdir: { type: 'string', short: 'w' },
  user: { type: 'string', short: 'u' },
  'group-add': { type: 'list' },
  volume: { type: 'list', short: 'v' },
  mount: { type: 'list' },
  'volumes-from': { type: 'list' },
  publish: { type: 'list', short: 'p' },
  'publish-all': { type: 'bool', short: 'P' },
  expose: { type: 'list' },
  network: { type: 'string', aliases: ['net'] },
  'add-host': { type: 'list' },
  dns: { type: 'list' },
  'dns-search': { type: 'list' },
  'dns-option': { type: 'list', aliases: ['dns-opt'] },
  entrypoint: { type: 'string' },
  interactive: { type: 'bool', short: 'i' },
  tty: { type: 'bool', short: 't' },
  memory: { type: 'string', short: 'm' },
  'memory-swap': { type: 'string' },
  'memory-reservation': { type: 'string' },
  cpus: { type: 'string' },
  'cpu-shares': { type: 'string', short: 'c' },
  'cpu-period': { type: 'string' },
  'cpu-quota': { type: 'string' },
  'cpuset-cpus': { type: 'string' },
  'cpuset-mems': { type: 'string' },
  'blkio-weight': { type: 'string' },
  'pids-limit': { type: 'string' },
  'shm-size': { type: 'string' },
  ulimit: { type: 'list' },
  device: { type: 'list' },
  'device-cgroup-rule': { type: 'list' },
  gpus: { type: 'string' },
  sysctl: { type: 'list' },
  'oom-score-adj': { type: 'string' },
  'cap-add': { type: 'list' },
  'cap-drop': { type: 'list' },
  privileged: { type: 'bool' },
  'read-only': { type: 'bool' },
  tmpfs: { type: 'list' },
  label: { type: 'list', short: 'l' },
  'label-file': { type: 'list' },
  hostname: { type: 'string', short: 'h' },
  domainname: { type: 'string' },
  pid: { type: 'string' },
  ipc: { type: 'string' },
  uts: { type: 'string' },
  userns: { type: 'string' },
  cgroupns: { type: 'string' },
  'cgroup-parent': { type: 'string' },
  init: { type: 'bool' },
  restart: { type: 'string' },
  'stop-signal': { type: 'string' },
  'stop-timeout': { type: 'string' },
  'security-opt': { type: 'list' },
  'log-driver': { type: 'string' },
  'log-opt': { type: 'list' },
  'health-cmd': { type: 'string' },
  'health-interval': { type: 'string' },
  'health-timeout': { type: 'string' },
  'health-start-period': { type: 'string' },
  'health-start-interval': { type: 'string' },
  'health-retries': { type: 'string' },
  'no-healthcheck': { type: 'bool' },
  cidfile: { type: 'string' },
  platform: { type: 'string' },
  'sig-proxy': { type: 'bool' },
  'detach-keys': { type: 'string' },
  help: { type: 'bool' },
};

/** The name docker's messages give a flag: `-m, --memory` when it has a shorthand. */
function flagName(name: string): string {
  const short = CREATE_FLAGS[name]?.short;
  return short ? `-${short}, --${name}` : `--${name}`;
}

function invalid(name: string, value: string, reason: string): UsageError {
  return new UsageError(`invalid argument "${value}" for "${flagName(name)}" flag: ${reason}`);
}

/** go-units RAMInBytes: `512m`, `1g`, `100k`, plain bytes; binary multiples. */
export function ramInBytes(text: string, flag = 'memory'): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(text.trim());
  if (!match) throw invalid(flag, text, `invalid size: '${text}'`);
  const power = ' kmgtp'.indexOf((match[2] || ' ').toLowerCase());
  return Math.round(Number(match[1]) * 1024 ** power);
}

/** strconv.ParseInt / ParseUint as pflag's integer flags use them. */
export function parseInteger(name: string, text: string, options: { unsigned?: boolean; bits?: number } = {}): number {
  const fn = options.unsigned ? 'strconv.ParseUint' : 'strconv.ParseInt';
  if (!(options.unsigned ? /^\+?\d+$/ : /^[+-]?\d+$/).test(text)) throw invalid(name, text, `${fn}: parsing "${text}": invalid syntax`);
  const value = Number(text);
  const bits = options.bits ?? 64;
  const max = options.unsigned ? 2 ** bits - 1 : 2 ** (bits - 1) - 1;
  const min = options.unsigned ? 0 : -(2 ** (bits - 1));
  if (value > max || value < min) throw invalid(name, text, `${fn}: parsing "${text}": value out of range`);
  return value;
}

function parseDurationFlag(name: string, text: string): number {
  try {
    return parseGoDuration(text);
  } catch (err) {
    throw invalid(name, text, (err as Error).message);
  }
}

/** `[ip:][hostPort:]containerPort[/proto]` → ExposedPorts and PortBindings entries. */
export function parsePublish(spec: string): { port: string; binding: { HostIp: string; HostPort: string } } {
  const [addr, proto = 'tcp'] = spec.split('/') as [string, string?];
  const parts = addr.split(':');
  const container = parts.pop()!;
  const hostPort = parts.pop() ?? '';
  const hostIp = parts.join(':');
  if (!/^\d+$/.test(container) || (hostPort !== '' && !/^\d+$/.test(hostPort))) throw invalid('publish', spec, 'invalid port format');
  return { port: `${container}/${proto}`, binding: { HostIp: hostIp, HostPort: hostPort } };
}

function keyValues(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    out[eq === -1 ? item : item.slice(0, eq)] = eq === -1 ? '' : item.slice(eq + 1);
  }
  return out;
}

/** go-units' ulimit names. */
const ULIMITS = ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/** go-units ParseUlimit: `name=soft[:hard]`, hard defaulting to soft. */
export function parseUlimit(spec: string): { Name: string; Soft: number; Hard: number } {
  const eq = spec.indexOf('=');
  if (eq === -1) throw invalid('ulimit', spec, `invalid ulimit argument: ${spec}`);
  const name = spec.slice(0, eq);
  if (!ULIMITS.includes(name)) throw invalid('ulimit', spec, `invalid ulimit type: ${name}`);
  const values = spec.slice(eq + 1).split(':');
  if (values.length > 2) throw invalid('ulimit', spec, `too many limit value arguments - ${spec.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const number = (text: string): number => {
    if (!/^[+-]?\d+$/.test(text)) throw invalid('ulimit', spec, `strconv.ParseInt: parsing "${text}": invalid syntax`);
    return Number(text);
  };
  const soft = number(values[0]!);
  const hard = values.length === 2 ? number(values[1]!) : soft;
  if (hard !== -1 && soft > hard) throw invalid('ulimit', spec, `ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}

/**
 * node:net's isIP, loaded when a flag names an address: under Bun, importing node:net costs a
 * `run` ~2 ms, and only --ip, --dns and --add-host need it.
 */
function isIP(text: string): number {
  return process.getBuiltinModule('node:net').isIP(text);
}

/** opts.ValidateIPAddress */
function checkIp(name: string, text: string): string {
  const ip = text.trim();
  if (isIP(ip) === 0) throw invalid(name, text, `IP address is not correctly formatted: ${text}`);
  return ip;
}

/** opts.ValidateExtraHost: `host:ip` or `host=ip` (IPv6 in brackets or after `=`), or host-gateway; sent as `host:ip`. */
export function parseExtraHost(spec: string): string {
  let sep = spec.indexOf('=');
  if (sep === -1) sep = spec.indexOf(':');
  const host = sep === -1 ? '' : spec.slice(0, sep);
  if (sep === -1 || host === '') throw invalid('add-host', spec, `bad format for add-host: ${JSON.stringify(spec)}`);
  let ip = spec.slice(sep + 1);
  if (ip !== 'host-gateway') {
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (isIP(ip) === 0) throw invalid('add-host', spec, `invalid IP address in add-host: ${JSON.stringify(ip)}`);
  }
  return `${host}:${ip}`;
}

/** opts.ValidateSysctl: key=value, namespaced keys only. */
function parseSysctl(spec: string): [string, string] {
  const eq = spec.indexOf('=');
  const key = eq === -1 ? '' : spec.slice(0, eq);
  const allowed = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
  if (eq === -1 || !(allowed.includes(key) || key.startsWith('net.') || key.startsWith('fs.mqueue.'))) throw invalid('sysctl', spec, `sysctl '${spec}' is not allowed`);
  return [key, spec.slice(eq + 1)];
}

function validDeviceMode(mode: string): boolean {
  return mode.length >= 1 && mode.length <= 3 && [...mode].every((c, i) => 'rwm'.includes(c) && mode.indexOf(c) === i);
}

/** validateLinuxPath + parseLinuxDevice: `host[:container][:rwm]`. */
export function parseDevice(spec: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = spec.split(':');
  if (parts.length > 3 || parts[0] === '') throw new OptionError(`bad format for path: ${spec}`);
  let container = parts[0]!;
  let permissions = 'rwm';
  if (parts.length === 2) {
    if (validDeviceMode(parts[1]!)) permissions = parts[1]!;
    else container = parts[1]!;
  } else if (parts.length === 3) {
    if (!validDeviceMode(parts[2]!)) throw new OptionError(`bad mode specified: ${parts[2]}`);
    container = parts[1]!;
    permissions = parts[2]!;
  }
  if (!container.startsWith('/')) throw new OptionError(`${container} is not an absolute path`);
  return { PathOnHost: parts[0]!, PathInContainer: container, CgroupPermissions: permissions };
}

/** docker's validateDeviceCgroupRule: `type major:minor access`; the daemon reads the numbers. */
export function checkDeviceCgroupRule(rule: string): string {
  if (!/^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$/.test(rule)) throw invalid('device-cgroup-rule', rule, `invalid device cgroup format '${rule}'`);
  return rule;
}

/** opts.GpuOpts: `all`, a count, or `count=…,driver=…,device=…,capabilities=…,options=…`. */
export function parseGpus(spec: string): Record<string, unknown> {
  const request: { Driver: string; Count: number; DeviceIDs: string[] | null; Capabilities: string[][]; Options: Record<string, string> | null } = { Driver: '', Count: 0, DeviceIDs: null, Capabilities: [], Options: null };
  const fields = spec.split(',');
  const count = (text: string): number => {
    if (text === 'all') return -1;
    if (!/^\d+$/.test(text)) throw invalid('gpus', spec, `invalid count (${text}): value must be either "all" or an integer`);
    return Number(text);
  };
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq === -1) {
      if (fields.length > 1) throw invalid('gpus', spec, `invalid field '${field}' must be a key=value pair`);
      request.Count = count(field);
      continue;
    }
    const [key, value] = [field.slice(0, eq).toLowerCase(), field.slice(eq + 1)];
    if (key === 'driver') request.Driver = value;
    else if (key === 'count') request.Count = count(value);
    else if (key === 'device') request.DeviceIDs = value.split(',');
    else if (key === 'capabilities') request.Capabilities = [value.split(',')];
    else if (key === 'options') request.Options = keyValues(value.split(','));
    else throw invalid('gpus', spec, `unexpected key '${key}' in '${field}'`);
  }
  if (!request.Capabilities.some((set) => set.includes('gpu'))) request.Capabilities.push(['gpu']);
  return request;
}

/** Go's strconv.ParseBool. */
function parseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** A CSV record as Go's encoding/csv reads one line: `"a,b",c` → [`a,b`, `c`]. */
function csvFields(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/** opts.MountOpt: docker's `--mount type=bind,source=/a,target=/b,readonly` → a HostConfig.Mounts entry. */
export function parseMount(spec: string, cwd = process.cwd()): Record<string, unknown> {
  const fail = (reason: string): UsageError => invalid('mount', spec, reason);
  const mount: Record<string, unknown> = { Type: 'volume' };
  const bind: Record<string, unknown> = {};
  const volume: Record<string, unknown> = {};
  const tmpfs: Record<string, unknown> = {};
  const bool = (key: string, value: string): boolean => {
    const parsed = parseBool(value);
    if (parsed === undefined) throw fail(`invalid value for ${key}: ${value}`);
    return parsed;
  };
  for (const field of csvFields(spec)) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? '' : field.slice(eq + 1);
    if (eq === -1) {
      if (key === 'readonly' || key === 'ro') mount['ReadOnly'] = true;
      else if (key === 'volume-nocopy') volume['NoCopy'] = true;
      else if (key === 'bind-nonrecursive') bind['NonRecursive'] = true;
      else throw fail(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case 'type':
        mount['Type'] = value.toLowerCase();
        break;
      case 'source':
      case 'src':
        mount['Source'] = value.startsWith('.') ? resolve(cwd, value) : value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount['Target'] = value;
        break;
      case 'readonly':
      case 'ro':
        mount['ReadOnly'] = bool(key, value);
        break;
      case 'consistency':
        mount['Consistency'] = value.toLowerCase();
        break;
      case 'bind-propagation':
        bind['Propagation'] = value.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bind['NonRecursive'] = bool(key, value);
        break;
      case 'bind-create-mountpoint':
        bind['CreateMountpoint'] = bool(key, value);
        break;
      case 'volume-nocopy':
        volume['NoCopy'] = bool(key, value);
        break;
      case 'volume-subpath':
        volume['Subpath'] = value;
        break;
      case 'volume-label':
        volume['Labels'] = { ...(volume['Labels'] as object | undefined), ...keyValues([value]) };
        break;
      case 'volume-driver':
        volume['DriverConfig'] = { ...(volume['DriverConfig'] as object | undefined), Name: value };
        break;
      case 'volume-opt': {
        const config = (volume['DriverConfig'] ?? {}) as { Options?: Record<string, string> };
        volume['DriverConfig'] = { ...config, Options: { ...config.Options, ...keyValues([value]) } };
        break;
      }
      case 'tmpfs-size':
        try {
          tmpfs['SizeBytes'] = ramInBytes(value);
        } catch {
          throw fail(`invalid value for ${key}: ${value}`);
        }
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]+$/.test(value) || parseInt(value, 8) > 0xffffffff) throw fail(`invalid value for ${key}: ${value}`);
        tmpfs['Mode'] = parseInt(value, 8);
        break;
      default:
        throw fail(`unexpected key '${key}' in '${field}'`);
    }
  }
  const type = mount['Type'] as string;
  if (type === '') throw fail('type is required');
  if (!mount['Target']) throw fail('target is required');
  if (Object.keys(volume).length) {
    if (type !== 'volume') throw fail(`cannot mix 'volume-*' options with mount type '${type}'`);
    mount['VolumeOptions'] = volume;
  }
  if (Object.keys(bind).length) {
    if (type !== 'bind') throw fail(`cannot mix 'bind-*' options with mount type '${type}'`);
    mount['BindOptions'] = bind;
  }
  if (Object.keys(tmpfs).length) {
    if (type !== 'tmpfs') throw fail(`cannot mix 'tmpfs-*' options with mount type '${type}'`);
    mount['TmpfsOptions'] = tmpfs;
  }
  return mount;
}

/**
 * opts.ParseEnvFile: one VAR=value a line; blank lines and `#` comments skipped; a bare VAR
 * takes its value from our environment, or is left out when unset there.
 */
export function parseEnvFile(text: string, env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = eq === -1 ? line : line.slice(0, eq);
    if (name === '') throw new OptionError(`no variable name on line '${line}'`);
    if (/\s/.test(name)) throw new OptionError(`variable '${name}' contains whitespaces`);
    if (eq !== -1) out.push(line);
    else if (env[name] !== undefined) out.push(`${name}=${env[name]}`);
  }
  return out;
}

/** `-e VAR` without a value takes it from our environment (docker's ValidateEnv). */
function withLocalValue(entry: string, env: NodeJS.ProcessEnv): string {
  if (entry.includes('=')) return entry;
  return env[entry] !== undefined ? `${entry}=${env[entry]}` : entry;
}

function readListFiles(paths: readonly string[]): Array<{ path: string; text: string }> {
  return paths.map((path) => {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new OptionError(e.code === 'ENOENT' ? `open ${path}: no such file or directory` : `open ${path}: ${e.message}`);
    }
  });
}

/** opts.ParseRestartPolicy: `name[:max-retries]`; the daemon judges the name. */
export function parseRestartPolicy(spec: string): { Name: string; MaximumRetryCount: number } {
  const colon = spec.indexOf(':');
  const name = colon === -1 ? spec : spec.slice(0, colon);
  const count = colon === -1 ? '' : spec.slice(colon + 1);
  if (colon !== -1 && name === '') throw new OptionError('invalid restart policy format: no policy provided before colon');
  if (count !== '' && !/^[+-]?\d+$/.test(count)) throw new OptionError('invalid restart policy format: maximum retry count must be an integer');
  return { Name: name, MaximumRetryCount: count === '' ? 0 : Number(count) };
}

/** The healthcheck flags → Config.Healthcheck (nanoseconds), or undefined when none is given. */
export function healthConfig(flags: Parsed['flags']): Record<string, unknown> | undefined {
  const str = (name: string): string | undefined => flags[name] as string | undefined;
  const durations: Array<[string, string]> = [
    ['health-interval', 'Interval'],
    ['health-timeout', 'Timeout'],
    ['health-start-period', 'StartPeriod'],
    ['health-start-interval', 'StartInterval'],
  ];
  const values: Record<string, number> = {};
  for (const [flag, field] of durations) if (str(flag) !== undefined) values[field] = parseDurationFlag(flag, str(flag)!);
  const retries = str('health-retries') !== undefined ? parseInteger('health-retries', str('health-retries')!, { bits: 64 }) : 0;
  const cmd = str('health-cmd') ?? '';
  const given = cmd !== '' || retries !== 0 || Object.values(values).some((v) => v !== 0);
  if (flags['no-healthcheck'] === true) {
    if (given) throw new OptionError('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!given) return undefined;
  for (const [flag, field] of durations) if ((values[field] ?? 0) < 0) throw new OptionError(`--${flag} cannot be negative`);
  if (retries < 0) throw new OptionError('--health-retries cannot be negative');
  return {
    ...(cmd !== '' ? { Test: ['CMD-SHELL', cmd] } : {}),
    Interval: values['Interval'] ?? 0,
    Timeout: values['Timeout'] ?? 0,
    StartPeriod: values['StartPeriod'] ?? 0,
    StartInterval: values['StartInterval'] ?? 0,
    Retries: retries,
  };
}

/** The create body (Config with HostConfig) from `run`/`create` flags. */
export function createBody(flags: Parsed['flags'], image: string, cmd: string[], env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const list = (name: string): string[] => (flags[name] as string[] | undefined) ?? [];
  const str = (name: string): string | undefined => flags[name] as string | undefined;
  const int = (name: string, options?: { unsigned?: boolean; bits?: number }): number | undefined => (str(name) === undefined ? undefined : parseInteger(name, str(name)!, options));
  const interactive = flags['interactive'] === true;
  const detach = flags['detach'] === true;
  const host: Record<string, unknown> = {
    Binds: [] as string[],
    AutoRemove: flags['rm'] === true,
    Privileged: flags['privileged'] === true,
    ReadonlyRootfs: flags['read-only'] === true,
    PublishAllPorts: flags['publish-all'] === true,
    CapAdd: list('cap-add'),
    CapDrop: list('cap-drop'),
    SecurityOpt: list('security-opt'),
    VolumesFrom: list('volumes-from'),
    PortBindings: {} as Record<string, unknown[]>,
  };
  const volumes: Record<string, object> = {};
  for (const spec of list('volume')) {
    if (spec.includes(':')) (host['Binds'] as string[]).push(spec);
    else volumes[spec] = {};
  }
  if (list('mount').length) host['Mounts'] = list('mount').map((m) => parseMount(m));
  const exposed: Record<string, object> = {};
  for (const spec of list('expose')) exposed[spec.includes('/') ? spec : `${spec}/tcp`] = {};
  for (const spec of list('publish')) {
    const { port, binding } = parsePublish(spec);
    exposed[port] = {};
    ((host['PortBindings'] as Record<string, unknown[]>)[port] ??= []).push(binding);
  }
  if (list('tmpfs').length > 0) {
    host['Tmpfs'] = Object.fromEntries(list('tmpfs').map((t) => {
      const colon = t.indexOf(':');
      return colon === -1 ? [t, ''] : [t.slice(0, colon), t.slice(colon + 1)];
    }));
  }
  if (list('ulimit').length) {
    // a later --ulimit of the same name replaces the earlier one, as docker's map does
    const byName = new Map(list('ulimit').map((u) => parseUlimit(u)).map((u) => [u.Name, u]));
    host['Ulimits'] = [...byName.values()];
  }
  if (list('device').length) host['Devices'] = list('device').map(parseDevice);
  if (list('device-cgroup-rule').length) host['DeviceCgroupRules'] = list('device-cgroup-rule').map(checkDeviceCgroupRule);
  if (str('gpus') !== undefined) host['DeviceRequests'] = [parseGpus(str('gpus')!)];
  if (list('sysctl').length) host['Sysctls'] = Object.fromEntries(list('sysctl').map(parseSysctl));
  if (list('add-host').length) host['ExtraHosts'] = list('add-host').map(parseExtraHost);
  if (list('dns').length) host['Dns'] = list('dns').map((ip) => checkIp('dns', ip));
  if (list('dns-search').length) host['DnsSearch'] = list('dns-search');
  if (list('dns-option').length) host['DnsOptions'] = list('dns-option');
  if (list('group-add').length) host['GroupAdd'] = list('group-add');
  for (const [flag, field] of [['pid', 'PidMode'], ['ipc', 'IpcMode'], ['uts', 'UTSMode'], ['userns', 'UsernsMode'], ['cgroupns', 'CgroupnsMode'], ['cgroup-parent', 'CgroupParent'], ['cpuset-cpus', 'CpusetCpus'], ['cpuset-mems', 'CpusetMems']] as const) {
    if (str(flag) !== undefined) host[field] = str(flag);
  }
  if (str('network') !== undefined) host['NetworkMode'] = str('network');
  if (str('memory') !== undefined) host['Memory'] = ramInBytes(str('memory')!);
  if (str('memory-swap') !== undefined) host['MemorySwap'] = str('memory-swap') === '-1' ? -1 : ramInBytes(str('memory-swap')!, 'memory-swap');
  if (str('memory-reservation') !== undefined) host['MemoryReservation'] = ramInBytes(str('memory-reservation')!, 'memory-reservation');
  if (str('shm-size') !== undefined) host['ShmSize'] = ramInBytes(str('shm-size')!, 'shm-size');
  if (str('cpus') !== undefined) {
    const cpus = Number(str('cpus'));
    if (str('cpus')!.trim() === '' || !Number.isFinite(cpus) || cpus < 0) throw invalid('cpus', str('cpus')!, `failed to parse ${str('cpus')} as a rational number`);
    host['NanoCpus'] = Math.round(cpus * 1e9);
  }
  const integers: Array<[string, string, { unsigned?: boolean; bits?: number }?]> = [
    ['cpu-shares', 'CpuShares'],
    ['cpu-period', 'CpuPeriod'],
    ['cpu-quota', 'CpuQuota'],
    ['pids-limit', 'PidsLimit'],
    ['blkio-weight', 'BlkioWeight', { unsigned: true, bits: 16 }],
    ['oom-score-adj', 'OomScoreAdj', { bits: 32 }],
  ];
  for (const [flag, field, options] of integers) if (str(flag) !== undefined) host[field] = int(flag, options);
  if (flags['init'] === true) host['Init'] = true;
  if (str('restart') !== undefined) host['RestartPolicy'] = parseRestartPolicy(str('restart')!);
  if (str('log-driver') !== undefined || list('log-opt').length) host['LogConfig'] = { Type: str('log-driver') ?? '', Config: keyValues(list('log-opt')) };

  const envEntries = [
    ...readListFiles(list('env-file')).flatMap(({ text }) => parseEnvFile(text, env)),
    ...list('env').map((e) => withLocalValue(e, env)),
  ];
  const labels = {
    ...keyValues(readListFiles(list('label-file')).flatMap(({ text }) => text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')))),
    ...keyValues(list('label')),
  };
  const config: Record<string, unknown> = {
    Image: image,
    Cmd: cmd.length > 0 ? cmd : null,
    Env: envEntries,
    Labels: labels,
    Tty: flags['tty'] === true,
    OpenStdin: interactive,
    StdinOnce: interactive && !detach,
    AttachStdin: interactive && !detach,
    AttachStdout: !detach,
    AttachStderr: !detach,
    ExposedPorts: exposed,
    Volumes: volumes,
    HostConfig: host,
  };
  const health = healthConfig(flags);
  if (health) config['Healthcheck'] = health;
  if (str('entrypoint') !== undefined) config['Entrypoint'] = str('entrypoint') === '' ? [''] : [str('entrypoint')];
  if (str('workdir') !== undefined) config['WorkingDir'] = str('workdir');
  if (str('user') !== undefined) config['User'] = str('user');
  if (str('hostname') !== undefined) config['Hostname'] = str('hostname');
  if (str('domainname') !== undefined) config['Domainname'] = str('domainname');
  if (str('stop-signal') !== undefined) config['StopSignal'] = str('stop-signal');
  if (str('stop-timeout') !== undefined) config['StopTimeout'] = int('stop-timeout', { bits: 64 });
  return config;
}
