/**
 * Read-only verbs: state, list, ps, events, features.
 */

import { containerState, containerStatus, loadCgroup, features, toState, psTable } from '../../../runtime/index.ts';
import { invalidArgument } from '../../../util/errors.ts';
import { parse, requireId, firstPositional } from '../args.ts';
import type { Command } from '../context.ts';
import { table } from '../table.ts';

export const stateCommand: Command = {
  name: 'state',
  summary: 'print the state of a container as JSON',
  usage: 'state <container-id>',
  options: {},
  async run(args, { runtime, out }) {
    const { positionals } = parse(args, {}, 'state');
    const { record, state } = await containerState(runtime, requireId(positionals, 'state'));
    out(JSON.stringify({ ...state, pid: state.pid ?? 0, rootfs: record.rootfs, created: record.created, owner: record.owner }, null, 2) + '\n');
    return 0;
  },
};

const listOptions = { format: { type: 'string', short: 'f' }, quiet: { type: 'boolean', short: 'q' } } as const;

export const listCommand: Command = {
  name: 'list',
  summary: 'list containers',
  usage: 'list [--format table|json] [--quiet]',
  options: listOptions,
  async run(args, { runtime, out }) {
    const { values } = parse(args, listOptions, 'list');
    const rows = [];
    for (const id of await runtime.store.list()) {
      const record = await runtime.store.load(id).catch(() => undefined);
      if (!record) continue;
      const status = await containerStatus(runtime, record);
      rows.push({ ...toState(record, status), pid: status === 'stopped' ? 0 : record.pid, rootfs: record.rootfs, created: record.created, owner: record.owner });
    }
    if (values.quiet) out(rows.map((r) => `${r.id}\n`).join(''));
    else if (values.format === 'json') out(JSON.stringify(rows) + '\n');
    else if (values.format === undefined || values.format === 'table') {
      out(table([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...rows.map((r) => [r.id, String(r.pid), r.status, r.bundle, r.created, r.owner])]));
    } else throw invalidArgument(`invalid format option ${JSON.stringify(values.format)}`);
    return 0;
  },
};

const psOptions = { format: { type: 'string', short: 'f' } } as const;

export const psCommand: Command = {
  name: 'ps',
  summary: 'list the processes of a container (extra arguments go to ps)',
  usage: 'ps [--format table|json] <container-id> [ps options]',
  options: psOptions,
  async run(args, { runtime, out }) {
    // ps's own options follow the container id (after an optional `--`).
    const idIndex = firstPositional(args, psOptions);
    const own = args.slice(0, idIndex + 1).filter((a) => a !== '--');
    const psArgs = args.slice(idIndex + 1).filter((a, i) => !(i === 0 && a === '--'));
    const { values, positionals } = parse(own, psOptions, 'ps');
    const { record } = await containerState(runtime, requireId(positionals, 'ps'));
    const pids = await loadCgroup(record).pids();
    if (values.format === 'json') {
      out(JSON.stringify(pids) + '\n');
      return 0;
    }
    out(psTable(pids, psArgs));
    return 0;
  },
};

const eventsOptions = { stats: { type: 'boolean' }, interval: { type: 'string' } } as const;

export const eventsCommand: Command = {
  name: 'events',
  summary: 'print container events and resource statistics (--stats: once)',
  usage: 'events [--stats] [--interval 5s] <container-id>',
  options: eventsOptions,
  async run(args, { runtime, out }) {
    const { values, positionals } = parse(args, eventsOptions, 'events');
    const id = requireId(positionals, 'events');
    const interval = parseDuration((values.interval as string | undefined) ?? '5s');
    for (;;) {
      const { record, state } = await containerState(runtime, id);
      if (state.status === 'stopped') return values.stats ? (out(JSON.stringify({ type: 'stats', id, data: {} }) + '\n'), 0) : 0;
      const data = await loadCgroup(record).stats();
      out(JSON.stringify({ type: 'stats', id, data }) + '\n');
      if (values.stats) return 0;
      await new Promise((r) => setTimeout(r, interval));
    }
  },
};

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw invalidArgument(`invalid duration ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

export const featuresCommand: Command = {
  name: 'features',
  summary: 'print what this runtime supports, as JSON',
  usage: 'features',
  options: {},
  async run(args, { out }) {
    parse(args, {}, 'features');
    out(JSON.stringify(await features(), null, 2) + '\n');
    return 0;
  },
};
