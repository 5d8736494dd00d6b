/**
 * Registry authentication (distribution's token auth spec and RFC 7235 challenges).
 *
 * A registry answers an unauthenticated request with 401 and `WWW-Authenticate`:
 *   Basic realm="…"                                       → send user:password on every request
 *   Bearer realm="https://auth/token",service="…",scope="repository:x:pull"
 *                                                         → GET realm?service=…&scope=… (with Basic
 *                                                           creds if we have some), answer is JSON
 *                                                           {token | access_token, expires_in}
 * Tokens are cached per (host, scope set) until shortly before they expire, and the scheme a
 * host asked for is remembered so later requests authenticate up front instead of paying a
 * 401 round trip per blob.
 */

import { EngineError } from '../../util/errors.ts';
import type { CredentialStore, Credentials } from './credentials.ts';
import type { RegistryResponse } from './transport.ts';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` value, which may hold several challenges. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipSpaces = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  while (i < s.length) {
    skipSpaces();
    while (s[i] === ',') {
      i++;
      skipSpaces();
    }
    const schemeMatch = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(s.slice(i));
    if (!schemeMatch) break;
    const challenge: Challenge = { scheme: schemeMatch[0].toLowerCase(), params: {} };
    out.push(challenge);
    i += schemeMatch[0].length;
    for (;;) {
      skipSpaces();
      const param = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*/.exec(s.slice(i));
      if (!param) break;
      i += param[0].length;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const token = /^[^,\s]*/.exec(s.slice(i))![0];
        value = token;
        i += token.length;
      }
      challenge.params[param[1]!.toLowerCase()] = value;
      skipSpaces();
      if (s[i] === ',') {
        i++;
        // A comma may separate params or start the next challenge: look ahead for "name=".
        const save = i;
        skipSpaces();
        if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=/.test(s.slice(i))) {
          i = save;
          break;
        }
        i = save;
      } else {
        break;
      }
    }
  }
  return out;
}

export function basicAuthorization(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface AuthorizerOptions {
  credentials?: CredentialStore;
  /** Does the HTTP request for a token (the transport's fetch, for redirects/timeouts). */
  fetchToken?: (url: URL, headers: Record<string, string>) => Promise<RegistryResponse>;
}

/** Remembers challenges and tokens per registry host; hands out Authorization headers. */
export class Authorizer {
  #credentials: CredentialStore | undefined;
  #fetchToken: (url: URL, headers: Record<string, string>) => Promise<RegistryResponse>;
  #challenges = new Map<string, Challenge>();
  #tokens = new Map<string, CachedToken>();
  #inflight = new Map<string, Promise<CachedToken>>();

  constructor(options: AuthorizerOptions = {}) {
    this.#credentials = options.credentials;
    this.#fetchToken = options.fetchToken ?? ((url, headers) => fetch(url, { headers }));
  }

  /** The Authorization header to send up front, if this host has challenged us before. */
  async authorization(host: string, scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.#challenges.get(host);
    if (!challenge) return undefined;
    return this.#authorizationFor(host, challenge, scopes, false);
  }

  /**
   * Handles a 401: records the challenge and returns the header to retry with, or undefined
   * when nothing we could send would help (no credentials for Basic, unknown scheme).
   */
  async onChallenge(host: string, header: string | null, scopes: readonly string[]): Promise<string | undefined> {
    const challenges = parseChallenges(header ?? '');
    const challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!challenge) return undefined;
    this.#challenges.set(host, challenge);
    const wanted = [...scopes];
    if (challenge.params['scope']) {
      for (const s of challenge.params['scope'].split(' ')) if (s && !wanted.includes(s)) wanted.push(s);
    }
    return this.#authorizationFor(host, challenge, wanted, true);
  }

  /** Forgets cached tokens for a host (after a 401 with a token we thought valid). */
  forget(host: string): void {
    for (const key of [...this.#tokens.keys()]) if (key.startsWith(`${host}|`)) this.#tokens.delete(key);
  }

  async #authorizationFor(host: string, challenge: Challenge, scopes: readonly string[], fresh: boolean): Promise<string | undefined> {
    const creds = await this.#credentials?.get(host);
    if (challenge.scheme === 'basic') return creds ? basicAuthorization(creds) : undefined;
    if (challenge.scheme !== 'bearer') return undefined;
    const realm = challenge.params['realm'];
    if (!realm) throw new EngineError('unavailable', `authenticate to ${host}: bearer challenge without realm`);
    const sorted = [...new Set(scopes)].sort();
    // Keyed by who asked too: a daemon serves requests carrying different credentials, and a
    // token granted to one of them must never answer for another.
    const key = `${host}|${realm}|${challenge.params['service'] ?? ''}|${sorted.join(' ')}|${creds ? basicAuthorization(creds) : 'anonymous'}`;
    const cached = this.#tokens.get(key);
    if (!fresh && cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = this.#requestToken(host, realm, challenge.params['service'], sorted, creds);
      this.#inflight.set(key, pending);
      pending.then(
        () => this.#inflight.delete(key),
        () => this.#inflight.delete(key),
      );
    }
    const token = await pending;
    this.#tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  async #requestToken(
    host: string,
    realm: string,
    service: string | undefined,
    scopes: readonly string[],
    creds: Credentials | undefined,
  ): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch (err) {
      throw new EngineError('unavailable', `authenticate to ${host}: invalid realm ${JSON.stringify(realm)}`, { cause: err });
    }
    if (service) url.searchParams.set('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (creds) headers['Authorization'] = basicAuthorization(creds);
    let res: RegistryResponse;
    try {
      res = await this.#fetchToken(url, headers);
    } catch (err) {
      throw new EngineError('unavailable', `get token from ${url.origin}${url.pathname}: ${(err as Error).message}`, { cause: err });
    }
    const body = await res.text();
    if (res.status === 401 || res.status === 403) {
      throw new EngineError('forbidden', `get token from ${url.origin}${url.pathname}: unauthorized: ${errorDetail(body) ?? 'incorrect username or password'}`);
    }
    if (!res.ok) throw new EngineError('unavailable', `get token from ${url.origin}${url.pathname}: ${res.status} ${res.statusText}`);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch (err) {
      throw new EngineError('unavailable', `get token from ${url.origin}${url.pathname}: invalid JSON`, { cause: err });
    }
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new EngineError('unavailable', `get token from ${url.origin}${url.pathname}: response has no token`);
    }
    // The spec's default lifetime is 60 s; renew 10 s early so a token never expires in flight.
    const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    return { token, expiresAt: Date.now() + Math.max(lifetime - 10, 1) * 1000 };
  }
}

function errorDetail(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { errors?: Array<{ message?: string }>; details?: string; error?: string };
    return parsed.errors?.[0]?.message ?? parsed.details ?? parsed.error;
  } catch {
    return body.trim() || undefined;
  }
}
