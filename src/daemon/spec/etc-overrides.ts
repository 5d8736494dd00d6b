/**
 * `--add-host`, `--dns`, `--dns-search`, `--dns-option` (HostConfig.ExtraHosts, Dns, DnsSearch,
 * DnsOptions): applied to the /etc/hosts and /etc/resolv.conf the daemon wrote for a start,
 * as Docker's sandbox builds them: extra hosts appended `IP<TAB>NAME`, and each of the DNS
 * settings given replacing the file's own lines of that kind.
 */

import { readFile, writeFile } from 'node:fs/promises';
import type { HostConfig } from '../../api/index.ts';
import { invalidArgument } from '../../util/errors.ts';
import type { EtcFiles } from '../etc-files.ts';

/** `host:ip` as the docker CLI sends it (the IP may be IPv6, so the first colon splits). */
export function extraHostLines(extraHosts: readonly string[]): string {
  return extraHosts
    .map((entry) => {
      const colon = entry.indexOf(':');
      if (colon <= 0) throw invalidArgument(`invalid extra host entry: ${JSON.stringify(entry)}`);
      const ip = entry.slice(colon + 1);
      // there is no host gateway without a bridge of ours to route to it
      if (ip === 'host-gateway') throw invalidArgument('unable to derive the IP value for host-gateway');
      return `${ip}\t${entry.slice(0, colon)}\n`;
    })
    .join('');
}

/** `embeddedDns`: the file names our DNS server, which keeps it and forwards to `--dns` (network.ts). */
export function resolvConfWith(current: string, hc: Pick<HostConfig, 'Dns' | 'DnsSearch' | 'DnsOptions'>, embeddedDns = false): string {
  const replace: Array<[RegExp, string[] | null | undefined, (values: string[]) => string[]]> = [
    [/^\s*nameserver\s/, embeddedDns ? undefined : hc.Dns, (ips) => ips.map((ip) => `nameserver ${ip}`)],
    // `--dns-search .` means no search domains at all
    [/^\s*(search|domain)\s/, hc.DnsSearch, (domains) => (domains.includes('.') ? [] : [`search ${domains.join(' ')}`])],
    [/^\s*options\s/, hc.DnsOptions, (options) => [`options ${options.join(' ')}`]],
  ];
  let lines = current.split('\n').filter((l) => l !== '');
  for (const [pattern, values, render] of replace) {
    if (!values?.length) continue;
    lines = [...lines.filter((l) => !pattern.test(l)), ...render(values)];
  }
  return `${lines.join('\n')}\n`;
}

/** Checked at create: what the start would fail on, and moby's validateNetContainerMode. */
export function checkEtcOverrides(hc: HostConfig): void {
  extraHostLines(hc.ExtraHosts ?? []);
  // a container sharing another's network namespace uses that one's files
  if (hc.NetworkMode?.startsWith('container:')) {
    if (hc.Dns?.length) throw invalidArgument('conflicting options: dns and the network mode');
    if (hc.ExtraHosts?.length) throw invalidArgument('conflicting options: custom host-to-IP mapping and the network mode');
  }
}

export function hasEtcOverrides(hc: HostConfig): boolean {
  return Boolean(hc.ExtraHosts?.length || hc.Dns?.length || hc.DnsSearch?.length || hc.DnsOptions?.length);
}

/** Rewrites the container's hosts and resolv.conf after the network wrote them. */
export async function applyEtcOverrides(files: EtcFiles, hc: HostConfig, embeddedDns = false): Promise<void> {
  if (!hasEtcOverrides(hc)) return;
  if (hc.ExtraHosts?.length) {
    const hosts = await readFile(files.hosts, 'utf8');
    await writeFile(files.hosts, `${hosts}${hosts.endsWith('\n') || hosts === '' ? '' : '\n'}${extraHostLines(hc.ExtraHosts)}`, { mode: 0o644 });
  }
  if (hc.Dns?.length || hc.DnsSearch?.length || hc.DnsOptions?.length) {
    await writeFile(files.resolvConf, resolvConfWith(await readFile(files.resolvConf, 'utf8'), hc, embeddedDns), { mode: 0o644 });
  }
}
