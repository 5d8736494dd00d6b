/**
 * Manifest parsing, platform choice and chain IDs.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { EngineError } from '../../util/errors.ts';
import { MediaType, type Descriptor, type Digest, type Index } from '../../oci/image-spec.ts';
import { parseManifest } from './manifest.ts';
import { defaultPlatform, formatPlatform, normalizePlatform, parsePlatform, selectManifest } from './platform.ts';
import { chainId, chainIds } from './chain-id.ts';

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, extra: Partial<Descriptor> = {}): Descriptor => ({ mediaType, digest: d(c), size: 10, ...extra });

function kind(k: string, pattern?: RegExp) {
  return (err: unknown): boolean => err instanceof EngineError && err.kind === k && (!pattern || pattern.test(err.message));
}

describe('parseManifest', () => {
  const ociManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: desc(MediaType.ociConfig, 'a'),
    layers: [desc(MediaType.ociLayerGzip, 'b')],
  };

  it('parses OCI and Docker manifests and indexes', () => {
    const m = parseManifest(JSON.stringify(ociManifest));
    assert.equal(m.kind, 'manifest');
    assert.equal(m.mediaType, MediaType.ociManifest);
    const docker = parseManifest(JSON.stringify({ ...ociManifest, mediaType: MediaType.dockerManifest }));
    assert.equal(docker.mediaType, MediaType.dockerManifest);
    const list = parseManifest(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [desc(MediaType.dockerManifest, 'c', { platform: { os: 'linux', architecture: 'amd64' } })] }));
    assert.equal(list.kind, 'index');
  });

  it('infers the type from fields, then from the Content-Type, when mediaType is absent', () => {
    const { mediaType: _omit, ...bare } = ociManifest;
    assert.equal(parseManifest(JSON.stringify(bare)).mediaType, MediaType.ociManifest);
    assert.equal(parseManifest(JSON.stringify(bare), `${MediaType.dockerManifest}; charset=utf-8`).mediaType, MediaType.dockerManifest);
    assert.equal(parseManifest(JSON.stringify({ schemaVersion: 2, manifests: [] })).kind, 'index');
  });

  it('rejects schema 1 with a clear message', () => {
    const s1 = { schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] };
    assert.throws(() => parseManifest(JSON.stringify(s1)), kind('not-implemented', /schema 1 is not supported/));
    assert.throws(() => parseManifest('{"schemaVersion":2}', 'application/vnd.docker.distribution.manifest.v1+prettyjws'), kind('not-implemented'));
  });

  it('rejects malformed documents', () => {
    assert.throws(() => parseManifest('not json'), kind('invalid-argument', /^parse manifest: /));
    assert.throws(() => parseManifest('[]'), kind('invalid-argument', /not a JSON object/));
    assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, schemaVersion: 3 })), kind('invalid-argument', /schemaVersion/));
    assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, config: { ...ociManifest.config, digest: 'sha256:nope' } })), kind('invalid-argument', /config: invalid digest/));
    assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, layers: [{ ...ociManifest.layers[0], size: -1 }] })), kind('invalid-argument', /layers\[0\]: invalid size/));
    assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, layers: undefined })), kind('invalid-argument', /no layers/));
    assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, mediaType: MediaType.ociIndex })), kind('invalid-argument', /must not have config/));
    assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, mediaType: 'text/plain' })), kind('invalid-argument', /unsupported media type "text\/plain"/));
  });
});

describe('platforms', () => {
  it('normalises arch spellings and variants', () => {
    const cases: Array<[string, string]> = [
      ['linux/x86_64', 'linux/amd64'],
      ['linux/amd64/v1', 'linux/amd64'],
      ['linux/amd64/v3', 'linux/amd64/v3'],
      ['linux/aarch64', 'linux/arm64/v8'],
      ['linux/arm64', 'linux/arm64/v8'],
      ['linux/arm64/8', 'linux/arm64/v8'],
      ['linux/arm', 'linux/arm/v7'],
      ['linux/armhf', 'linux/arm/v7'],
      ['linux/armel', 'linux/arm/v6'],
      ['Linux/ARM/7', 'linux/arm/v7'],
      ['linux/i386', 'linux/386'],
      ['arm64', 'linux/arm64/v8'],
    ];
    for (const [input, want] of cases) assert.equal(formatPlatform(parsePlatform(input)), want, input);
    assert.throws(() => parsePlatform('linux//amd64'), kind('invalid-argument'));
    assert.throws(() => parsePlatform('a/b/c/d'), kind('invalid-argument'));
  });

  it('defaults to linux and the arch node runs on', () => {
    const p = defaultPlatform();
    assert.equal(p.os, 'linux');
    assert.equal(p.architecture, { x64: 'amd64', arm64: 'arm64' }[process.arch as string] ?? p.architecture);
    assert.deepEqual(parsePlatform('linux'), p);
    assert.deepEqual(normalizePlatform(p), p);
  });

  const index: Index = {
    schemaVersion: 2,
    manifests: [
      desc(MediaType.ociManifest, '1', { platform: { os: 'linux', architecture: 'amd64' } }),
      desc(MediaType.ociManifest, '2', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
      desc(MediaType.ociManifest, '3', { platform: { os: 'linux', architecture: 'arm', variant: 'v6' } }),
      desc(MediaType.ociManifest, '4', { platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } }),
      desc(MediaType.ociManifest, '5', { platform: { os: 'unknown', architecture: 'unknown' } }),
      desc(MediaType.ociManifest, '6', { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } }),
      desc(MediaType.ociManifest, '7'),
    ],
  };
  const pick = (spec: string): string => selectManifest(index, parsePlatform(spec)).digest.slice(7, 8);

  it('chooses the matching entry of an index', () => {
    assert.equal(pick('linux/amd64'), '1');
    assert.equal(pick('linux/amd64/v3'), '4');
    assert.equal(pick('linux/amd64/v2'), '1'); // v1 runs on a v2 host; v3 does not
    assert.equal(pick('linux/arm64'), '2');
    assert.equal(pick('linux/aarch64'), '2');
    assert.equal(pick('linux/arm/v7'), '6');
    assert.equal(pick('linux/arm/v6'), '3');
    assert.equal(pick('linux/arm/v8'), '6'); // best older arm variant
  });

  it('arm64 without variant in the index matches a v8 request', () => {
    const idx: Index = { schemaVersion: 2, manifests: [desc(MediaType.ociManifest, 'e', { platform: { os: 'linux', architecture: 'arm64' } })] };
    assert.equal(selectManifest(idx, parsePlatform('linux/arm64/v8')).digest, d('e'));
  });

  it('says which platform was missing', () => {
    assert.throws(() => selectManifest(index, parsePlatform('linux/s390x')), (err: unknown) =>
      err instanceof EngineError && err.kind === 'not-found' && err.message === 'no matching manifest for linux/s390x in the manifest list entries');
    assert.throws(() => selectManifest(index, parsePlatform('windows/amd64')), kind('not-found'));
  });
});

describe('chainIds', () => {
  it('follows the image-spec definition', () => {
    const [a, b, c] = [d('1'), d('2'), d('3')];
    const sha = (s: string): Digest => `sha256:${createHash('sha256').update(s).digest('hex')}`;
    const ab = sha(`${a} ${b}`);
    const abc = sha(`${ab} ${c}`);
    assert.deepEqual(chainIds([a, b, c]), [a, ab, abc]);
    assert.equal(chainId([a]), a);
    assert.equal(chainId([a, b, c]), abc);
    assert.throws(() => chainId([]), kind('invalid-argument'));
    assert.throws(() => chainIds(['sha256:xyz' as Digest]), kind('invalid-argument'));
  });

  it('matches a known chain id', () => {
    // Computed independently: printf 'sha256:000… sha256:111…' | sha256sum
    assert.equal(chainId([d('0'), d('1')]), 'sha256:f94b891e05f6e37c90d87edfd5bb98a02d618a437c35f3a94b3b00e48e894631');
  });
});
