/**
 * The host side of bench/network.sh, where bash is clumsy: a TCP sender that times a fixed byte
 * count to one address (published port on 127.0.0.1, or the container's own address), and the
 * snapshot/restore of what berthd's and podman's networking leave on the host (iptables chains,
 * nft tables, ip_forward, the default network's bridge and leases), so the script leaves the
 * machine as it found it.
 *
 *   node --import tsx bench/network-host.ts send HOST PORT BYTES TIMEOUT_MS   → seconds on stdout
 *   node --import tsx bench/network-host.ts snapshot FILE
 *   node --import tsx bench/network-host.ts restore FILE ROOT NETNS_DIR BRIDGE CNI_PREFIX
 */

import { connect } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { NetworkManager } from '../src/network/index.ts';
import { run } from '../src/network/exec.ts';
import { nftTables, removeEmptyNewTables } from '../tests/integration/network/helpers.ts';

interface HostState {
  chains: string[];
  tables: string[];
  ipForward: string;
}

/** Connects, retrying while the sink (a busybox nc loop) is between two connections. */
async function open(host: string, port: number, deadline: number): Promise<import('node:net').Socket> {
  for (;;) {
    try {
      return await new Promise((resolve, reject) => {
        const socket = connect({ host, port });
        socket.once('connect', () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Sends `bytes` zeros and waits for the sink to close: the time covers delivery, not just buffering. */
async function send(host: string, port: number, bytes: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const socket = await open(host, port, Date.now() + 5000);
  const timer = setTimeout(() => socket.destroy(new Error(`send ${bytes} bytes to ${host}:${port}: timed out after ${timeoutMs} ms`)), Math.max(1, deadline - Date.now()));
  const chunk = Buffer.alloc(1 << 20);
  const started = process.hrtime.bigint();
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('close', (hadError) => (hadError ? reject(new Error(`send to ${host}:${port}: connection reset`)) : resolve()));
    socket.once('error', reject);
  });
  socket.resume();
  let left = bytes;
  while (left > 0) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= piece.length;
    if (!socket.write(piece)) await new Promise((r) => socket.once('drain', r));
  }
  socket.end();
  await closed;
  clearTimeout(timer);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The chains every CNI attachment shares (bridge, firewall and portmap plugins). */
const SHARED_CNI_CHAINS = new Set(['CNI-FORWARD', 'CNI-ADMIN', 'CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ']);

/** Whether a chain has rules of its own (then some attachment still uses it). */
async function chainUsed(chain: string): Promise<boolean> {
  const saved = (await run('iptables-save', [])).stdout;
  return saved.split('\n').some((l) => l.startsWith(`-A ${chain} `));
}

async function chains(): Promise<string[]> {
  const saved = (await run('iptables-save', [])).stdout;
  return saved.split('\n').filter((l) => l.startsWith(':')).map((l) => l.split(' ')[0]!.slice(1));
}

/** Deletes the chains named by `fresh` (made during the run) and every jump into them. */
async function removeChains(fresh: Set<string>): Promise<void> {
  if (fresh.size === 0) return;
  const saved = (await run('iptables-save', [])).stdout;
  let table = '';
  const byTable = new Map<string, string[]>();
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    if (line.startsWith(':') && fresh.has(line.split(' ')[0]!.slice(1))) byTable.set(table, [...(byTable.get(table) ?? []), line.split(' ')[0]!.slice(1)]);
    if (!line.startsWith('-A ')) continue;
    const chain = line.split(' ')[1]!;
    const target = /-j (\S+)/.exec(line)?.[1];
    if (!fresh.has(chain) && target !== undefined && fresh.has(target)) await run('sh', ['-c', `iptables -t ${table} ${line.replace(/^-A /, '-D ')}`]);
  }
  for (const [t, names] of byTable) {
    for (const name of names) await run('iptables', ['-t', t, '-F', name]);
    for (const name of names) await run('iptables', ['-t', t, '-X', name]);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'send') {
    const [host = '', port = '0', bytes = '0', timeout = '60000'] = args;
    const seconds = await send(host, Number(port), Number(bytes), Number(timeout));
    process.stdout.write(`${seconds.toFixed(4)}\n`);
  } else if (command === 'snapshot') {
    const state: HostState = { chains: await chains(), tables: [...(await nftTables())], ipForward: await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8') };
    await writeFile(args[0]!, JSON.stringify(state));
  } else if (command === 'restore') {
    const [file = '', root = '', netnsDir = '', bridge = '', cniPrefix = ''] = args;
    const before = JSON.parse(await readFile(file, 'utf8')) as HostState;
    if (root !== '') {
      const manager = new NetworkManager({ stateDir: root, netnsDir, defaultBridge: bridge, cniPrefix, poolSize: 0 });
      await manager.init();
      await manager.destroy();
    }
    const had = new Set(before.chains);
    // Only chains nobody else can be using: other sessions' CNI tests make per-container CNI-
    // chains at the same time, so those are left to berthd's own teardown (destroy above).
    const fresh = new Set<string>();
    for (const c of await chains()) {
      if (had.has(c)) continue;
      if (c.startsWith('NETAVARK') || (SHARED_CNI_CHAINS.has(c) && !(await chainUsed(c)))) fresh.add(c);
    }
    await removeChains(fresh);
    await removeEmptyNewTables(new Set(before.tables));
    await writeFile('/proc/sys/net/ipv4/ip_forward', before.ipForward);
  } else {
    throw new Error(`unknown command: ${command ?? '(none)'}`);
  }
}

await main(process.argv.slice(2));
