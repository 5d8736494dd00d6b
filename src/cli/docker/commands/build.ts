/**
 * `berth build`, docker's legacy-builder client: the context directory (less what .dockerignore
 * leaves out; the Dockerfile and .dockerignore are always sent) goes to `POST /build` as a tar
 * stream made by the system's tar from the list this command chose, and the daemon's JSON
 * messages are printed as they come (`-q`: only the image ID). A failed build exits 1.
 */

import { spawn } from 'node:child_process';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { jsonLines } from '../../../client/index.ts';
import { IgnoreMatcher } from '../../../util/glob.ts';
import { parseArgs, requireArgs, UsageError } from '../args.ts';
import { write } from '../context.ts';
import type { ApiContext } from './run.ts';

/** Paths of the context to send, relative, parents before children. */
export async function contextFiles(root: string, ignore: IgnoreMatcher, always: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const ignored = ignore.ignores(child) && !always.includes(child);
      const st = await lstat(join(root, child));
      // an excluded directory is still walked when some line re-includes paths below it
      if (st.isDirectory() && (!ignored || ignore.hasExclusions)) {
        if (!ignored) out.push(child);
        await walk(child);
      } else if (!ignored) out.push(child);
    }
  };
  await walk('');
  return out;
}

function keyValueList(values: readonly string[], flag: string): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    // `--build-arg NAME` takes NAME from the environment, as docker does
    if (eq === -1) out[value] = flag === 'build-arg' ? (process.env[value] ?? null) : '';
    else if (eq === 0) throw new UsageError(`invalid argument "${value}" for "--${flag}" flag: a name is expected before =`);
    else out[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

export async function buildCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    tag: { type: 'list', short: 't' },
    file: { type: 'string', short: 'f' },
    'build-arg': { type: 'list' },
    label: { type: 'list' },
    target: { type: 'string' },
    quiet: { type: 'bool', short: 'q' },
    'no-cache': { type: 'bool' },
    pull: { type: 'bool' },
    rm: { type: 'bool' },
    'force-rm': { type: 'bool' },
    platform: { type: 'string' },
    iidfile: { type: 'string' },
    network: { type: 'string' },
  });
  requireArgs(args, 'build', '[OPTIONS] PATH', 1);
  if (args[0] === '-' || /^(https?|git):\/\//.test(args[0]!)) throw new UsageError('build: only a local context directory is supported (PATH)');
  const root = resolve(args[0]!);
  const st = await lstat(root).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) throw new UsageError(`unable to prepare context: path "${args[0]}" not found`);
  const dockerfileFlag = typeof flags['file'] === 'string' ? flags['file'] : undefined;
  const dockerfile = dockerfileFlag === undefined ? 'Dockerfile' : relative(root, resolve(dockerfileFlag));
  if (dockerfile.startsWith('..')) throw new UsageError(`the Dockerfile (${dockerfileFlag}) must be within the build context`);
  const ignoreText = await readFile(join(root, '.dockerignore'), 'utf8').catch(() => '');
  const files = await contextFiles(root, new IgnoreMatcher(ignoreText), [dockerfile, '.dockerignore']);

  const query: Record<string, string | string[]> = { dockerfile, t: flags['tag'] as string[] };
  const buildArgs = keyValueList(flags['build-arg'] as string[], 'build-arg');
  if (Object.keys(buildArgs).length > 0) query['buildargs'] = JSON.stringify(buildArgs);
  const labels = keyValueList(flags['label'] as string[], 'label');
  if (Object.keys(labels).length > 0) query['labels'] = JSON.stringify(labels);
  if (typeof flags['target'] === 'string') query['target'] = flags['target'];
  if (typeof flags['platform'] === 'string') query['platform'] = flags['platform'];
  if (flags['quiet'] === true) query['q'] = '1';
  if (flags['pull'] === true) query['pull'] = '1';
  if (flags['rm'] === false) query['rm'] = '0';
  if (flags['force-rm'] === true) query['forcerm'] = '1';
  if (flags['no-cache'] === true) query['nocache'] = '1';

  // the system's tar archives exactly the chosen list, owned by root as docker's client sends it
  const tar = spawn('tar', ['-C', root, '--null', '--no-recursion', '--numeric-owner', '--owner=0', '--group=0', '-cf', '-', '-T', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let tarError = '';
  tar.stderr.on('data', (c: Buffer) => (tarError += c.toString()));
  tar.stdin.end(files.map((f) => `${f}\0`).join(''));
  const tarDone = new Promise<number>((r) => tar.once('close', (code) => r(code ?? 1)));

  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  const res = await ctx.client.stream('POST', `/build?${params.toString()}`, {
    body: tar.stdout,
    headers: { 'Content-Type': 'application/x-tar' },
  });
  let failed: string | undefined;
  let id: string | undefined;
  for await (const line of jsonLines(res)) {
    const message = JSON.parse(line) as { stream?: string; error?: string; aux?: { ID?: string } };
    if (message.error !== undefined) failed = message.error;
    else if (message.aux?.ID !== undefined) id = message.aux.ID;
    else if (message.stream !== undefined) await write(ctx.io.stdout, message.stream);
  }
  if ((await tarDone) !== 0 && failed === undefined) failed = `archive the build context: ${tarError.trim()}`;
  if (failed !== undefined) {
    await write(ctx.io.stderr, `${failed}\n`);
    return 1;
  }
  if (typeof flags['iidfile'] === 'string' && id !== undefined) await writeFile(flags['iidfile'], id);
  return 0;
}
