/**
 * The functions that took the most CPU in one or more `node --cpu-prof` profiles, self time,
 * summed over the profiles: shows what the CLI's start-up is made of (compiling the bundle,
 * loading Node's own builtins, the ESM loader...) where the wall-clock trace only shows a gap.
 *
 *   node --import tsx bench/cpu-profile-top.ts [--top 20] FILE.cpuprofile...
 */

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { invalidArgument } from '../src/util/errors.ts';

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Adds each function's self time (µs) in `profile` to `into`, keyed `name file:line`. */
export function selfTimes(profile: CpuProfile, into: Map<string, number>): void {
  const names = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${basename(url)}:${lineNumber + 1}` : '';
    names.set(node.id, `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`);
  }
  // timeDeltas[i] is the time from sample i-1 to sample i: charge it to sample i's node.
  profile.samples.forEach((id, i) => {
    const name = names.get(id) ?? '?';
    into.set(name, (into.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '20' } }, allowPositionals: true });
  if (positionals.length === 0) throw invalidArgument('summarize profiles: no .cpuprofile files given');
  const top = Number(values.top);
  const totals = new Map<string, number>();
  for (const file of positionals) selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, totals);
  const n = positionals.length;
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `| function (self time, mean of ${n} profile${n > 1 ? 's' : ''}; total ${(all / n / 1000).toFixed(1)} ms sampled) | ms | % |`,
    '|---|---:|---:|',
    ...[...totals]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => `| \`${name}\` | ${(us / n / 1000).toFixed(2)} | ${((100 * us) / all).toFixed(1)} |`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
