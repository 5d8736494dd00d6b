// Bundles each entry point into one ESM file so a CLI call loads one file, not hundreds
// (start-up is part of every berth-runtime call), then builds the C shim.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';

const entries = ['berth-runtime', 'berth', 'berthd'];
for (const name of entries) {
  const outfile = `dist/${name}.mjs`;
  await build({
    entryPoints: [`src/bin/${name}.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: { js: '#!/usr/bin/env node' },
    sourcemap: false,
    minify: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await chmod(outfile, 0o755);
}
if (!process.argv.includes('--no-native')) execFileSync('make', ['-C', 'native', '--no-print-directory'], { stdio: 'inherit' });
