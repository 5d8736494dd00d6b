// Builds the entry points into dist/, then the C shim.
//
// Start-up is part of every CLI call (bench/README.md, "Where the time of berth-runtime run goes"):
// - berth is bundled with code splitting: dist/berth.mjs holds the dispatch, and each verb's code
//   is a chunk (dist/chunk-*.mjs) imported when that verb runs, so `berth ps` does not load the
//   image store. Chunks stay in dist/ itself: modules find berthd.mjs and native/build/ from their
//   own import.meta.url.
// - berth-runtime and berthd are one file each: nearly every berth-runtime call (`run`, `create`,
//   `delete`...) needs the whole runtime library, and one file loads faster than the 8 modules
//   splitting makes of it (paired runs of `run`: +10 % with splitting). berth-runtime is also
//   built as CommonJS, dist/berth-runtime.cjs, the form ./berth-runtime runs under Node: Node 20's
//   ESM loader costs ~10 % of a `run` (paired, CPU and wall) that the CommonJS loader does not.
//   dist/berth-runtime.mjs stays for what runs it by name.
// - when a Bun binary is found (BERTH_BUN, else node_modules/bun/bin/bun.exe), berth-runtime is
//   also compiled into a standalone Bun executable with bytecode, dist/berth-runtime: its `run`
//   takes about runc's CPU time where the Node bundle takes 3× (Node alone needs 25–35 ms before
//   the first line of ours). Without Bun, or with BERTH_BUN=none, dist/berth-runtime is a symlink
//   to berth-runtime.cjs. The root symlinks (./berth-runtime, ./berth) point at dist/<name> either way.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const CLIS = ['berth-runtime', 'berth'];
/**
 * The CLIs compiled with Bun when it is there ($BERTH_BUN_CLIS overrides): both pass their tests
 * (and berth-runtime the conformance suite) as Bun executables. berth starts berthd under Node
 * (src/client/connect.ts): the daemon stays a Node program.
 */
const BUN_CLIS = process.env.BERTH_BUN_CLIS?.split(/[\s,]+/).filter(Boolean) ?? ['berth-runtime', 'berth'];
// `--` ends Node's options: Node 20 otherwise takes a user's `berth run --env-file F` as its own flag
const SHEBANG = '#!/usr/bin/env -S node --';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: false,
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { berth: join(ROOT, 'src/bin/berth.ts') },
  outdir: DIST,
  outExtension: { '.js': '.mjs' },
  splitting: true,
  chunkNames: 'chunk-[hash]',
  // esbuild puts the banner on chunks too; only the entry is ever executed, a shebang is harmless
  banner: { js: SHEBANG },
  metafile: true,
}).then(({ metafile }) => pruneChunks(Object.keys(metafile.outputs)));
for (const name of ['berth-runtime', 'berthd']) {
  await build({ ...common, entryPoints: [join(ROOT, 'src/bin', `${name}.ts`)], outfile: join(DIST, `${name}.mjs`), banner: { js: SHEBANG } });
}
await build({
  ...common,
  format: 'cjs',
  entryPoints: [join(ROOT, 'src/bin/berth-runtime.ts')],
  outfile: join(DIST, 'berth-runtime.cjs'),
  // CommonJS has no import.meta: the modules that locate files from it get this file's URL
  define: { 'import.meta.url': '__berthModuleUrl' },
  // the directive first: esbuild's own "use strict" comes after the banner, where it has no effect
  banner: { js: `${SHEBANG}\n'use strict';\nconst __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;` },
});
for (const file of ['berth-runtime.mjs', 'berth-runtime.cjs', 'berth.mjs', 'berthd.mjs']) chmodSync(join(DIST, file), 0o755);
/** The file dist/<name> links to when it is not a Bun executable. */
const NODE_FORM = { 'berth-runtime': 'berth-runtime.cjs', berth: 'berth.mjs' };

const bun = findBun();
for (const name of CLIS) {
  const target = bun && BUN_CLIS.includes(name) ? await compileWithBun(bun, name) : undefined;
  if (!target) replaceWithSymlink(join(DIST, name), NODE_FORM[name]);
}
for (const name of CLIS) replaceWithSymlink(join(ROOT, name), `dist/${name}`);
replaceWithSymlink(join(ROOT, 'berthd'), 'dist/berthd.mjs');

