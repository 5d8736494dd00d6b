/**
 * The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf, written into the
 * container's directory and bind-mounted over the image's (which may not even have them).
 * Without networking yet, resolv.conf is the host's minus loopback resolvers that would not
 * answer from inside the container's own network namespace.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface EtcFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

export function etcFilePaths(dir: string): EtcFiles {
  return { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
}

export function hostsFile(hostname: string): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    `127.0.1.1\t${hostname}`,
    '',
  ].join('\n');
}

/** The host's resolv.conf without loopback nameservers; Docker's public fallbacks if none remain. */
export function containerResolvConf(host: string): string {
  const lines = host.split('\n').filter((line) => !/^\s*nameserver\s+(127\.|::1\b)/.test(line));
  if (!lines.some((line) => /^\s*nameserver\s/.test(line))) lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return `${lines.filter((l, i, all) => l !== '' || i < all.length - 1).join('\n')}\n`;
}

/**
 * Written in place, without fsync: they are derived data, rewritten before every start, so a
 * crash can tear nothing that the next start would not replace (and fsync would cost more than
 * the rest of the start together). Synchronous: three small writes cost less than one
 * thread-pool round trip each.
 */
export function writeEtcFiles(dir: string, hostname: string): EtcFiles {
  const paths = etcFilePaths(dir);
  let host = '';
  try {
    host = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // no resolv.conf on the host: the fallbacks
  }
  writeFileSync(paths.hostname, `${hostname}\n`, { mode: 0o644 });
  writeFileSync(paths.hosts, hostsFile(hostname), { mode: 0o644 });
  writeFileSync(paths.resolvConf, containerResolvConf(host), { mode: 0o644 });
  return paths;
}
