/**
 * Shared pieces of the network integration tests: host counters for leak checks, commands in a
 * namespace, and removal of the shared CNI chains when the tests were the ones to create them.
 */

import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../../src/network/exec.ts';
import { contains, parseCidr, parseIPv4 } from '../../../src/network/ipam/cidr.ts';

/** What a leaked attachment would leave: veths, namespaces, host-local leases, iptables/nft rules. */
export interface HostCounts {
  veths: number;
  netns: number;
  leases: number;
  iptablesRules: number;
  nftLines: number;
}

async function countLines(file: string, args: string[], filter: (line: string) => boolean = () => true): Promise<number> {
  const result = await run(file, args);
  return result.stdout.split('\n').filter((line) => line.trim() !== '' && filter(line)).length;
}

/** Runs a command inside a namespace by its `ip netns` name. */
export function inNetns(name: string, args: string[]): ReturnType<typeof run> {
  return run('ip', ['netns', 'exec', name, ...args]);
}

/** A long-running process inside a namespace, resolved once it printed `ready` (or after it started, for busybox servers). */
export function serveInNetns(name: string, args: string[], readyWhen?: string): Promise<{ stop: () => Promise<void> }> {
  const child = spawn('ip', ['netns', 'exec', name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out}`)));
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (readyWhen !== undefined && out.includes(readyWhen)) {
        child.removeAllListeners('exit');
        resolve({ stop });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    if (readyWhen === undefined) {
      setTimeout(() => {
        child.removeAllListeners('exit');
        resolve({ stop });
      }, 200);
    }
  });
}

/** The shared chains CNI plugins create once per host (not per container). */
const SHARED_CHAINS: Record<string, string[]> = {
  filter: ['CNI-FORWARD', 'CNI-ADMIN'],
  nat: ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ'],
};

export async function sharedChainsExist(): Promise<boolean> {
  const saved = await run('iptables-save', []);
  return saved.stdout.includes(':CNI-');
}

/** Removes the shared CNI chains and their jumps; only called when the tests created them. */
export async function removeSharedChains(): Promise<void> {
  const saved = (await run('iptables-save', [])).stdout;
  let table = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    if (!line.startsWith('-A ')) continue;
    const [, chain] = line.split(' ');
    if (chain !== undefined && !chain.startsWith('CNI-') && /-j CNI-/.test(line)) {
      await run('sh', ['-c', `iptables -t ${table} ${line.replace(/^-A /, '-D ')}`]);
    }
  }
  for (const [tableName, chains] of Object.entries(SHARED_CHAINS)) {
    for (const chain of chains) await run('iptables', ['-t', tableName, '-F', chain]);
    for (const chain of chains) await run('iptables', ['-t', tableName, '-X', chain]);
  }
}

export function leaseDir(cniName: string): string {
  return join('/var/lib/cni/networks', cniName);
}

/** The nft tables that exist now, as `family name`. */
export async function nftTables(): Promise<Set<string>> {
  const out = (await run('nft', ['list', 'tables'])).stdout;
  return new Set(out.split('\n').map((l) => l.replace(/^table\s+/, '').trim()).filter((l) => l !== ''));
}

/**
 * Deletes nft tables that were absent before the tests and hold no rule now (iptables-nft
 * leaves its tables behind once the CNI chains are gone).
 */
export async function removeEmptyNewTables(before: Set<string>): Promise<void> {
  for (const table of await nftTables()) {
    if (before.has(table)) continue;
    const [family, name] = table.split(' ') as [string, string];
    const listed = JSON.parse((await run('nft', ['-j', 'list', 'table', family, name])).stdout || '{"nftables":[]}') as { nftables: Record<string, unknown>[] };
    if (listed.nftables.some((item) => 'rule' in item)) continue;
    await run('nft', ['delete', 'table', family, name]);
  }
}

/**
 * What one test file's own networks could leak, so that the containers of other sessions on this
 * shared host do not move the counts: veths on its bridges, namespaces in its directory, its
 * leases, and rules that name its CNI prefix or an address of its subnets.
 */
export interface LeakScope {
  readonly bridges: readonly string[];
  readonly netnsDir: string;
  readonly cniPrefix: string;
  readonly subnets: readonly string[];
  readonly leaseDirs: readonly string[];
}

/** Whether a rule line (iptables-save or nft) belongs to the scope. */
export function ruleInScope(line: string, scope: LeakScope): boolean {
  if (line.includes(scope.cniPrefix)) return true;
  const prefixes = scope.subnets.map(parseCidr);
  return [...line.matchAll(/\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?:\/(\d+))?/g)].some((m) => {
    const address = parseIPv4(m[1]!);
    // A network's own prefix (masquerade rules) or a host address in it (firewall, portmap).
    return prefixes.some((p) => contains(p, address) && (m[2] === undefined || Number(m[2]) >= p.bits));
  });
}

export async function scopedCounts(scope: LeakScope): Promise<HostCounts> {
  let leases = 0;
  for (const dir of scope.leaseDirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    leases += names.filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)).length;
  }
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show', 'type', 'veth'])).stdout || '[]') as { master?: string }[];
  const netns = await readdir(scope.netnsDir).catch(() => [] as string[]);
  return {
    veths: links.filter((l) => l.master !== undefined && scope.bridges.includes(l.master)).length,
    netns: netns.filter((n) => !n.startsWith('.')).length,
    leases,
    iptablesRules: await countLines('iptables-save', [], (l) => l.startsWith('-A') && ruleInScope(l, scope)),
    nftLines: await countLines('nft', ['list', 'ruleset'], (l) => ruleInScope(l, scope)),
  };
}
