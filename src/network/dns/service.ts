/**
 * The embedded DNS server of user networks: containers on a user network resolve each other by
 * container name, short id and alias, on every user network the asking container is attached to
 * (as Docker's resolver does: a container connected to a second network asks the same server);
 * other names with a dot go to the host's resolvers from /etc/resolv.conf. Docker listens on 127.0.0.11 inside each namespace (with NAT rules there);
 * we listen on each network's gateway address instead, so nothing is added to the container's
 * namespace and one socket pair serves the whole network. The default `bridge` network gets no
 * server, as in Docker, and internal networks have no gateway address to listen on.
 */

import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { WarmPool } from '../pool/pool.ts';
import type { CacheEntry } from '../cni/cache.ts';
import { encodeResponse, parseQuery, RCODE_FORMERR, RCODE_NOERROR, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_SERVFAIL, TYPE_A } from './message.ts';
import type { Query } from './message.ts';

const FORWARD_TIMEOUT_MS = 3000;
const MAX_TCP_MESSAGE = 65535;

/** What the service needs of the network manager: a network's gateway, and the attachments. */
export interface DnsSource {
  inspect(network: string): Promise<{ Name: string; Internal: boolean; IPAM: { Config: { Gateway?: string }[] } }>;
  readonly cache: { all(): Promise<CacheEntry[]> };
}

export interface DnsServiceOptions {
  /** Upstream resolvers; default: the nameservers of the host's /etc/resolv.conf. */
  readonly upstreams?: () => Promise<string[]>;
  readonly port?: number;
  /** The port upstream resolvers answer on (53; tests use their own). */
  readonly upstreamPort?: number;
  readonly warn?: (message: string) => void;
}

interface Listener {
  readonly address: string;
  readonly udp: Socket;
  readonly tcp: Server;
}

async function hostResolvers(): Promise<string[]> {
  const text = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  return [...text.matchAll(/^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]!).filter((ip) => !ip.startsWith('127.'));
}

function endpointAddress(entry: CacheEntry): string | undefined {
  return entry.result?.ips?.[0]?.address.split('/')[0];
}

export class DnsService {
  readonly #source: DnsSource;
  readonly #options: DnsServiceOptions;
  readonly #listeners = new Map<string, Listener>();
  readonly #pending = new Map<string, Promise<void>>();
  /** Containers started with `--dns`: their addresses and the resolvers their other names go to. */
  readonly #clientUpstreams = new Map<string, { addresses: readonly string[]; servers: readonly string[] }>();

  constructor(source: DnsSource, options: DnsServiceOptions = {}) {
    this.#source = source;
    this.#options = options;
  }

  /**
   * `docker run --dns` on a user network: the container keeps asking us (names of its networks
   * still resolve), and what we forward for it goes to its own resolvers, as Docker's does.
   */
  setUpstreams(container: string, addresses: readonly string[], servers: readonly string[]): void {
    this.#clientUpstreams.set(container, { addresses, servers });
  }

  forgetUpstreams(container: string): void {
    this.#clientUpstreams.delete(container);
  }

  /** The address a network's server listens on, if it has one. */
  address(network: string): string | undefined {
    return this.#listeners.get(network)?.address;
  }

  /** Serves the network's names on its gateway (once the bridge holds that address). Idempotent. */
  ensure(network: string): Promise<void> {
    const pending = this.#pending.get(network);
    if (pending !== undefined) return pending;
    const work = this.#ensure(network).finally(() => this.#pending.delete(network));
    this.#pending.set(network, work);
    return work;
  }

