/**
 * Turning a failed plugin into an EngineError people can act on. Plugins print
 * `{code, msg, details}` on stdout and exit non-zero; codes 1–99 are the spec's, 100+ the
 * plugin's own. Parsing is pure so it is tested without running plugins.
 */

import { EngineError } from '../../util/errors.ts';
import type { ErrorKind } from '../../util/errors.ts';
import type { CniErrorBody } from './types.ts';

/** Spec §"Error": well-known codes and their meaning. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'incompatible cni version',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid necessary environment variables',
  5: 'i/o failure',
  6: 'failed to decode content',
  7: 'invalid network config',
  11: 'try again later',
};

function kindOf(code: number): ErrorKind {
  if (code === 2 || code === 4 || code === 6 || code === 7) return 'invalid-argument';
  if (code === 3) return 'not-found';
  if (code === 11) return 'unavailable';
  return 'internal';
}

export class CniError extends EngineError {
  readonly code: number;
  readonly plugin: string;
  readonly details: string;
  constructor(kind: ErrorKind, message: string, code: number, plugin: string, details: string) {
    super(kind, message);
    this.name = 'CniError';
    this.code = code;
    this.plugin = plugin;
    this.details = details;
  }
}

function parseBody(stdout: string): CniErrorBody | undefined {
  try {
    const body: unknown = JSON.parse(stdout);
    if (typeof body === 'object' && body !== null && 'code' in body && typeof body.code === 'number' && 'msg' in body && typeof body.msg === 'string') {
      return body as CniErrorBody;
    }
  } catch {
    // Not JSON: a crashed plugin or a Go panic on stderr.
  }
  return undefined;
}

/**
 * `what` names the step ("cni add bridge on network web"); the message reads
 * "cni add bridge on network web: failed to allocate …: details (code 11: try again later)".
 */
export function pluginError(what: string, plugin: string, exitCode: number, stdout: string, stderr: string): CniError {
  const body = parseBody(stdout.trim());
  if (body === undefined) {
    const text = (stderr.trim() || stdout.trim() || `exit status ${exitCode}`).split('\n').slice(0, 3).join('; ');
    return new CniError('internal', `${what}: ${text}`, 0, plugin, stderr.trim());
  }
  const details = body.details?.trim() ?? '';
  const codeName = CODE_NAMES[body.code];
  const suffix = codeName === undefined ? `code ${body.code}` : `code ${body.code}: ${codeName}`;
  const text = details && details !== body.msg ? `${body.msg}: ${details}` : body.msg;
  return new CniError(kindOf(body.code), `${what}: ${text} (${suffix})`, body.code, plugin, details);
}
