/**
 * OCI hooks: each runs with the container's state on stdin, in order, with the spec's failure
 * rules (create-time hooks abort the create; poststart and poststop failures only warn).
 * Hooks that must run in the container's namespaces go through a shim that joins them.
 */

import type { Hook, State } from '../oci/runtime-spec.ts';
import { EngineError } from '../util/errors.ts';
import { step } from './plan/plan.ts';
import { ShimConnection, type ShimChild } from './shim/shim-client.ts';
import { joinNamespaceSteps } from './namespaces.ts';

export type HookKind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

export class HookError extends EngineError {
  constructor(kind: HookKind, hook: Hook, reason: string) {
    super('failed-precondition', `${kind} hook ${hook.path}: ${reason}`);
    this.name = 'HookError';
  }
}

function feed(stdin: NodeJS.WritableStream | null, state: State): void {
  if (!stdin) return;
  // A hook may exit without reading its stdin: that is not our failure.
  stdin.on('error', () => {});
  stdin.end(JSON.stringify(state));
}

function waitHook(kind: HookKind, hook: Hook, child: ShimChild, onTimeout: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = hook.timeout ? setTimeout(() => ((timedOut = true), onTimeout()), hook.timeout * 1000) : undefined;
    child.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(new HookError(kind, hook, err.message));
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      if (timedOut) reject(new HookError(kind, hook, `timed out after ${hook.timeout}s`));
      else if (code === 0) resolve();
      else reject(new HookError(kind, hook, signal ? `killed by ${signal}` : `exit status ${code}`));
    });
  });
}

/** Runs one hook in the runtime's namespaces. */
function runHostHook(kind: HookKind, hook: Hook, state: State): Promise<void> {
  const args = hook.args ?? [hook.path];
  // loaded here, not at start-up: most containers have no hooks, and every CLI call pays a module's load
  const child = process.getBuiltinModule('node:child_process').spawn(hook.path, args.slice(1), {
    argv0: args[0] ?? hook.path,
    env: Object.fromEntries((hook.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  feed(child.stdin, state);
  return waitHook(kind, hook, child, () => child.kill('SIGKILL'));
}

/** Runs one hook inside the namespaces of the process `pid` (createContainer, startContainer). */
async function runContainerHook(kind: HookKind, hook: Hook, state: State, pid: number, namespaces: Parameters<typeof joinNamespaceSteps>[1]): Promise<void> {
  const args = hook.args ?? [hook.path];
  const plan = [
    step('SET_DUMPABLE', 0),
    ...joinNamespaceSteps(pid, namespaces),
    step('CLONE', 0),
    step('WAIT', '', 1),
    step('CHILD'),
    step('EXEC', '', args.length, hook.path, ...args.slice(1), ...(hook.env ?? [])),
  ];
  // EXEC takes argv[0] as the path to run; the hook's own argv[0] is kept as args[0] when it is the path.
  const shim = await ShimConnection.start(plan, { stdio: ['pipe', 'inherit', 'inherit'] });
  feed(shim.child.stdin, state);
  await waitHook(kind, hook, shim.child, () => shim.child.kill('SIGTERM'));
}

export interface HookContext {
  pid?: number;
  namespaces?: Parameters<typeof joinNamespaceSteps>[1];
}

/** Runs the hooks of one kind in order; the first failure stops them and is thrown. */
export async function runHooks(kind: HookKind, hooks: Hook[] | undefined, state: State, context: HookContext = {}): Promise<void> {
  for (const hook of hooks ?? []) {
    if ((kind === 'createContainer' || kind === 'startContainer') && context.pid) {
      await runContainerHook(kind, hook, state, context.pid, context.namespaces ?? []);
    } else {
      await runHostHook(kind, hook, state);
    }
  }
}

/** poststart/poststop: a failure is a warning, and the remaining hooks still run. */
export async function runHooksWarn(kind: HookKind, hooks: Hook[] | undefined, state: State, warn: (message: string) => void): Promise<void> {
  for (const hook of hooks ?? []) {
    try {
      await runHostHook(kind, hook, state);
    } catch (err) {
      warn((err as Error).message);
    }
  }
}
