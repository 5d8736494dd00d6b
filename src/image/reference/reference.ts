/**
 * Image references as docker users type them, normalised the way docker does so that
 * `nginx`, `library/nginx` and `docker.io/library/nginx:latest` name one image, and error
 * messages match what docker prints (users paste them into search engines).
 *
 * Grammar (distribution's reference grammar, written out here):
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component [ "/" path-component ]*
 *   domain     := host [ ":" port ]   (host: DNS labels separated by ".", or "[ipv6]")
 *   path-comp  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 * The first component is a domain only when it contains "." or ":", is "localhost", or has an
 * upper-case letter (docker's rule); otherwise the image lives on Docker Hub.
 */

import { invalidArgument } from '../../util/errors.ts';
import { isDigest, type Digest } from '../../oci/image-spec.ts';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_MAX_LENGTH = 255;

export interface Reference {
  /** Registry host with optional port, e.g. `docker.io`, `localhost:5000`. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/nginx`. */
  path: string;
  tag?: string;
  digest?: Digest;
}

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_SYNTAX_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HEX64_RE = /^[a-f0-9]{64}$/;

function invalidFormat(detail?: string): Error {
  return invalidArgument(detail ? `invalid reference format: ${detail}` : 'invalid reference format');
}

/**
 * Parses what a user typed into a fully qualified reference (docker's ParseNormalizedNamed).
 * With `defaultTag` (the default), a reference with neither tag nor digest gets `latest`.
 */
export function parseReference(input: string, options: { defaultTag?: boolean } = {}): Reference {
  if (input.length === 0) throw invalidFormat();
  if (HEX64_RE.test(input)) {
    throw invalidArgument(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const raw = rest.slice(at + 1);
    if (!DIGEST_SYNTAX_RE.test(raw)) throw invalidFormat();
    if (!isDigest(raw)) throw invalidArgument(`invalid reference format: unsupported digest ${raw}`);
    digest = raw;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalidFormat();
  }
  const { domain, path } = splitDomain(rest);
  if (domain !== undefined && !DOMAIN_RE.test(domain)) throw invalidFormat();
  if (!PATH_RE.test(path)) {
    if (PATH_RE.test(path.toLowerCase())) throw invalidFormat('repository name must be lowercase');
    throw invalidFormat();
  }
  const fullDomain = normaliseDomain(domain);
  let fullPath = path;
  if (fullDomain === DEFAULT_DOMAIN && !path.includes('/')) fullPath = OFFICIAL_REPO_PREFIX + path;
  if (`${fullDomain}/${fullPath}`.length > NAME_MAX_LENGTH) {
    throw invalidFormat(`repository name must not be more than ${NAME_MAX_LENGTH} characters`);
  }
  const ref: Reference = { domain: fullDomain, path: fullPath };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined && options.defaultTag !== false) ref.tag = DEFAULT_TAG;
  return ref;
}

function splitDomain(name: string): { domain: string | undefined; path: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { domain: undefined, path: name };
  const first = name.slice(0, slash);
  const isDomain = /[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first;
  return isDomain ? { domain: first, path: name.slice(slash + 1) } : { domain: undefined, path: name };
}

function normaliseDomain(domain: string | undefined): string {
  if (domain === undefined || domain === LEGACY_DEFAULT_DOMAIN) return DEFAULT_DOMAIN;
  return domain;
}

/** `domain/path`: the repository, without tag or digest. */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The fully qualified string: `docker.io/library/nginx:latest`, `host:5000/a@sha256:…`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The short form docker shows: `nginx:latest`, `user/app:1`, `localhost:5000/a/b:tag`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) && ref.path.indexOf('/', OFFICIAL_REPO_PREFIX.length) === -1
    ? ref.path.slice(OFFICIAL_REPO_PREFIX.length)
    : ref.path;
}

export function familiar(ref: Reference): string {
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The same repository pinned to a digest (tag dropped): what a pull by tag resolved to. */
export function withDigest(ref: Reference, digest: Digest): Reference {
  return { domain: ref.domain, path: ref.path, digest };
}

export function withTag(ref: Reference, tag: string): Reference {
  if (!TAG_RE.test(tag)) throw invalidFormat();
  return { domain: ref.domain, path: ref.path, tag };
}
