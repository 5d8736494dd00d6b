/**
 * `ps`: the container's processes, as a pid list or as `ps` output filtered to those pids
 * (runc's behaviour: any ps options may be given, the PID column is found in the header).
 */

import { invalidArgument } from '../util/errors.ts';

export function psTable(pids: readonly number[], psArgs: readonly string[]): string {
  // loaded here, not at start-up: `ps` is the one verb that needs it
  const ps = process.getBuiltinModule('node:child_process').spawnSync('ps', psArgs.length > 0 ? [...psArgs] : ['-ef'], { encoding: 'utf8' });
  if (ps.error) throw invalidArgument(`ps: ${ps.error.message}`, ps.error);
  if (ps.status !== 0) throw invalidArgument(`ps: ${ps.stderr.trim()}`);
  const [header = '', ...lines] = ps.stdout.split('\n');
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn === -1) throw invalidArgument("ps: couldn't find PID field in ps output");
  const wanted = new Set(pids.map(String));
  return [header, ...lines.filter((l) => wanted.has(l.trim().split(/\s+/)[pidColumn] ?? ''))].join('\n') + '\n';
}
