/**
 * Parsing and validation of what a registry or an OCI layout hands us as a "manifest": an OCI
 * image manifest or index, or a Docker v2.2 manifest or manifest list. They are checked here,
 * once, so the rest of the engine can trust every descriptor it walks (digest syntax, sizes).
 * Docker schema 1 is refused with a message that says what to do, as docker 28 does.
 */

import { invalidArgument, notImplemented } from '../../util/errors.ts';
import {
  isDigest,
  isIndexMediaType,
  isManifestMediaType,
  MediaType,
  type Descriptor,
  type Index,
  type Manifest,
  type Platform,
} from '../../oci/image-spec.ts';

export const SCHEMA1_MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
] as const;

/** Accept header for manifest requests: every type we can parse, indexes first. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
] as const;

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: Manifest }
  | { kind: 'index'; mediaType: string; index: Index };

/**
 * Parses manifest bytes. `contentType` (the HTTP header or descriptor media type) is used only
 * when the document does not name its own type, which OCI allows.
 */
export function parseManifest(bytes: Uint8Array | string, contentType?: string): ParsedManifest {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`parse manifest: ${(err as Error).message}`, err);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidArgument('parse manifest: not a JSON object');
  const doc = raw as Record<string, unknown>;
  const header = contentType?.split(';')[0]?.trim();
  const declared = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : undefined;
  if (doc['schemaVersion'] === 1 || isSchema1(declared) || isSchema1(header)) {
    throw notImplemented(
      'parse manifest: Docker Image manifest version 2, schema 1 is not supported: the image must be pushed again with a newer tool (docker ≥ 1.10) to use schema 2 or OCI',
    );
  }
  if (doc['schemaVersion'] !== 2) throw invalidArgument(`parse manifest: unsupported schemaVersion ${JSON.stringify(doc['schemaVersion'])}`);

  let mediaType = declared;
  if (mediaType === undefined && (isIndexMediaType(header) || isManifestMediaType(header))) mediaType = header;
  if (mediaType === undefined) {
    // OCI allows omitting mediaType: tell the two documents apart by their fields.
    if (Array.isArray(doc['manifests'])) mediaType = MediaType.ociIndex;
    else if (doc['config'] !== undefined) mediaType = MediaType.ociManifest;
  }
  if (isIndexMediaType(mediaType)) {
    if (doc['config'] !== undefined || doc['layers'] !== undefined) {
      throw invalidArgument(`parse manifest: ${mediaType} must not have config or layers`);
    }
    if (!Array.isArray(doc['manifests'])) throw invalidArgument('parse manifest: index has no manifests array');
    const manifests = doc['manifests'].map((d, i) => checkDescriptor(d, `manifests[${i}]`));
    return { kind: 'index', mediaType: mediaType!, index: { ...(doc as unknown as Index), manifests } };
  }
  if (isManifestMediaType(mediaType)) {
    if (doc['manifests'] !== undefined) throw invalidArgument(`parse manifest: ${mediaType} must not have manifests`);
    const config = checkDescriptor(doc['config'], 'config');
    if (!Array.isArray(doc['layers'])) throw invalidArgument('parse manifest: manifest has no layers array');
    const layers = doc['layers'].map((d, i) => checkDescriptor(d, `layers[${i}]`));
    return { kind: 'manifest', mediaType: mediaType!, manifest: { ...(doc as unknown as Manifest), config, layers } };
  }
  throw invalidArgument(`parse manifest: unsupported media type ${JSON.stringify(mediaType ?? header ?? '')}`);
}

function isSchema1(mediaType: string | undefined): boolean {
  return mediaType !== undefined && (SCHEMA1_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

/** Validates one descriptor: a wrong digest or size here would later address the wrong blob. */
export function checkDescriptor(value: unknown, where = 'descriptor'): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument(`parse manifest: ${where}: not an object`);
  }
  const d = value as Record<string, unknown>;
  if (typeof d['mediaType'] !== 'string' || d['mediaType'] === '') {
    throw invalidArgument(`parse manifest: ${where}: missing mediaType`);
  }
  if (typeof d['digest'] !== 'string' || !isDigest(d['digest'])) {
    throw invalidArgument(`parse manifest: ${where}: invalid digest ${JSON.stringify(d['digest'])}`);
  }
  if (typeof d['size'] !== 'number' || !Number.isSafeInteger(d['size']) || d['size'] < 0) {
    throw invalidArgument(`parse manifest: ${where}: invalid size ${JSON.stringify(d['size'])}`);
  }
  if (d['platform'] !== undefined) {
    const p = d['platform'] as Partial<Platform> | null;
    if (typeof p !== 'object' || p === null || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw invalidArgument(`parse manifest: ${where}: platform needs os and architecture`);
    }
  }
  return value as Descriptor;
}
