import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import type { CacheEntry } from '../cni/cache.ts';
import { encodeQuery, encodeResponse, parseQuery, parseResponse, RCODE_NXDOMAIN, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA } from './message.ts';
import { DnsService } from './service.ts';

function entry(network: string, containerId: string, name: string, address: string, aliases: string[] = []): CacheEntry {
  return {
    kind: 'berth/cni-cache-v1', containerId, cniContainerId: containerId, network, ifName: 'eth0', netns: '/x',
    config: { cniVersion: '1.0.0', name: network, plugins: [] }, aliases, name, endpointId: 'e', created: '',
    result: { cniVersion: '1.0.0', ips: [{ address: `${address}/24`, gateway: '127.0.0.1' }] },
  } as unknown as CacheEntry;
}

function bound(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

async function freeUdpPort(): Promise<number> {
  const s = await bound();
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function ask(port: number, query: Buffer): Promise<Buffer> {
  const s = await bound();
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer')), 5000);
      s.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      s.send(query, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

describe('embedded dns service', () => {
  let service: DnsService;
  let upstream: Socket;
  let port: number;
  const upstreamQueries: string[] = [];

  before(async () => {
    // A stand-in for the host's resolver, on 127.0.0.1: answers every name with 192.0.2.99.
    upstream = await bound();
    upstream.on('message', (msg, rinfo) => {
      const q = parseQuery(msg);
      upstreamQueries.push(q.questions[0]!.name);
      upstream.send(encodeResponse(q, { addresses: ['192.0.2.99'] }), rinfo.port, rinfo.address);
    });
    port = await freeUdpPort();
    const entries = [entry('n1', 'a'.repeat(64), 'alpha', '10.1.0.2', ['web']), entry('n2', 'b'.repeat(64), 'gamma', '10.2.0.2'), entry('n1', 'pool-1', '', '10.1.0.9')];
    service = new DnsService(
      {
        inspect: async (n) => ({ Name: n, Internal: false, IPAM: { Config: [{ Gateway: '127.0.0.1' }] } }),
        cache: { all: async () => entries },
      },
      { port, upstreams: async () => ['127.0.0.1'], upstreamPort: upstream.address().port, warn: () => {} },
    );
    await service.ensure('n1');
  });

  after(async () => {
    await service.close();
    upstream.close();
  });

  it('answers container names, short ids and aliases of its network', async () => {
    assert.deepEqual(parseResponse(await ask(port, encodeQuery(1, 'alpha', TYPE_A))).addresses, ['10.1.0.2']);
    assert.deepEqual(parseResponse(await ask(port, encodeQuery(2, 'WEB', TYPE_A, true))).addresses, ['10.1.0.2']);
    assert.deepEqual(parseResponse(await ask(port, encodeQuery(3, 'aaaaaaaaaaaa', TYPE_A))).addresses, ['10.1.0.2']);
    const aaaa = parseResponse(await ask(port, encodeQuery(4, 'alpha', TYPE_AAAA)));
    assert.deepEqual(aaaa, { id: 4, rcode: 0, addresses: [] });
  });

  it('does not answer names of other networks, and never asks upstream for a single label', async () => {
    const reply = parseResponse(await ask(port, encodeQuery(5, 'gamma', TYPE_A)));
    assert.equal(reply.rcode, RCODE_NXDOMAIN);
    assert.ok(!upstreamQueries.includes('gamma'));
  });

  it('forwards other names to the upstream resolver and relays its answer', async () => {
    const reply = parseResponse(await ask(port, encodeQuery(6, 'deb.example.org', TYPE_A)));
    assert.deepEqual(reply, { id: 6, rcode: 0, addresses: ['192.0.2.99'] });
    assert.ok(upstreamQueries.includes('deb.example.org'));
  });

  it('forwards for a container started with --dns to its own resolvers, names of its networks still ours', async () => {
    // the container's own resolver: another address, the same port
    const own = createSocket('udp4');
    await new Promise<void>((resolve) => own.bind(upstream.address().port, '127.0.0.2', () => resolve()));
    own.on('message', (msg, rinfo) => own.send(encodeResponse(parseQuery(msg), { addresses: ['192.0.2.77'] }), rinfo.port, rinfo.address));
    try {
      service.setUpstreams('c1', ['127.0.0.1'], ['127.0.0.2']);
      assert.deepEqual(parseResponse(await ask(port, encodeQuery(20, 'deb.example.org', TYPE_A))).addresses, ['192.0.2.77']);
      assert.deepEqual(parseResponse(await ask(port, encodeQuery(21, 'alpha', TYPE_A))).addresses, ['10.1.0.2']);
      service.forgetUpstreams('c1');
      assert.deepEqual(parseResponse(await ask(port, encodeQuery(22, 'deb.example.org', TYPE_A))).addresses, ['192.0.2.99']);
    } finally {
      service.forgetUpstreams('c1');
      own.close();
    }
  });

  it('serves DNS over TCP with length prefixes', async () => {
    const query = encodeQuery(7, 'alpha', TYPE_A);
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(query.length);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.concat([prefix, query])));
      let data = Buffer.alloc(0);
      socket.on('data', (c: Buffer) => {
        data = Buffer.concat([data, c]);
        if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          socket.end();
          resolve(data.subarray(2));
        }
      });
      socket.on('error', reject);
    });
    assert.deepEqual(parseResponse(reply).addresses, ['10.1.0.2']);
  });

  it('says SERVFAIL when no upstream answers, FORMERR on garbage with a header', async () => {
    const silentPort = await freeUdpPort();
    const silent = new DnsService(
      { inspect: async (n) => ({ Name: n, Internal: false, IPAM: { Config: [{ Gateway: '127.0.0.1' }] } }), cache: { all: async () => [] } },
      { port: silentPort, upstreams: async () => [], warn: () => {} },
    );
    await silent.ensure('x');
    try {
      assert.equal(silent.address('x'), '127.0.0.1');
      assert.equal(parseResponse(await ask(silentPort, encodeQuery(8, 'deb.example.org', TYPE_A))).rcode, RCODE_SERVFAIL);
    } finally {
      await silent.close();
    }
    const garbage = Buffer.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff]);
    assert.equal(parseQuery(await ask(port, garbage)).flags & 0xf, 1);
  });
});
