/**
 * Connection-tracking entries of a published UDP port, dropped when its container detaches.
 * UDP has no end: a client that keeps sending to the host port would otherwise stay NATed to the
 * gone container's address until the entry times out, and a new container published on the same
 * port would not see that traffic (Docker flushes them too). TCP flows end with a reset.
 * Uses conntrack(8) (Debian's `conntrack`); without it this is skipped with a warning, once.
 */

import { run } from '../exec.ts';
import type { PortMapping } from './ports.ts';

let missingReported = false;

/** Deletes the entries whose original destination is one of the mappings' UDP host ports. */
export async function flushUdpConntrack(mappings: readonly PortMapping[], warn: (message: string) => void): Promise<void> {
  for (const m of mappings) {
    if (m.protocol !== 'udp' || m.hostPort === 0) continue;
    const args = ['-D', '-p', 'udp', '--orig-port-dst', String(m.hostPort)];
    if (m.hostIP && m.hostIP !== '0.0.0.0') args.push('--orig-dst', m.hostIP);
    try {
      // exit 1 with "0 flow entries have been deleted" is the usual, empty case
      const result = await run('conntrack', args, { niceness: 10 });
      if (result.code !== 0 && !/0 flow entries/.test(result.stderr)) warn(`conntrack ${args.join(' ')}: ${result.stderr.trim()}`);
    } catch (err) {
      if (!missingReported) warn(`flush conntrack of udp port ${m.hostPort}: ${err instanceof Error ? err.message : String(err)} (install conntrack)`);
      missingReported = true;
      return;
    }
  }
}
