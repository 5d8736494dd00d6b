/**
 * Published ports: parsing docker's `-p` syntax, refusing a host port that another container
 * already publishes, and probing that no host process holds it. portmap installs DNAT rules
 * without binding the port, so the kernel would not refuse a second mapping on the same port: the
 * last rule would silently win. The registry is the engine's own record; the bind probe catches
 * host services.
 */

import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { conflict, errorCode, invalidArgument } from '../../util/errors.ts';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export interface PortMapping {
  /** Empty or undefined: every host address. */
  readonly hostIP?: string;
  /** 0: pick a free port when the container is attached. */
  readonly hostPort: number;
  /** With hostPort: any free port of hostPort..hostPortEnd will do (Docker's `-p 8000-8010:80`). */
  readonly hostPortEnd?: number;
  readonly containerPort: number;
  readonly protocol: PortProtocol;
}

function parsePort(text: string, what: string): [number, number] {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (match === null) throw invalidArgument(`parse port ${JSON.stringify(text)}: invalid ${what} port`);
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  if (low > 65535 || high > 65535 || high < low) throw invalidArgument(`parse port ${JSON.stringify(text)}: invalid ${what} port range`);
  return [low, high];
}

/**
 * `[ip:][hostPort[-end]:]containerPort[-end][/proto]`, as `docker run -p` takes it. A missing
 * host port means "any free port" (0); ranges must have equal lengths (or a single host port
 * range for one container port, which Docker also refuses: we keep to equal lengths).
 */
export function parsePublish(spec: string): PortMapping[] {
  let rest = spec;
  let protocol: PortProtocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const proto = rest.slice(slash + 1).toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw invalidArgument(`parse port ${JSON.stringify(spec)}: unknown protocol ${proto}`);
    protocol = proto;
    rest = rest.slice(0, slash);
  }
  let hostIP = '';
  const bracket = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  if (bracket !== null) {
    hostIP = bracket[1]!;
    rest = bracket[2]!;
  } else {
    const parts = rest.split(':');
    if (parts.length === 3) {
      hostIP = parts[0]!;
      rest = `${parts[1]}:${parts[2]}`;
    } else if (parts.length > 3) {
      throw invalidArgument(`parse port ${JSON.stringify(spec)}: too many colons`);
    }
  }
  const [hostText, containerText] = rest.includes(':') ? (rest.split(':') as [string, string]) : ['', rest];
  const [cLow, cHigh] = parsePort(containerText, 'container');
  if (cLow === 0) throw invalidArgument(`parse port ${JSON.stringify(spec)}: invalid container port`);
  const mappings: PortMapping[] = [];
  if (hostText === '') {
    for (let port = cLow; port <= cHigh; port++) mappings.push({ hostIP, hostPort: 0, containerPort: port, protocol });
    return mappings;
  }
  const [hLow, hHigh] = parsePort(hostText, 'host');
  if (hHigh - hLow !== cHigh - cLow) throw invalidArgument(`parse port ${JSON.stringify(spec)}: host and container ranges differ in length`);
  for (let i = 0; i <= cHigh - cLow; i++) mappings.push({ hostIP, hostPort: hLow + i, containerPort: cLow + i, protocol });
  return mappings;
}

function anyAddress(ip: string | undefined): boolean {
  return ip === undefined || ip === '' || ip === '0.0.0.0' || ip === '::';
}

export function sameHostPort(a: PortMapping, b: PortMapping): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && a.hostPort !== 0 && (anyAddress(a.hostIP) || anyAddress(b.hostIP) || a.hostIP === b.hostIP);
}

export function describe(mapping: PortMapping): string {
  return `${anyAddress(mapping.hostIP) ? '0.0.0.0' : mapping.hostIP}:${mapping.hostPort}/${mapping.protocol}`;
}

/** Which container publishes which host ports, in memory; the manager rebuilds it from its cache on start. */
export class PortRegistry {
  readonly #owners = new Map<string, readonly PortMapping[]>();

  /** Records `mappings` for `owner`, or throws `conflict` naming the holder. Synchronous, so check-and-reserve is atomic. */
  reserve(owner: string, mappings: readonly PortMapping[]): void {
    for (let i = 0; i < mappings.length; i++) {
      const mapping = mappings[i]!;
      for (let j = 0; j < i; j++) {
        if (sameHostPort(mapping, mappings[j]!)) throw conflict(`publish port ${describe(mapping)}: requested twice`);
      }
      for (const [other, held] of this.#owners) {
        if (other === owner) continue;
        if (held.some((h) => sameHostPort(h, mapping))) {
          throw conflict(`publish port ${describe(mapping)}: port is already allocated to container ${other.slice(0, 12)}`);
        }
      }
    }
    this.#owners.set(owner, [...(this.#owners.get(owner) ?? []), ...mappings]);
  }

