/**
 * Runs a Dockerfile as docker's legacy builder does: each stage starts from its FROM image (a
 * registry image, an earlier stage, or scratch); RUN runs in a container of the current image
 * and the container's changes become a layer; COPY/ADD put files from the context (or an
 * earlier stage) into a created container, committed the same way; the other instructions change
 * the config only and are recorded as empty-layer history. Containers and images come from the
 * engine through BuildHost: the builder decides, the engine executes.
 */

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HistoryEntry, ImageRunConfig } from '../../oci/image-spec.ts';
import { encodeTarHeader, END_OF_ARCHIVE } from '../../snapshot/index.ts';
import { tarTree } from '../../snapshot/tar/tree.ts';
import { EngineError, invalidArgument } from '../../util/errors.ts';
import { applyLayer } from '../unpack/index.ts';
import { decompress } from '../unpack/decompress.ts';
import { applyConfigStep, commandOf, DEFAULT_SHELL, envLookup, type ConfigState } from './config-steps.ts';
import { destinationOf, resolveSources, type Source } from './copy-sources.ts';
import { parseDockerfile, parseInstruction, type Dockerfile, type Instruction } from './dockerfile.ts';
import { expand, expandWords, keyValues, type Lookup } from './expand.ts';

export interface BuildImage {
  readonly id: string;
  readonly config: ImageRunConfig;
}

export type PathKind = 'dir' | 'other' | undefined;

/** What the engine does for the builder. */
export interface BuildHost {
  /** an image by reference; pulled when missing, or always with `pull` */
  image(ref: string, options: { pull: boolean; platform?: string }): Promise<BuildImage>;
  /** an image of one empty layer: the base of `FROM scratch` */
  scratch(): Promise<BuildImage>;
  /** a container of `image` with the config's Env, User and WorkingDir, whose process is `argv`; not started */
  createContainer(image: string, config: ImageRunConfig, argv: string[]): Promise<string>;
  /** starts it, streams its output, resolves to its exit code */
  runContainer(id: string, onOutput: (chunk: Uint8Array) => void): Promise<number>;
  /** what is at `path` in the container (symlinks followed) */
  pathKind(container: string, path: string): Promise<PathKind>;
  /** unpacks a tar into a directory of the container that exists */
  putArchive(container: string, dir: string, tar: AsyncIterable<Uint8Array>): Promise<void>;
  /** a tar of `path` in the container, entries named after its base name */
  getArchive(container: string, path: string): Promise<AsyncIterable<Uint8Array>>;
  /** the container's changes as one more layer on its image; `history` ends with the layer's entry */
  commit(container: string, config: ImageRunConfig, history: HistoryEntry[], author?: string): Promise<string>;
  /** `image` with another config and more empty-layer history */
  configure(image: string, config: ImageRunConfig, history: HistoryEntry[], author?: string): Promise<string>;
  removeContainer(id: string): Promise<void>;
  /** the image a step with this cache key made before, if it still exists */
  cacheLookup(key: string): Promise<string | undefined>;
  cacheStore(key: string, image: string): Promise<void>;
}

export interface BuildOptions {
  /** the build context, a directory the builder may read */
  contextDir: string;
  /** path of the Dockerfile inside the context (default `Dockerfile`) */
  dockerfile?: string;
  buildArgs?: Record<string, string | null>;
  /** labels for the final image */
  labels?: Record<string, string>;
  /** stop after this stage */
  target?: string;
  pull?: boolean;
  platform?: string;
  /** remove intermediate containers after a successful step (default true) */
  rm?: boolean;
  /** remove them after a failed step too */
  forceRm?: boolean;
  /** run every step even when an earlier build made the same one (`--no-cache`) */
  noCache?: boolean;
  /** `{"stream": …}` lines for the client */
  output: (text: string) => void;
  signal?: AbortSignal;
}

/** ARGs every build knows without declaring them (docker's predefined proxy args). */
const PREDEFINED_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

