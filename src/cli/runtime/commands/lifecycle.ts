/**
 * The lifecycle verbs as runc spells them: create, start, run, kill, delete.
 */

import { resolve } from 'node:path';
import { create, start, run, kill, parseSignal, deleteContainer } from '../../../runtime/index.ts';
import { parse, requireId } from '../args.ts';
import type { Command } from '../context.ts';

const createOptions = {
  bundle: { type: 'string', short: 'b' },
  'console-socket': { type: 'string' },
  'pid-file': { type: 'string' },
  'preserve-fds': { type: 'string' },
  'no-pivot': { type: 'boolean' },
  'no-new-keyring': { type: 'boolean' },
} as const;

function preserveFds(value: unknown): number {
  const n = value === undefined ? 0 : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`invalid --preserve-fds ${JSON.stringify(value)}`);
  return n;
}

export const createCommand: Command = {
  name: 'create',
  summary: 'create a container',
  usage: 'create [--bundle DIR] [--console-socket SOCK] [--pid-file FILE] <container-id>',
  options: createOptions,
  async run(args, { runtime }) {
    const { values, positionals } = parse(args, createOptions, 'create');
    const id = requireId(positionals, 'create');
    await create(runtime, id, {
      bundle: resolve((values.bundle as string | undefined) ?? '.'),
      consoleSocket: values['console-socket'] as string | undefined,
      pidFile: values['pid-file'] as string | undefined,
      preserveFds: preserveFds(values['preserve-fds']),
      stdio: ['inherit', 'inherit', 'inherit'],
    }).then(({ shim }) => shim.close());
    return 0;
  },
};

export const startCommand: Command = {
  name: 'start',
  summary: 'start a created container',
  usage: 'start <container-id>',
  options: {},
  async run(args, { runtime }) {
    const { positionals } = parse(args, {}, 'start');
    await start(runtime, requireId(positionals, 'start'));
    return 0;
  },
};

const runOptions = { ...createOptions, detach: { type: 'boolean', short: 'd' }, keep: { type: 'boolean' } } as const;

export const runCommand: Command = {
  name: 'run',
  summary: 'create and start a container; exits with its exit code',
  usage: 'run [--bundle DIR] [-d] [--keep] [--console-socket SOCK] [--pid-file FILE] <container-id>',
  options: runOptions,
  async run(args, { runtime }) {
    const { values, positionals } = parse(args, runOptions, 'run');
    const id = requireId(positionals, 'run');
    // The shim relays these to the container; this process must outlive them to report the exit.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => {});
    const report = await run(runtime, id, {
      bundle: resolve((values.bundle as string | undefined) ?? '.'),
      consoleSocket: values['console-socket'] as string | undefined,
      pidFile: values['pid-file'] as string | undefined,
      preserveFds: preserveFds(values['preserve-fds']),
      detach: values.detach === true,
      keep: values.keep === true,
    });
    if (report.error) process.stderr.write(`berth-runtime: ${report.error.message}\n`);
    return report.code;
  },
};

const killOptions = { all: { type: 'boolean', short: 'a' } } as const;

export const killCommand: Command = {
  name: 'kill',
  summary: 'send a signal (default SIGTERM) to the container init, or with --all to every process',
  usage: 'kill [--all] <container-id> [SIGNAL]',
  options: killOptions,
  async run(args, { runtime }) {
    const { values, positionals } = parse(args, killOptions, 'kill');
    const id = requireId(positionals, 'kill');
    await kill(runtime, id, parseSignal(positionals[1] ?? 'SIGTERM'), { all: values.all === true });
    return 0;
  },
};

const deleteOptions = { force: { type: 'boolean', short: 'f' } } as const;

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'delete a stopped container (--force kills it first)',
  usage: 'delete [--force] <container-id>',
  options: deleteOptions,
  async run(args, { runtime }) {
    const { values, positionals } = parse(args, deleteOptions, 'delete');
    await deleteContainer(runtime, requireId(positionals, 'delete'), { force: values.force === true });
    return 0;
  },
};