  release(owner: string, mappings?: readonly PortMapping[]): void {
    if (mappings === undefined) {
      this.#owners.delete(owner);
      return;
    }
    const left = (this.#owners.get(owner) ?? []).filter((held) => !mappings.some((m) => sameHostPort(m, held)));
    if (left.length === 0) this.#owners.delete(owner);
    else this.#owners.set(owner, left);
  }

  isHeld(mapping: PortMapping): boolean {
    for (const held of this.#owners.values()) if (held.some((h) => sameHostPort(h, mapping))) return true;
    return false;
  }

  held(owner: string): readonly PortMapping[] {
    return this.#owners.get(owner) ?? [];
  }
}

/**
 * Binds the port for an instant to learn whether a host process holds it (the bind test Docker's
 * port allocator does). Port 0 comes back as the free port the kernel chose.
 */
export async function probeHostPort(mapping: PortMapping): Promise<number> {
  const host = anyAddress(mapping.hostIP) ? '0.0.0.0' : mapping.hostIP!;
  const what = `publish port ${describe(mapping)}`;
  try {
    if (mapping.protocol === 'udp') {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      return await new Promise<number>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(mapping.hostPort, host, () => {
          const port = socket.address().port;
          socket.close(() => resolve(port));
        });
      });
    }
    // sctp has no Node socket; TCP's port space is the best proxy for a quick check.
    const server = createServer();
    return await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: mapping.hostPort, host, exclusive: true }, () => {
        const address = server.address();
        const port = typeof address === 'object' && address !== null ? address.port : mapping.hostPort;
        server.close(() => resolve(port));
      });
    });
  } catch (err) {
    if (errorCode(err) === 'EADDRINUSE') throw conflict(`${what}: address already in use on the host`, err);
    if (errorCode(err) === 'EADDRNOTAVAIL') throw invalidArgument(`${what}: ${host} is not an address of this host`, err);
    if (errorCode(err) === 'EACCES') throw conflict(`${what}: permission denied`, err);
    throw err;
  }
}

/** Docker's HostConfig.PortBindings (`{"80/tcp": [{HostIp, HostPort}]}`). */
export type PortBindings = Readonly<Record<string, readonly { HostIp?: string; HostPort?: string }[] | null>>;

function parseKey(key: string): { port: number; protocol: PortProtocol } {
  const [portText = '', proto = 'tcp'] = key.split('/');
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) throw invalidArgument(`parse port binding ${JSON.stringify(key)}: invalid container port`);
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw invalidArgument(`parse port binding ${JSON.stringify(key)}: unknown protocol ${proto}`);
  return { port, protocol: proto };
}

/**
 * The mappings a container asks for: its PortBindings, plus every ExposedPorts entry on a free
 * host port when PublishAllPorts (`-P`) is set and the port has no binding of its own.
 */
export function mappingsFromDocker(bindings: PortBindings | undefined, exposed: Readonly<Record<string, unknown>> | undefined, publishAll: boolean): PortMapping[] {
  const mappings: PortMapping[] = [];
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { port, protocol } = parseKey(key);
    for (const binding of list ?? [{}]) {
      const text = binding.HostPort ?? '';
      let hostPort = 0;
      let hostPortEnd: number | undefined;
      if (text !== '') {
        const [low, high] = parsePort(text, 'host');
        hostPort = low;
        if (high !== low) hostPortEnd = high;
      }
      mappings.push({ hostIP: binding.HostIp ?? '', hostPort, ...(hostPortEnd === undefined ? {} : { hostPortEnd }), containerPort: port, protocol });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      const { port, protocol } = parseKey(key);
      if (!mappings.some((m) => m.containerPort === port && m.protocol === protocol)) mappings.push({ hostIP: '', hostPort: 0, containerPort: port, protocol });
    }
  }
  return mappings;
}

/** NetworkSettings.Ports as Docker shows it: published ports with their host side, exposed ones with null. */
export function dockerPorts(mappings: readonly PortMapping[], exposed?: Readonly<Record<string, unknown>>): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const key of Object.keys(exposed ?? {})) ports[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    const list = ports[key] ?? [];
    list.push({ HostIp: anyAddress(m.hostIP) ? '0.0.0.0' : m.hostIP!, HostPort: String(m.hostPort) });
    ports[key] = list;
  }
  return ports;
}