if (!process.argv.includes('--no-native')) execFileSync('make', ['-C', join(ROOT, 'native'), '--no-print-directory'], { stdio: 'inherit' });

/**
 * Removes chunks of earlier builds. Not the ones written within the last 10 minutes: a CLI started
 * from the previous build (other sessions run the tree's CLIs all the time) may still import them.
 */
function pruneChunks(outputs) {
  const current = new Set(outputs.map((path) => resolve(ROOT, path)));
  const cutoff = Date.now() - 10 * 60_000;
  for (const file of readdirSync(DIST)) {
    if (!/^chunk-[A-Z0-9]+\.mjs$/.test(file)) continue;
    const path = join(DIST, file);
    if (!current.has(path) && statSync(path).mtimeMs < cutoff) rmSync(path, { force: true });
  }
}

/** The Bun binary to compile with: $BERTH_BUN ("none": do not use Bun), else the npm package's. */
function findBun() {
  const fromEnv = process.env.BERTH_BUN;
  if (fromEnv === 'none') return undefined;
  const candidate = fromEnv || join(ROOT, 'node_modules/bun/bin/bun.exe');
  try {
    accessSync(candidate, constants.X_OK);
    execFileSync(candidate, ['--version'], { stdio: 'ignore' });
    return candidate;
  } catch {
    if (fromEnv) process.stderr.write(`build: BERTH_BUN=${fromEnv} is not a working bun binary: the CLIs run under Node\n`);
    return undefined;
  }
}

/**
 * dist/<name>: a standalone Bun executable of the CLI, with bytecode. Bun's bundler replaces
 * import.meta.url by the build-time path of each source file, which would tie the executable to
 * this checkout; the modules that locate files from it (native/build/berth-shim, berthd.mjs) get
 * the executable's own path instead, which lives in dist/ like the Node bundle.
 * Resolves to the path, or undefined (with a warning) when Bun fails: the Node bundle then serves.
 */
async function compileWithBun(bunPath, name) {
  // inside dist/ so that the final rename stays on one filesystem
  const work = mkdtempSync(join(DIST, '.bun-build-'));
  try {
    // berth in chunks as for Node: the executable then loads the dispatch and the one verb's
    // code, not all of it (`berth --help` 15-19 → 10-12 ms); berth-runtime needs nearly all of
    // its code for any verb, so it stays one module
    const splitting = name === 'berth';
    await build({
      ...common,
      entryPoints: { [name]: join(ROOT, 'src/bin', `${name}.ts`) },
      outdir: work,
      outExtension: { '.js': '.mjs' },
      splitting,
      define: { 'import.meta.url': '__berthExecutableUrl' },
      banner: { js: "import { pathToFileURL as __berthPathToFileURL } from 'node:url';\nconst __berthExecutableUrl = __berthPathToFileURL(process.execPath).href;" },
    });
    const input = join(work, `${name}.mjs`);
    const output = join(work, name);
    execFileSync(bunPath, [
      // ESM: berth's entry awaits at top level, which the CommonJS default of --bytecode refuses
      'build', '--compile', '--bytecode', '--format=esm', ...(splitting ? ['--splitting'] : []),
      // a runtime must not pick up .env or bunfig.toml from whatever directory it is called in
      '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
      '--outfile', output, input,
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    // a version check before it replaces anything: a broken executable must not become the CLI
    execFileSync(output, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    const target = join(DIST, name);
    // rename, not overwrite: a running copy keeps its inode (overwriting would fail with ETXTBSY)
    renameSync(output, target);
    return target;
  } catch (err) {
    process.stderr.write(`build: compiling ${name} with ${bunPath} failed, it runs under Node: ${err instanceof Error ? err.message : String(err)}\n`);
    return undefined;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Makes `path` a symlink to `target`, atomically (a CLI call at that moment finds one or the other). */
function replaceWithSymlink(path, target) {
  const tmp = `${path}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, path);
}
