/**
 * Verbs that change a live container or make a bundle: pause, resume, update, exec, spec.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pause, resume, update, exec, defaultSpec } from '../../../runtime/index.ts';
import type { Process, Resources } from '../../../oci/runtime-spec.ts';
import { invalidArgument, conflict } from '../../../util/errors.ts';
import { parse, requireId, firstPositional } from '../args.ts';
import { parseBytes } from '../units.ts';
import type { Command } from '../context.ts';

export const pauseCommand: Command = {
  name: 'pause',
  summary: 'freeze every process of a container',
  usage: 'pause <container-id>',
  options: {},
  async run(args, { runtime }) {
    await pause(runtime, requireId(parse(args, {}, 'pause').positionals, 'pause'));
    return 0;
  },
};

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'thaw a paused container',
  usage: 'resume <container-id>',
  options: {},
  async run(args, { runtime }) {
    await resume(runtime, requireId(parse(args, {}, 'resume').positionals, 'resume'));
    return 0;
  },
};

const updateOptions = {
  resources: { type: 'string', short: 'r' },
  memory: { type: 'string' },
  'memory-reservation': { type: 'string' },
  'memory-swap': { type: 'string' },
  'kernel-memory': { type: 'string' },
  'cpu-shares': { type: 'string' },
  'cpu-quota': { type: 'string' },
  'cpu-period': { type: 'string' },
  'cpu-rt-runtime': { type: 'string' },
  'cpu-rt-period': { type: 'string' },
  'cpuset-cpus': { type: 'string' },
  'cpuset-mems': { type: 'string' },
  'pids-limit': { type: 'string' },
  'blkio-weight': { type: 'string' },
} as const;

function int(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw invalidArgument(`invalid value for --${name}: ${JSON.stringify(value)}`);
  return n;
}

export const updateCommand: Command = {
  name: 'update',
  summary: 'change the resource limits of a container',
  usage: 'update [-r resources.json|-] [--memory N] [--cpu-quota N] ... <container-id>',
  options: updateOptions,
  async run(args, { runtime }) {
    const { values, positionals } = parse(args, updateOptions, 'update');
    const id = requireId(positionals, 'update');
    let patch: Resources = {};
    if (values.resources) {
      const text = values.resources === '-' ? await readStdin() : readFileSync(values.resources as string, 'utf8');
      try {
        patch = JSON.parse(text) as Resources;
      } catch (err) {
        throw invalidArgument(`parse resources: ${(err as Error).message}`, err);
      }
    }
    const v = values as Record<string, string | undefined>;
    const memory = { ...patch.memory };
    if (v.memory) memory.limit = parseBytes(v.memory);
    if (v['memory-reservation']) memory.reservation = parseBytes(v['memory-reservation']);
    if (v['memory-swap']) memory.swap = v['memory-swap'] === '-1' ? -1 : parseBytes(v['memory-swap']);
    if (v['kernel-memory']) memory.kernel = parseBytes(v['kernel-memory']);
    if (Object.keys(memory).length > 0) patch.memory = memory;
    const cpu = { ...patch.cpu };
    if (v['cpu-shares']) cpu.shares = int('cpu-shares', v['cpu-shares']);
    if (v['cpu-quota']) cpu.quota = int('cpu-quota', v['cpu-quota']);
    if (v['cpu-period']) cpu.period = int('cpu-period', v['cpu-period']);
    if (v['cpu-rt-runtime']) cpu.realtimeRuntime = int('cpu-rt-runtime', v['cpu-rt-runtime']);
    if (v['cpu-rt-period']) cpu.realtimePeriod = int('cpu-rt-period', v['cpu-rt-period']);
    if (v['cpuset-cpus']) cpu.cpus = v['cpuset-cpus'];
    if (v['cpuset-mems']) cpu.mems = v['cpuset-mems'];
    if (Object.keys(cpu).length > 0) patch.cpu = cpu;
    if (v['pids-limit']) patch.pids = { limit: int('pids-limit', v['pids-limit']) };
    if (v['blkio-weight']) patch.blockIO = { ...patch.blockIO, weight: int('blkio-weight', v['blkio-weight']) };
    await update(runtime, id, patch);
    return 0;
  },
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const execOptions = {
  process: { type: 'string', short: 'p' },
  tty: { type: 'boolean', short: 't' },
  detach: { type: 'boolean', short: 'd' },
  cwd: { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  user: { type: 'string', short: 'u' },
  'additional-gids': { type: 'string', short: 'g', multiple: true },
  cap: { type: 'string', short: 'c', multiple: true },
  'no-new-privs': { type: 'boolean' },
  'console-socket': { type: 'string' },
  'pid-file': { type: 'string' },
  'preserve-fds': { type: 'string' },
  apparmor: { type: 'string' },
  'process-label': { type: 'string' },
  'ignore-paused': { type: 'boolean' },
} as const;

export const execCommand: Command = {
  name: 'exec',
  summary: 'run a new process inside a container',
  usage: 'exec [-p process.json | -t -d --cwd DIR -e K=V -u UID[:GID]] <container-id> [command args...]',
  options: execOptions,
  async run(args, { runtime }) {
    // Everything after the container id belongs to the command, flags included.
    const idIndex = firstPositional(args, execOptions);
    const { values } = parse(args.slice(0, idIndex), execOptions, 'exec');
    const id = requireId(args.slice(idIndex), 'exec');
    const command = args.slice(idIndex + 1);
    const record = await runtime.store.load(id);
    let proc: Process;
    if (values.process) {
      try {
        proc = JSON.parse(readFileSync(values.process as string, 'utf8')) as Process;
      } catch (err) {
        throw invalidArgument(`parse process ${values.process}: ${(err as Error).message}`, err);
      }
    } else {
      if (command.length === 0) throw invalidArgument('exec: command cannot be empty');
      const base = record.config.process;
      proc = {
        args: command,
        env: [...(base?.env ?? [])],
        cwd: base?.cwd ?? '/',
        user: { ...(base?.user ?? { uid: 0, gid: 0 }) },
        capabilities: base?.capabilities ? structuredClone(base.capabilities) : undefined,
        noNewPrivileges: base?.noNewPrivileges,
        apparmorProfile: base?.apparmorProfile,
        selinuxLabel: base?.selinuxLabel,
        rlimits: base?.rlimits,
        terminal: false,
      };
    }
    if (values.tty) proc.terminal = true;
    if (values.cwd) proc.cwd = values.cwd as string;
    for (const env of (values.env as string[] | undefined) ?? []) proc.env = [...(proc.env ?? []).filter((e) => !e.startsWith(env.split('=')[0] + '=')), env];
    if (values.user) {
      const [uid, gid] = (values.user as string).split(':');
      proc.user = { ...proc.user, uid: Number(uid), gid: gid === undefined ? proc.user.gid : Number(gid) };
      if (!Number.isInteger(proc.user.uid) || !Number.isInteger(proc.user.gid)) throw invalidArgument(`invalid --user ${JSON.stringify(values.user)}: use UID[:GID]`);
    }
    if (values['additional-gids']) proc.user.additionalGids = (values['additional-gids'] as string[]).map(Number);
    if (values.cap) {
      const caps = proc.capabilities ?? {};
      for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...(values.cap as string[])])];
      proc.capabilities = caps;
    }
    if (values['no-new-privs']) proc.noNewPrivileges = true;
    if (values.apparmor) proc.apparmorProfile = values.apparmor as string;
    if (values['process-label']) proc.selinuxLabel = values['process-label'] as string;
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => {});
    const result = await exec(runtime, id, {
      process: proc,
      detach: values.detach === true,
      consoleSocket: values['console-socket'] as string | undefined,
      pidFile: values['pid-file'] as string | undefined,
      preserveFds: values['preserve-fds'] ? Number(values['preserve-fds']) : 0,
    });
    if (!result.exit) return 0;
    const report = await result.exit;
    if (report.error) process.stderr.write(`berth-runtime: ${report.error.message}\n`);
    return report.code;
  },
};

const specOptions = { bundle: { type: 'string', short: 'b' }, rootless: { type: 'boolean' } } as const;

export const specCommand: Command = {
  name: 'spec',
  summary: 'write a default config.json',
  usage: 'spec [--bundle DIR] [--rootless]',
  options: specOptions,
  async run(args) {
    const { values } = parse(args, specOptions, 'spec');
    const path = join(resolve((values.bundle as string | undefined) ?? '.'), 'config.json');
    if (existsSync(path)) throw conflict(`File ${path} exists. Remove it first`);
    writeFileSync(path, JSON.stringify(defaultSpec({ rootless: values.rootless === true }), null, '\t') + '\n', { mode: 0o644 });
    return 0;
  },
};
