/**
 * Running a CNI 1.0 plugin chain as the spec's "Execution of Network Configuration Lists" says:
 * ADD each plugin in order, feeding each one the previous result; CHECK and DEL with the cached
 * result; DEL in reverse order. An ADD that fails half-way is undone with DEL before the error is
 * thrown, so nothing is ever left half-attached.
 */

import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError, invalidArgument } from '../../util/errors.ts';
import { run } from '../exec.ts';
import { pluginError } from './errors.ts';
import type { Attachment, CniResult, NetConfList, PluginConf, RuntimeConfig } from './types.ts';

export const DEFAULT_PLUGIN_DIRS: readonly string[] = ['/usr/lib/cni', '/opt/cni/bin'];

type Command = 'ADD' | 'CHECK' | 'DEL';

/** How a chain runs: `background` lowers the plugins' CPU priority (see RunOptions.niceness). */
export interface RunMode {
  readonly background?: boolean;
}

/** The nice value of background plugin runs. */
export const BACKGROUND_NICENESS = 10;

export interface PluginTiming {
  readonly plugin: string;
  readonly command: Command;
  readonly ms: number;
}

export class CniRunner {
  readonly pluginDirs: readonly string[];
  readonly #found = new Map<string, string>();
  /** Per-plugin timings of the last add/del, for benchmarks and slow-start diagnosis (interleaved when calls overlap). */
  timings: PluginTiming[] = [];

  constructor(pluginDirs: readonly string[] = DEFAULT_PLUGIN_DIRS) {
    this.pluginDirs = pluginDirs;
  }

  async #binary(type: string): Promise<string> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type)) throw invalidArgument(`find cni plugin ${JSON.stringify(type)}: invalid name`);
    const cached = this.#found.get(type);
    if (cached !== undefined) return cached;
    for (const dir of this.pluginDirs) {
      const path = join(dir, type);
      if (await access(path, constants.X_OK).then(() => true, () => false)) {
        this.#found.set(type, path);
        return path;
      }
    }
    throw new EngineError('failed-precondition', `find cni plugin ${type}: not in ${this.pluginDirs.join(':')} (install containernetworking-plugins)`);
  }

  /** Spec §"Deriving runtimeConfig": a plugin sees only the capabilities it declares. */
  static stdinFor(list: NetConfList, plugin: PluginConf, runtimeConfig: RuntimeConfig | undefined, prevResult: CniResult | undefined): string {
    const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
    const caps = plugin.capabilities ?? {};
    const selected: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(runtimeConfig ?? {})) if (caps[key] === true && value !== undefined) selected[key] = value;
    if (Object.keys(selected).length > 0) conf['runtimeConfig'] = selected;
    else delete conf['runtimeConfig'];
    if (prevResult !== undefined) conf['prevResult'] = prevResult;
    return JSON.stringify(conf);
  }

  /** Runs one plugin; returns its parsed result (ADD) or undefined (CHECK, DEL). */
  async execPlugin(command: Command, list: NetConfList, plugin: PluginConf, att: Attachment, prevResult?: CniResult, mode: RunMode = {}): Promise<CniResult | undefined> {
    const binary = await this.#binary(plugin.type);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: att.containerId,
      CNI_NETNS: att.netns,
      CNI_IFNAME: att.ifName,
      CNI_PATH: this.pluginDirs.join(':'),
    };
    if (att.args !== undefined) env['CNI_ARGS'] = att.args;
    const started = performance.now();
    const input = CniRunner.stdinFor(list, plugin, att.runtimeConfig, prevResult);
    const result = await run(binary, [], { env, input, ...(mode.background === true ? { niceness: BACKGROUND_NICENESS } : {}) });
    this.timings.push({ plugin: plugin.type, command, ms: performance.now() - started });
    const what = `cni ${command.toLowerCase()} ${plugin.type} on network ${list.name}`;
    if (result.code !== 0) throw pluginError(what, plugin.type, result.code, result.stdout, result.stderr);
    if (command !== 'ADD') return undefined;
    try {
      return JSON.parse(result.stdout) as CniResult;
    } catch (err) {
      throw new EngineError('internal', `${what}: unparsable result: ${result.stdout.slice(0, 200)}`, { cause: err });
    }
  }

  /**
   * ADD the whole chain; on failure DEL everything added so far (and the failing plugin, which
   * may have done part of its work) in reverse order, then throw the ADD error.
   */
  async add(list: NetConfList, att: Attachment, mode: RunMode = {}): Promise<CniResult> {
    this.timings = [];
    let prev: CniResult | undefined;
    for (let i = 0; i < list.plugins.length; i++) {
      const plugin = list.plugins[i]!;
      try {
        prev = await this.execPlugin('ADD', list, plugin, att, prev, mode);
      } catch (err) {
        await this.#delPlugins(list, list.plugins.slice(0, i + 1), att, prev, mode).catch(() => {});
        throw err;
      }
    }
    if (prev === undefined) throw invalidArgument(`cni add on network ${list.name}: the list has no plugins`);
    return prev;
  }

  async check(list: NetConfList, att: Attachment, cached: CniResult): Promise<void> {
    if (list.disableCheck === true) return;
    for (const plugin of list.plugins) await this.execPlugin('CHECK', list, plugin, att, cached);
  }

  /** DEL in reverse order. Every plugin is tried even if one fails (fewer leaks); the first error is thrown. */
  async del(list: NetConfList, att: Attachment, cached?: CniResult, mode: RunMode = {}): Promise<void> {
    this.timings = [];
    await this.#delPlugins(list, list.plugins, att, cached, mode);
  }

  async #delPlugins(list: NetConfList, plugins: readonly PluginConf[], att: Attachment, prev: CniResult | undefined, mode: RunMode): Promise<void> {
    let first: unknown;
    for (const plugin of [...plugins].reverse()) {
      try {
        await this.execPlugin('DEL', list, plugin, att, prev, mode);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
