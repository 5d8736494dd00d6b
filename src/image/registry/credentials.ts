/**
 * Registry credentials in docker's own file, `~/.docker/config.json` (or `$DOCKER_CONFIG/
 * config.json`), so `docker login` and `berth login` share logins. Format:
 *   { "auths": { "<server>": { "auth": base64("user:password") } } }
 * Docker Hub's key is the legacy `https://index.docker.io/v1/`; other registries are keyed by
 * `host[:port]`, though older clients wrote `https://host/v1/`-style URLs, which we also read.
 * Credential helpers work as docker's: `credHelpers` names one per registry, `credsStore` the
 * default one, and `docker-credential-<name> get|store|erase` keeps the secret (the file then
 * holds an empty `auths` entry for the registry, as docker writes it).
 */

import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { atomicWrite } from '../../util/atomic-write.ts';
import { errorCode, invalidArgument } from '../../util/errors.ts';
import { DEFAULT_DOMAIN } from '../reference/index.ts';

export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

export interface Credentials {
  username: string;
  password: string;
}

/** Where credentials come from; the registry client asks per registry host. */
export interface CredentialStore {
  get(host: string): Promise<Credentials | undefined>;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** What `docker-credential-<name> get` prints. */
interface HelperCredentials {
  ServerURL?: string;
  Username?: string;
  Secret?: string;
}

/** One call of a docker credential helper: `input` on stdin, stdout back; a failure names the helper and what it said. */
function runHelper(name: string, action: 'get' | 'store' | 'erase', input: string): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return Promise.reject(invalidArgument(`credential helper ${JSON.stringify(name)}: invalid name`));
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (err) => reject(invalidArgument(`credential helper docker-credential-${name}: ${errorCode(err) === 'ENOENT' ? 'not found in PATH' : err.message}`, err)));
    child.on('close', (code) => resolve({ ok: code === 0, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** `credHelpers` for this registry, else `credsStore`. */
function helperFor(config: DockerConfigFile, key: string): string | undefined {
  for (const [server, helper] of Object.entries(config.credHelpers ?? {})) if (authKeyFor(server) === key && helper !== '') return helper;
  return config.credsStore || undefined;
}

export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['DOCKER_CONFIG'] || join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** `https://index.docker.io/v1/` for Docker Hub, `host[:port]` for the rest. */
export function authKeyFor(server: string): string {
  const host = serverHost(server);
  if (host === DEFAULT_DOMAIN || host === 'index.docker.io' || host === 'registry-1.docker.io') return DOCKER_HUB_AUTH_KEY;
  return host;
}

/** Strips a scheme and path: `https://host:5000/v1/` → `host:5000`. */
export function serverHost(server: string): string {
  let s = server.trim();
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = s.indexOf('/');
  if (slash !== -1) s = s.slice(0, slash);
  if (s === '') throw invalidArgument(`parse registry ${JSON.stringify(server)}: empty host`);
  return s.toLowerCase();
}

export class DockerConfigCredentials implements CredentialStore {
  readonly path: string;

  constructor(path: string = defaultDockerConfigPath()) {
    this.path = path;
  }

  async get(host: string): Promise<Credentials | undefined> {
    const config = await this.#read();
    const wanted = authKeyFor(host);
    const helper = helperFor(config, wanted);
    if (helper !== undefined) {
      const answer = await runHelper(helper, 'get', wanted);
      // helpers answer "credentials not found" with a failure: no login, not an error
      if (!answer.ok) {
        if (/not found/i.test(answer.stdout + answer.stderr)) return undefined;
        throw invalidArgument(`get credentials for ${wanted} from docker-credential-${helper}: ${(answer.stderr || answer.stdout).trim()}`);
      }
      let parsed: HelperCredentials;
      try {
        parsed = JSON.parse(answer.stdout) as HelperCredentials;
      } catch (err) {
        throw invalidArgument(`get credentials for ${wanted} from docker-credential-${helper}: unparsable answer: ${answer.stdout.slice(0, 200)}`, err);
      }
      if (!parsed.Username || parsed.Secret === undefined) return undefined;
      return { username: parsed.Username, password: parsed.Secret };
    }
    for (const [key, entry] of Object.entries(config.auths ?? {})) {
      if (authKeyFor(key) !== wanted && key !== wanted) continue;
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon === -1) throw invalidArgument(`read credentials for ${key} in ${this.path}: invalid auth field`);
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    }
    return undefined;
  }

  /** Records a login; the file is replaced atomically and readable by its owner only. */
  async set(server: string, credentials: Credentials): Promise<void> {
    const config = await this.#read();
    const key = authKeyFor(server);
    const helper = helperFor(config, key);
    if (helper !== undefined) {
      const answer = await runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: credentials.username, Secret: credentials.password }));
      if (!answer.ok) throw invalidArgument(`store credentials for ${key} in docker-credential-${helper}: ${(answer.stderr || answer.stdout).trim()}`);
    }
    const auths = { ...(config.auths ?? {}) };
    for (const existing of Object.keys(auths)) if (existing !== key && authKeyFor(existing) === key) delete auths[existing];
    auths[key] = helper !== undefined ? {} : { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
    await this.#write({ ...config, auths });
  }

  /** Forgets a login; false when there was none. */
  async remove(server: string): Promise<boolean> {
    const config = await this.#read();
    const key = authKeyFor(server);
    const helper = helperFor(config, key);
    let found = false;
    if (helper !== undefined) {
      const answer = await runHelper(helper, 'erase', key);
      if (answer.ok) found = true;
      else if (!/not found/i.test(answer.stdout + answer.stderr)) throw invalidArgument(`erase credentials for ${key} from docker-credential-${helper}: ${(answer.stderr || answer.stdout).trim()}`);
    }
    const auths = { ...(config.auths ?? {}) };
    for (const existing of Object.keys(auths)) {
      if (authKeyFor(existing) === key) {
        delete auths[existing];
        found = true;
      }
    }
    if (found) await this.#write({ ...config, auths });
    return found;
  }

  async #read(): Promise<DockerConfigFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return {};
      throw err;
    }
    if (text.trim() === '') return {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      return parsed as DockerConfigFile;
    } catch (err) {
      throw invalidArgument(`read ${this.path}: ${(err as Error).message}`, err);
    }
  }

  async #write(config: DockerConfigFile): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await atomicWrite(this.path, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  }
}

/** Credentials held in memory (tests, the API's X-Registry-Auth header). */
export class StaticCredentials implements CredentialStore {
  #byHost = new Map<string, Credentials>();

  constructor(entries: Record<string, Credentials> = {}) {
    for (const [server, creds] of Object.entries(entries)) this.#byHost.set(authKeyFor(server), creds);
  }

  async get(host: string): Promise<Credentials | undefined> {
    return this.#byHost.get(authKeyFor(host));
  }
}
