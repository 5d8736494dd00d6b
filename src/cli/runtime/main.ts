/**
 * berth-runtime: an OCI runtime with runc's command line. Errors go to stderr and, with --log,
 * to the log file (in JSON with --log-format json, which is what containerd and podman read back).
 */

import { appendFileSync } from 'node:fs';
import { EngineError } from '../../util/errors.ts';
import { splitGlobal, type GlobalOptions } from './args.ts';
import type { Command } from './context.ts';

export const VERSION = '0.1.0';

// Each verb's module, and the runtime library, are imported when that verb runs: the bundle is
// split per module (scripts/build.mjs), so `state` or `--version` do not load what `run` needs.
const lifecycle = (): Promise<typeof import('./commands/lifecycle.ts')> => import('./commands/lifecycle.ts');
const inspect = (): Promise<typeof import('./commands/inspect.ts')> => import('./commands/inspect.ts');
const manage = (): Promise<typeof import('./commands/manage.ts')> => import('./commands/manage.ts');

/** Every verb in the order of the help text. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  create: async () => (await lifecycle()).createCommand,
  start: async () => (await lifecycle()).startCommand,
  run: async () => (await lifecycle()).runCommand,
  state: async () => (await inspect()).stateCommand,
  kill: async () => (await lifecycle()).killCommand,
  delete: async () => (await lifecycle()).deleteCommand,
  exec: async () => (await manage()).execCommand,
  ps: async () => (await inspect()).psCommand,
  pause: async () => (await manage()).pauseCommand,
  resume: async () => (await manage()).resumeCommand,
  list: async () => (await inspect()).listCommand,
  events: async () => (await inspect()).eventsCommand,
  update: async () => (await manage()).updateCommand,
  features: async () => (await inspect()).featuresCommand,
  spec: async () => (await manage()).specCommand,
};
const ALIASES: Record<string, string> = { ls: 'list' };

async function help(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: berth-runtime [global options] <command> [options] [arguments]',
    '',
    'An OCI runtime (runtime-spec 1.1) with runc\'s command line.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global options:',
    '  --root DIR            state directory (default /run/berth/runtime)',
    '  --log FILE            also write errors and warnings to FILE',
    '  --log-format text|json',
    '  --debug               verbose errors (with causes)',
    '  --systemd-cgroup      use the systemd cgroup driver (not supported yet)',
    '',
  ].join('\n');
}

function logLine(global: GlobalOptions, level: 'error' | 'warning', message: string): void {
  if (!global.log) return;
  const line = global.logFormat === 'json'
    ? JSON.stringify({ level, msg: message, time: new Date().toISOString() })
    : `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(message)}`;
  try {
    appendFileSync(global.log, line + '\n');
  } catch {
    // The log is best effort; stderr has the message too.
  }
}

/**
 * How many times more reluctant than normal JavaScriptCore is to compile our functions, under
 * Bun (Node has no such switch). A CLI call runs each function a few times and is over in ~30 ms:
 * tier-up compilation, on the main thread and on JIT threads that compete with it, the shim and
 * the container for two cores, costs more than it gains. Paired `run`s of a build that read the
 * scale from the environment: 9 % less wall time with 1e6, 7 % with 100, 5 % with 10. What the
 * JIT still costs before this line runs: bench/cli-run-jit.sh.
 */
const JIT_RELUCTANCE = 1_000_000;

type MaybeBun = { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } };

export async function main(argv: string[]): Promise<number> {
  (globalThis as MaybeBun).Bun?.unsafe?.setJITPolicy?.(JIT_RELUCTANCE);
  let global: GlobalOptions = { logFormat: 'text', debug: false, systemdCgroup: false };
  try {
    const split = splitGlobal(argv);
    global = split.global;
    if (split.version) {
      process.stdout.write(`berth-runtime version ${VERSION}\nspec: 1.1.0\n`);
      return 0;
    }
    if (split.help || !split.verb) {
      process.stdout.write(await help());
      return split.verb || split.help ? 0 : 1;
    }
    if (global.systemdCgroup) throw new EngineError('not-implemented', 'the systemd cgroup driver is not supported yet: run without --systemd-cgroup');
    const name = ALIASES[split.verb] ?? split.verb;
    const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!load) throw new EngineError('invalid-argument', `unknown command ${JSON.stringify(split.verb)}: see berth-runtime --help`);
    const [command, { Runtime }] = await Promise.all([load(), import('../../runtime/runtime.ts')]);
    if (split.rest.includes('--help') || split.rest.includes('-h')) {
      process.stdout.write(`usage: berth-runtime ${command.usage}\n`);
      return 0;
    }
    const warn = (message: string): void => {
      process.stderr.write(`berth-runtime: warning: ${message}\n`);
      logLine(global, 'warning', message);
    };
    const runtime = new Runtime({ root: global.root, warn });
    return await command.run(split.rest, { runtime, global, out: (text) => process.stdout.write(text) });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`berth-runtime: ${message}\n`);
    if (global.debug && err instanceof Error && err.cause) process.stderr.write(`  caused by: ${String(err.cause)}\n`);
    logLine(global, 'error', message);
    return 1;
  }
}