  async #ensure(network: string): Promise<void> {
    const info = await this.#source.inspect(network);
    const gateway = info.IPAM.Config[0]?.Gateway;
    if (info.Internal || gateway === undefined || gateway === '') return;
    const current = this.#listeners.get(info.Name);
    if (current?.address === gateway) return;
    if (current !== undefined) await this.forget(info.Name);
    const port = this.#options.port ?? 53;
    const udp = createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      void this.#answer(info.Name, msg, rinfo.address).then((reply) => {
        if (reply !== undefined) udp.send(reply, rinfo.port, rinfo.address);
      });
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, gateway, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.#warn(`dns on ${gateway}: ${err.message}`));
    const tcp = createServer((socket) => this.#serveTcp(info.Name, socket));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, gateway, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    this.#listeners.set(info.Name, { address: gateway, udp, tcp });
  }

  /** Stops serving a network (it was removed). */
  async forget(network: string): Promise<void> {
    const listener = this.#listeners.get(network);
    if (listener === undefined) return;
    this.#listeners.delete(network);
    await new Promise<void>((resolve) => listener.udp.close(() => resolve()));
    await new Promise<void>((resolve) => listener.tcp.close(() => resolve()));
  }

  async close(): Promise<void> {
    for (const network of [...this.#listeners.keys()]) await this.forget(network);
  }

  #warn(message: string): void {
    (this.#options.warn ?? ((m: string) => process.stderr.write(`berthd: ${m}\n`)))(message);
  }

  /** DNS over TCP: two-byte length prefix per message, several messages per connection. */
  #serveTcp(network: string, socket: TcpSocket): void {
    let buffered = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        void this.#answer(network, message, socket.remoteAddress ?? '').then((reply) => {
          if (reply === undefined || reply.length > MAX_TCP_MESSAGE || socket.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length, 0);
          socket.write(Buffer.concat([prefix, reply]));
        });
      }
    });
  }

  /**
   * Addresses of `name` for a query that arrived on `network`: container names, short ids and
   * aliases of live attachments on that network, then on the other networks of the asking
   * container (found by its address `from` on `network`).
   */
  async lookup(network: string, name: string, from?: string): Promise<string[]> {
    const wanted = name.toLowerCase();
    const entries = (await this.#source.cache.all()).filter((e) => e.result !== undefined && !WarmPool.isPoolId(e.containerId));
    const asker = from === undefined ? undefined : entries.find((e) => e.network === network && endpointAddress(e) === from)?.containerId;
    const networks = [network];
    for (const e of entries) if (asker !== undefined && e.containerId === asker && !networks.includes(e.network) && this.#listeners.has(e.network)) networks.push(e.network);
    const found: string[] = [];
    for (const net of networks) {
      for (const entry of entries) {
        if (entry.network !== net) continue;
        const names = [entry.name ?? '', entry.containerId.slice(0, 12), ...(entry.aliases ?? [])].map((n) => n.toLowerCase());
        const address = endpointAddress(entry);
        if (address !== undefined && names.includes(wanted) && !found.includes(address)) found.push(address);
      }
    }
    return found;
  }

  /** The reply to one message, or undefined to stay silent (a response, or garbage without a header). */
  async #answer(network: string, message: Buffer, from: string): Promise<Buffer | undefined> {
    let query: Query;
    try {
      query = parseQuery(message);
    } catch {
      if (message.length < 12) return undefined;
      return encodeResponse({ id: message.readUInt16BE(0), flags: message.readUInt16BE(2), questions: [] }, { rcode: RCODE_FORMERR });
    }
    if (query.isResponse) return undefined;
    const question = query.questions[0];
    if (query.opcode !== 0 || question === undefined) return encodeResponse(query, { rcode: RCODE_NOTIMP });
    try {
      const local = await this.lookup(network, question.name, from);
      if (local.length > 0) {
        // AAAA and others for a container name: the name exists, with no records of that type.
        return encodeResponse(query, question.type === TYPE_A ? { addresses: local } : { rcode: RCODE_NOERROR });
      }
      // A single label is a container name or nothing: never asked of the host's resolvers.
      if (!question.name.includes('.')) return encodeResponse(query, { rcode: RCODE_NXDOMAIN });
      return (await this.#forward(message, from)) ?? encodeResponse(query, { rcode: RCODE_SERVFAIL });
    } catch (err) {
      this.#warn(`dns on network ${network}: ${err instanceof Error ? err.message : String(err)}`);
      return encodeResponse(query, { rcode: RCODE_SERVFAIL });
    }
  }

  /** The query as the client sent it, to each upstream in turn over UDP; the first answer wins. */
  async #forward(message: Buffer, from: string): Promise<Buffer | undefined> {
    const own = [...this.#clientUpstreams.values()].find((c) => c.addresses.includes(from))?.servers;
    const upstreams = own ?? (await (this.#options.upstreams ?? hostResolvers)());
    for (const upstream of upstreams) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const socket = createSocket(upstream.includes(':') ? 'udp6' : 'udp4');
        const done = (value: Buffer | undefined): void => {
          clearTimeout(timer);
          socket.close();
          resolve(value);
        };
        const timer = setTimeout(() => done(undefined), FORWARD_TIMEOUT_MS);
        socket.on('error', () => done(undefined));
        socket.on('message', (msg) => {
          if (msg.length >= 2 && msg.readUInt16BE(0) === message.readUInt16BE(0)) done(msg);
        });
        socket.send(message, this.#options.upstreamPort ?? 53, upstream);
      });
      if (reply !== undefined) return reply;
    }
    return undefined;
  }
}