interface StageState extends ConfigState {
  image: string;
  /** empty-layer history entries not yet written into an image */
  pending: HistoryEntry[];
  /** the stage's ARG values (declared in it) */
  args: Map<string, string>;
  /** the image behind `image` already carries `config` and `pending` */
  clean: boolean;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function nop(text: string): string {
  return `/bin/sh -c #(nop) ${text}`;
}

/**
 * What a COPY source holds: names, types, modes, link targets and contents, recursively (not
 * owners or times, which COPY does not carry over), as one digest for the build cache.
 */
export async function contentDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  const visit = async (at: string, rel: string): Promise<void> => {
    const st = await lstat(at);
    hash.update(`${rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) hash.update(`${await readlink(at)}\0`);
    else if (st.isFile()) {
      hash.update(`${st.size}\0`);
      for await (const chunk of createReadStream(at)) hash.update(chunk as Buffer);
    } else if (st.isDirectory()) {
      for (const name of (await readdir(at)).sort()) await visit(join(at, name), `${rel}/${name}`);
    }
  };
  await visit(path, '.');
  return hash.digest('hex');
}

export class Builder {
  readonly #host: BuildHost;
  readonly #options: BuildOptions;
  readonly #dockerfile: Dockerfile;
  /** images of finished stages, by index and by name */
  readonly #stages = new Map<string, string>();
  readonly #usedArgs = new Set<string>();
  readonly #globalArgs = new Map<string, string | undefined>();
  #step = 0;
  readonly #steps: number;
  readonly #scratchDirs: string[] = [];

  constructor(host: BuildHost, dockerfileText: string, options: BuildOptions) {
    this.#host = host;
    this.#options = options;
    this.#dockerfile = parseDockerfile(dockerfileText);
    const last = this.#lastStage();
    this.#steps = this.#dockerfile.globalArgs.length + this.#dockerfile.stages.slice(0, last + 1).reduce((n, s) => n + 1 + s.instructions.length, 0);
  }

  #lastStage(): number {
    const { target } = this.#options;
    if (target === undefined || target === '') return this.#dockerfile.stages.length - 1;
    const at = this.#dockerfile.stages.findIndex((s) => s.name === target.toLowerCase());
    if (at === -1) throw invalidArgument(`failed to reach build target ${target} in Dockerfile`);
    return at;
  }

  #buildArg(name: string): string | null | undefined {
    const args = this.#options.buildArgs ?? {};
    return Object.hasOwn(args, name) ? args[name] : undefined;
  }

  /** Builds every stage up to the target; resolves to the final image's ID. */
  async build(): Promise<string> {
    const globalLookup: Lookup = (name) => this.#globalArgs.get(name);
    for (const ins of this.#dockerfile.globalArgs) {
      this.#announce(ins);
      for (const [name, value] of keyValues('ARG', ins.rest, globalLookup, this.#dockerfile.escape)) {
        const given = this.#buildArg(name);
        if (given !== undefined) this.#usedArgs.add(name);
        this.#globalArgs.set(name, given ?? value);
      }
    }
    let image = '';
    try {
      const last = this.#lastStage();
      for (let i = 0; i <= last; i++) {
        const stage = this.#dockerfile.stages[i]!;
        image = await this.#runStage(stage.from, stage.instructions, i === last);
        this.#stages.set(String(i), image);
        if (stage.name !== undefined) this.#stages.set(stage.name, image);
      }
    } finally {
      for (const dir of this.#scratchDirs) await rm(dir, { recursive: true, force: true });
    }
    const unused = Object.keys(this.#options.buildArgs ?? {}).filter((name) => !this.#usedArgs.has(name) && !PREDEFINED_ARGS.has(name));
    if (unused.length > 0) this.#options.output(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    return image;
  }

  #announce(ins: Instruction): void {
    this.#step++;
    this.#options.output(`Step ${this.#step}/${this.#steps} : ${ins.original}\n`);
  }

  #lookup(state: StageState): Lookup {
    const env = envLookup(state.config.Env);
    return (name) => env(name) ?? state.args.get(name);
  }

  async #runStage(from: Instruction, instructions: readonly Instruction[], final: boolean): Promise<string> {
    this.#announce(from);
    const escape = this.#dockerfile.escape;
    const ref = expandWords(from.rest, (name) => this.#globalArgs.get(name), escape)[0] ?? '';
    if (ref === '') throw invalidArgument(`base name (${from.rest}) should not be blank`);
    const platform = from.flags.get('platform') ?? this.#options.platform;
    let base: BuildImage;
    const earlier = this.#stages.get(ref.toLowerCase());
    if (earlier !== undefined) base = await this.#host.image(earlier, { pull: false });
    else if (ref === 'scratch') base = await this.#host.scratch();
    else base = await this.#host.image(ref, { pull: this.#options.pull === true, ...(platform ? { platform } : {}) });
    this.#options.output(` ---> ${shortId(base.id)}\n`);
    const config = structuredClone(base.config);
    const triggers = config.OnBuild ?? [];
    // a child image does not inherit its parent's triggers: it runs them
    delete config.OnBuild;
    const state: StageState = { image: base.id, config, cmdSet: false, pending: [], args: new Map(), clean: triggers.length === 0 };
    if (triggers.length > 0) this.#options.output(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
    for (const trigger of triggers) await this.#execute(state, parseInstruction(trigger, from.line));
    for (const ins of instructions) {
      if (this.#options.signal?.aborted) throw new EngineError('unavailable', 'build cancelled: the client went away');
      this.#announce(ins);
      await this.#execute(state, ins);
    }
    if (final && this.#options.labels !== undefined && Object.keys(this.#options.labels).length > 0) {
      state.config.Labels = { ...state.config.Labels, ...this.#options.labels };
      state.clean = false;
    }
    if (!state.clean) {
      state.image = await this.#host.configure(state.image, state.config, state.pending, state.author);
      state.pending = [];
      state.clean = true;
    }
    return state.image;
  }

  async #execute(state: StageState, ins: Instruction): Promise<void> {
    const escape = this.#dockerfile.escape;
    switch (ins.keyword) {
      case 'ARG':
        for (const [name, value] of keyValues('ARG', ins.rest, this.#lookup(state), escape)) {
          const given = this.#buildArg(name);
          if (given !== undefined) this.#usedArgs.add(name);
          const inherited = this.#globalArgs.get(name);
          const chosen = given ?? value ?? inherited;
          if (chosen !== undefined && chosen !== null) state.args.set(name, chosen);
          else state.args.delete(name);
        }
        state.pending.push({ created_by: nop(ins.original), empty_layer: true });
        state.clean = false;
        return;
      case 'RUN':
        return this.#run(state, ins);
      case 'COPY':
      case 'ADD':
        return this.#copy(state, ins);
      default:
        if (!applyConfigStep(state, ins, this.#lookup(state), escape)) throw invalidArgument(`unknown instruction: ${ins.keyword}`);
        state.pending.push({ created_by: nop(ins.original), empty_layer: true });
        state.clean = false;
    }
  }

  /** Env of a RUN: the config's, plus the stage's ARGs the config does not set. */
  #runEnv(state: StageState): string[] {
    const env = [...(state.config.Env ?? [])];
    const set = new Set(env.map((e) => e.split('=')[0]));
    for (const [name, value] of state.args) if (!set.has(name)) env.push(`${name}=${value}`);
    return env;
  }

  /**
   * A step's cache key: the image it starts from, the config and history it would write, and
   * what else decides its result (the RUN's environment, the content of COPY sources).
   */
  #cacheKey(state: StageState, step: string, extra: unknown): string {
    const key = { parent: state.image, config: state.config, author: state.author ?? '', pending: state.pending.map((h) => h.created_by), step, extra };
    return createHash('sha256').update(JSON.stringify(key)).digest('hex');
  }

  /** Takes an earlier build's image for this step when there is one. */
  async #fromCache(state: StageState, key: string): Promise<boolean> {
    if (this.#options.noCache === true) return false;
    const image = await this.#host.cacheLookup(key);
    if (image === undefined) return false;
    state.image = image;
    state.pending = [];
    state.clean = true;
    this.#options.output(` ---> Using cache\n ---> ${shortId(image)}\n`);
    return true;
  }

  async #run(state: StageState, ins: Instruction): Promise<void> {
    const argv = commandOf(ins, state.config.Shell ?? DEFAULT_SHELL);
    const key = this.#cacheKey(state, ins.original, { argv, env: this.#runEnv(state) });
    if (await this.#fromCache(state, key)) return;
    const container = await this.#host.createContainer(state.image, { ...state.config, Env: this.#runEnv(state) }, argv);
    this.#options.output(` ---> Running in ${shortId(container)}\n`);
    let ok = false;
    try {
      const code = await this.#host.runContainer(container, (chunk) => this.#options.output(Buffer.from(chunk).toString('utf8')));
      if (code !== 0) {
        const shown = ins.json !== undefined ? JSON.stringify(ins.json) : argv.join(' ');
        throw new EngineError('invalid-argument', `The command '${shown}' returned a non-zero code: ${code}`);
      }
      const createdBy = ins.json !== undefined ? ins.json.join(' ') : argv.join(' ');
      await this.#commit(state, container, createdBy);
      await this.#host.cacheStore(key, state.image);
      ok = true;
    } finally {
      await this.#removeIntermediate(container, ok);
    }
  }

  async #commit(state: StageState, container: string, createdBy: string): Promise<void> {
    state.image = await this.#host.commit(container, state.config, [...state.pending, { created_by: createdBy }], state.author);
    state.pending = [];
    state.clean = true;
    this.#options.output(` ---> ${shortId(state.image)}\n`);
  }

  async #removeIntermediate(container: string, ok: boolean): Promise<void> {
    // a cancelled build leaves nothing of itself, whatever --force-rm says
    const remove = ok ? this.#options.rm !== false : this.#options.forceRm === true || this.#options.signal?.aborted === true;
    if (!remove) return;
    if (ok) this.#options.output(`Removing intermediate container ${shortId(container)}\n`);
    await this.#host.removeContainer(container).catch(() => {});
  }

  /** COPY --from: the named paths of a stage or image, materialised in a scratch directory. */
  async #stageFiles(from: string, paths: readonly string[]): Promise<string> {
    const known = this.#stages.get(from.toLowerCase());
    const image = known ?? (await this.#host.image(from, { pull: false })).id;
    const container = await this.#host.createContainer(image, {}, ['/']);
    const dir = await mkdtemp(join(tmpdir(), 'berth-build-from-'));
    this.#scratchDirs.push(dir);
    try {
      for (const path of paths) {
        const target = join(dir, posix.dirname(posix.normalize(`/${path}`)));
        await mkdir(target, { recursive: true });
        await applyLayer(target, await this.#host.getArchive(container, posix.normalize(`/${path}`)), { hasParent: false, label: `COPY --from=${from} ${path}` });
      }
    } finally {
      await this.#host.removeContainer(container).catch(() => {});
    }
    return dir;
  }

  async #owner(container: string, chown: string | undefined): Promise<{ uid: number; gid: number }> {
    if (chown === undefined || chown === '') return { uid: 0, gid: 0 };
    const [user = '', group] = chown.split(':');
    const numeric = (text: string): number | undefined => (/^\d+$/.test(text) ? Number(text) : undefined);
    const table = async (file: string): Promise<string[][]> => {
      const lines: string[][] = [];
      const dir = await mkdtemp(join(tmpdir(), 'berth-build-chown-'));
      try {
        await applyLayer(dir, await this.#host.getArchive(container, file), { hasParent: false, label: file });
        for (const line of (await readFile(join(dir, basename(file)), 'utf8')).split('\n')) if (line !== '') lines.push(line.split(':'));
      } catch {
        // no such file: names cannot be resolved
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return lines;
    };
    let uid = numeric(user);
    let gid = group === undefined ? undefined : numeric(group);
    if (uid === undefined || (gid === undefined && group === undefined)) {
      const passwd = await table('/etc/passwd');
      const entry = passwd.find((e) => e[0] === user || (uid !== undefined && Number(e[2]) === uid));
      if (uid === undefined) {
        if (entry === undefined) throw invalidArgument(`unable to convert uid/gid chown string to host mapping: can't find uid for user ${user}: no such user: ${user}`);
        uid = Number(entry[2]);
      }
      if (group === undefined) gid = entry !== undefined ? Number(entry[3]) : uid;
    }
    if (gid === undefined && group !== undefined) {
      const entry = (await table('/etc/group')).find((e) => e[0] === group);
      if (entry === undefined) throw invalidArgument(`unable to convert uid/gid chown string to host mapping: can't find gid for group ${group}: no such group: ${group}`);
      gid = Number(entry[2]);
    }
    return { uid, gid: gid ?? uid };
  }

  /** Makes `dir` and its missing parents in the container, owned as given; symlinks on the way are followed. */
  async #ensureDir(container: string, dir: string, owner: { uid: number; gid: number }): Promise<void> {
    const missing: string[] = [];
    let at = dir;
    for (;;) {
      const kind = await this.#host.pathKind(container, at);
      if (kind === 'dir') break;
      if (kind === 'other') throw invalidArgument(`failed to copy files: ${at} is not a directory`);
      missing.unshift(basename(at));
      at = posix.dirname(at);
    }
    if (missing.length === 0) return;
    const headers = missing.map((_, i) => encodeTarHeader({ name: `${missing.slice(0, i + 1).join('/')}/`, type: 'dir', mode: 0o755, ...owner, mtime: Math.floor(Date.now() / 1000) }));
    await this.#host.putArchive(container, at, Readable.from([...headers, END_OF_ARCHIVE]));
  }

  async #download(url: string): Promise<Source> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-build-add-'));
    this.#scratchDirs.push(dir);
    const name = basename(new URL(url).pathname) || 'index.html';
    const path = join(dir, name);
    const response = await fetch(url, { ...(this.#options.signal ? { signal: this.#options.signal } : {}) }).catch((err: unknown) => {
      throw invalidArgument(`ADD failed: download ${url}: ${err instanceof Error ? err.message : String(err)}`);
    });
    if (!response.ok || response.body === null) throw invalidArgument(`ADD failed: download ${url}: HTTP ${response.status}`);
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(path, { mode: 0o600 }));
    const modified = response.headers.get('last-modified');
    if (modified !== null && !Number.isNaN(Date.parse(modified))) await utimes(path, new Date(modified), new Date(modified));
    return { hostPath: path, rel: name, isDir: false };
  }

  async #isArchive(path: string): Promise<boolean> {
    const handle = await open(path, 'r');
    try {
      const head = Buffer.alloc(512);
      const { bytesRead } = await handle.read(head, 0, 512, 0);
      if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
      if (bytesRead >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return true;
      return bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
    } finally {
      await handle.close();
    }
  }

  async #copy(state: StageState, ins: Instruction): Promise<void> {
    const escape = this.#dockerfile.escape;
    const lookup = this.#lookup(state);
    const words = ins.json !== undefined ? ins.json.map((w) => expand(w, lookup, escape)) : expandWords(ins.rest, lookup, escape);
    const dest = words.at(-1)!;
    const named = words.slice(0, -1);
    const from = ins.flags.get('from');
    const chmod = ins.flags.get('chmod');
    if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) throw invalidArgument(`invalid chmod parameter: ${chmod}`);
    const isAdd = ins.keyword === 'ADD';
    const urls = isAdd ? named.filter((n) => /^https?:\/\//.test(n)) : [];
    const local = named.filter((n) => !urls.includes(n));
    const root = from !== undefined ? await this.#stageFiles(expand(from, lookup, escape), local) : this.#options.contextDir;
    const sources = [...(await resolveSources(root, local, ins.keyword)), ...(await Promise.all(urls.map((u) => this.#download(u))))];
    const destination = destinationOf(dest, state.config.WorkingDir, sources.length, ins.keyword);
    // downloads are not cached: what a URL serves may change under the same name
    const key = urls.length > 0 ? undefined : this.#cacheKey(state, ins.original, { sources: await Promise.all(sources.map((src) => contentDigest(src.hostPath))), from: from !== undefined ? this.#stages.get(from.toLowerCase()) ?? from : undefined });
    if (key !== undefined && (await this.#fromCache(state, key))) return;
    const container = await this.#host.createContainer(state.image, state.config, ['/']);
    let ok = false;
    try {
      const owner = await this.#owner(container, ins.flags.get('chown') === undefined ? undefined : expand(ins.flags.get('chown')!, lookup, escape));
      const tree = { ...owner, ...(chmod !== undefined ? { mode: parseInt(chmod, 8) } : {}) };
      // a single file to a path that is not a directory in the image is copied under that name
      let dir = destination.path;
      let rename: string | undefined;
      if (!destination.isDir && sources.length === 1 && !sources[0]!.isDir && (await this.#host.pathKind(container, destination.path)) !== 'dir') {
        dir = posix.dirname(destination.path);
        rename = posix.basename(destination.path);
      }
      await this.#ensureDir(container, dir, owner);
      for (const source of sources) {
        if (isAdd && !source.isDir && !urls.some((u) => source.hostPath.endsWith(basename(new URL(u).pathname))) && (await this.#isArchive(source.hostPath))) {
          await this.#host.putArchive(container, dir, (await decompress(createReadStream(source.hostPath))).stream);
          continue;
        }
        const name = source.isDir ? '' : (rename ?? basename(source.hostPath));
        await this.#host.putArchive(container, dir, tarTree(source.hostPath, name, tree));
      }
      const createdBy = nop(`${ins.keyword} ${ins.json !== undefined ? JSON.stringify(ins.json) : ins.rest}`);
      await this.#commit(state, container, createdBy);
      if (key !== undefined) await this.#host.cacheStore(key, state.image);
      ok = true;
    } finally {
      await this.#removeIntermediate(container, ok);
    }
  }
}
