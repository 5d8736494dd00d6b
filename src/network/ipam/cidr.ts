/**
 * IPv4 prefixes and the choice of a bridge subnet. A network whose subnet overlaps a host route
 * (the uplink, a VPN, the resolver's network) silently steals that traffic, so every subnet Berth
 * picks is checked against the host's routes and addresses and against Berth's own networks.
 * Pure functions: the route tables come in as data so tests can inject any host.
 */

import { invalidArgument } from '../../util/errors.ts';

export interface Prefix {
  /** Network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly bits: number;
}

/** The candidates Docker and Podman users expect, in order: 172.17–31/16, then 10.88–99/16, then /24s of 192.168. */
export const DEFAULT_CANDIDATES: readonly string[] = [
  ...Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`),
  ...Array.from({ length: 12 }, (_, i) => `10.${88 + i}.0.0/16`),
  ...Array.from({ length: 256 }, (_, i) => `192.168.${i}.0/24`),
];

export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw invalidArgument(`parse address ${JSON.stringify(text)}: not an IPv4 address`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw invalidArgument(`parse address ${JSON.stringify(text)}: not an IPv4 address`);
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** `10.1.2.3/8` → base 10.0.0.0, bits 8 (host bits dropped, as `ip route` shows it). */
export function parseCidr(text: string): Prefix {
  const [address, bitsText, extra] = text.split('/');
  if (address === undefined || extra !== undefined) throw invalidArgument(`parse subnet ${JSON.stringify(text)}: not a CIDR`);
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32 || (bitsText !== undefined && !/^\d+$/.test(bitsText))) {
    throw invalidArgument(`parse subnet ${JSON.stringify(text)}: bad prefix length`);
  }
  return { base: (parseIPv4(address) & mask(bits)) >>> 0, bits };
}

export function formatCidr(prefix: Prefix): string {
  return `${formatIPv4(prefix.base)}/${prefix.bits}`;
}

export function contains(prefix: Prefix, address: number): boolean {
  return ((address & mask(prefix.bits)) >>> 0) === prefix.base;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.base & mask(bits)) >>> 0) === ((b.base & mask(bits)) >>> 0);
}

/** The first usable host address: the conventional gateway (`.1`). */
export function firstHost(prefix: Prefix): number {
  return prefix.base + 1;
}

/** Last address before the broadcast address. */
export function lastHost(prefix: Prefix): number {
  return prefix.base + 2 ** (32 - prefix.bits) - 2;
}

interface IpRoute {
  dst?: string;
}
interface IpAddr {
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/**
 * Prefixes in use on the host, from `ip -j route show table all` and `ip -j addr` output. The
 * default route is skipped (it overlaps everything by definition); so are local and broadcast
 * entries for loopback, which the kernel keeps in its own table.
 */
export function hostPrefixes(routes: unknown, addrs: unknown): Prefix[] {
  const found: Prefix[] = [];
  for (const route of Array.isArray(routes) ? (routes as IpRoute[]) : []) {
    const dst = route.dst;
    if (typeof dst !== 'string' || dst === 'default' || dst.includes(':')) continue;
    try {
      const prefix = parseCidr(dst);
      if (prefix.bits === 0 || (prefix.base >>> 24) === 127) continue;
      found.push(prefix);
    } catch {
      // Multicast and other non-address destinations ("ff00::/8", "unreachable …") are not ours to judge.
    }
  }
  for (const link of Array.isArray(addrs) ? (addrs as IpAddr[]) : []) {
    for (const info of link.addr_info ?? []) {
      if (info.family !== 'inet' || typeof info.local !== 'string') continue;
      const address = parseIPv4(info.local);
      if ((address >>> 24) === 127) continue;
      found.push({ base: address, bits: 32 });
      if (typeof info.prefixlen === 'number') found.push(parseCidr(`${info.local}/${info.prefixlen}`));
    }
  }
  return found;
}

/** The first candidate that overlaps nothing in `used`, or undefined when all are taken. */
export function pickSubnet(used: readonly Prefix[], candidates: readonly string[] = DEFAULT_CANDIDATES): Prefix | undefined {
  for (const candidate of candidates) {
    const prefix = parseCidr(candidate);
    if (!used.some((other) => overlaps(prefix, other))) return prefix;
  }
  return undefined;
}

/** Name servers of a resolv.conf as /32 prefixes: a bridge over the resolver's address would cut DNS off. */
export function resolverPrefixes(resolvConf: string): Prefix[] {
  const found: Prefix[] = [];
  for (const line of resolvConf.split('\n')) {
    const match = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (match?.[1] !== undefined) found.push({ base: parseIPv4(match[1]), bits: 32 });
  }
  return found;
}
