/**
 * The registry client the engine uses: one object holding the transport (auth state, token
 * cache, insecure registries), the content store blobs go to, and the memory of which
 * repository each blob came from (for cross-repository mounts). Pull and push live in their
 * own modules; login/logout are here because they are about the client's credentials.
 */

import { EngineError } from '../../util/errors.ts';
import type { Digest } from '../../oci/image-spec.ts';
import type { ContentStore } from '../../content/index.ts';
import { parseReference, type Reference } from '../reference/index.ts';
import { basicAuthorization, parseChallenges } from './auth.ts';
import { DockerConfigCredentials, serverHost, type CredentialStore, type Credentials } from './credentials.ts';
import { BlobSources, fetchManifest, pullImage, type FetchedManifest, type PullOptions, type PullResult } from './pull.ts';
import { pushImage, type PushOptions, type PushResult } from './push.ts';
import { describeNetworkError, registryError, RegistryTransport, type TransportOptions } from './transport.ts';

export interface RegistryClientOptions extends Omit<TransportOptions, 'credentials'> {
  /** Where credentials come from; default `~/.docker/config.json` (or `$DOCKER_CONFIG`). */
  credentials?: CredentialStore;
  /** Parallel blob transfers per pull or push (default 3, as dockerd's max-concurrent-downloads). */
  concurrency?: number;
}

export class RegistryClient {
  readonly transport: RegistryTransport;
  readonly store: ContentStore;
  #concurrency: number;
  #sources = new BlobSources();

  constructor(store: ContentStore, options: RegistryClientOptions = {}) {
    this.store = store;
    this.#concurrency = options.concurrency ?? 3;
    this.transport = new RegistryTransport({ ...options, credentials: options.credentials ?? new DockerConfigCredentials() });
  }

  #context() {
    return { transport: this.transport, store: this.store, concurrency: this.#concurrency, sources: this.#sources };
  }

  /** Pulls an image (all platforms' index, the chosen manifest, config, layers) into the store. */
  pull(ref: string | Reference, options: PullOptions = {}): Promise<PullResult> {
    return pullImage(this.#context(), ref, options);
  }

  /** Pushes the manifest or index `manifestDigest` (and everything it names) as `ref`. */
  push(ref: string | Reference, manifestDigest: Digest, options: PushOptions = {}): Promise<PushResult> {
    return pushImage(this.#context(), ref, manifestDigest, options);
  }

  /** Fetches (without storing) the manifest or index a reference names, digest-checked. */
  resolve(ref: string | Reference, options: { signal?: AbortSignal } = {}): Promise<FetchedManifest> {
    const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
    return fetchManifest(this.#context(), parsed, parsed.digest ?? parsed.tag ?? 'latest', options.signal);
  }
}

export interface LoginOptions {
  insecureRegistries?: readonly string[];
  /** Where to record the login (default: docker's config.json). */
  configPath?: string;
  signal?: AbortSignal;
}

/**
 * Checks credentials against `GET /v2/` (answering a Basic or Bearer challenge with them)
 * and records them; throws `forbidden` with the registry's words when they are refused.
 */
export async function login(server: string, credentials: Credentials, options: LoginOptions = {}): Promise<void> {
  const host = serverHost(server);
  const transport = new RegistryTransport({ ...(options.insecureRegistries ? { insecureRegistries: options.insecureRegistries } : {}), retries: 1 });
  const url = transport.url(host, '/v2/');
  const init = (headers: Record<string, string>): RequestInit => ({ headers, ...(options.signal ? { signal: options.signal } : {}) });
  let res: Response;
  try {
    res = await fetch(url, init({}));
  } catch (err) {
    throw new EngineError('unavailable', `login to ${host}: ${describeNetworkError(err)}`, { cause: err });
  }
  if (res.status === 401) {
    await res.body?.cancel();
    const challenges = parseChallenges(res.headers.get('www-authenticate') ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params['realm']) {
      const tokenUrl = new URL(bearer.params['realm']);
      if (bearer.params['service']) tokenUrl.searchParams.set('service', bearer.params['service']);
      tokenUrl.searchParams.set('account', credentials.username);
      res = await fetch(tokenUrl, init({ Authorization: basicAuthorization(credentials) }));
    } else {
      res = await fetch(url, init({ Authorization: basicAuthorization(credentials) }));
    }
  }
  if (res.status === 401 || res.status === 403) {
    const err = await registryError(res, `login to ${host}`);
    throw new EngineError('forbidden', `login to ${host}: unauthorized: incorrect username or password`, { cause: err });
  }
  if (!res.ok) throw await registryError(res, `login to ${host}`);
  await res.body?.cancel();
  await new DockerConfigCredentials(options.configPath).set(host, credentials);
}

/** Forgets the credentials for a registry; false when there were none (docker: "Not logged in"). */
export async function logout(server: string, options: { configPath?: string } = {}): Promise<boolean> {
  return new DockerConfigCredentials(options.configPath).remove(serverHost(server));
}
