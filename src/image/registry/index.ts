/**
 * Public surface of the registry client (OCI distribution): pull and push through a content
 * store, docker-compatible credentials, login and logout.
 */

export { RegistryClient, login, logout } from './registry-client.ts';
export type { LoginOptions, RegistryClientOptions } from './registry-client.ts';
export type { FetchedManifest, LayerConsumer, PullOptions, PullResult } from './pull.ts';
export { MAX_MANIFEST_BYTES } from './pull.ts';
export type { PushOptions, PushResult } from './push.ts';
export { DEFAULT_CHUNK_SIZE, DEFAULT_CHUNKED_THRESHOLD } from './push.ts';
export type { ProgressEvent, PullProgress, PullStatus, PushProgress, PushStatus } from './progress.ts';
export type { CredentialStore, Credentials } from './credentials.ts';
export { DOCKER_HUB_AUTH_KEY, DockerConfigCredentials, StaticCredentials, authKeyFor, defaultDockerConfigPath } from './credentials.ts';
export { RegistryError, isLoopbackHost } from './transport.ts';
export type { TransportOptions } from './transport.ts';
export { parseChallenges } from './auth.ts';
export type { Challenge } from './auth.ts';
