/**
 * Error classes shared by every layer. Classified by what the caller can do about them
 * (containerd/moby errdefs), so the API server maps a kind to one HTTP status and the CLIs
 * to an exit code. Messages: lowercase, no trailing period, "verb object: cause".
 */

import { constants } from 'node:os';

export type ErrorKind =
  | 'not-found'
  | 'invalid-argument'
  | 'conflict'
  | 'already-exists'
  | 'failed-precondition'
  | 'unavailable'
  | 'forbidden'
  | 'not-implemented'
  | 'internal';

export class EngineError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.kind = kind;
  }
}

export function notFound(message: string, cause?: unknown): EngineError {
  return new EngineError('not-found', message, { cause });
}

export function invalidArgument(message: string, cause?: unknown): EngineError {
  return new EngineError('invalid-argument', message, { cause });
}

export function conflict(message: string, cause?: unknown): EngineError {
  return new EngineError('conflict', message, { cause });
}

export function failedPrecondition(message: string, cause?: unknown): EngineError {
  return new EngineError('failed-precondition', message, { cause });
}

export function notImplemented(message: string): EngineError {
  return new EngineError('not-implemented', message);
}

/** Symbolic errno name (`EPERM`) for a number, as people read it in runc's messages. */
export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

/** A failed system call or plan step: `mount proc on /proc: EPERM`. */
export class SyscallError extends EngineError {
  readonly step: string;
  readonly errno: number;
  readonly detail: string;
  constructor(step: string, errno: number, detail: string, options?: { cause?: unknown }) {
    const suffix = errno ? `: ${errnoName(errno)}` : '';
    super('internal', `${step}${detail ? ` ${detail}` : ''}${suffix}`, options);
    this.name = 'SyscallError';
    this.step = step;
    this.errno = errno;
    this.detail = detail;
  }
}

/** The errno code string of a Node fs error (`'ENOENT'`), or undefined. */
export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/**
 * A Node file-system error in Go's words, naming what was done to which path (`write
 * /var/lib/berth/containers/ID/config.v2.json: no space left on device`), its errno code kept.
 */
export function fsError(err: unknown, op: string, path: string): unknown {
  const code = errorCode(err);
  if (code === undefined || !(err instanceof Error)) return err;
  const reason = err.message.replace(/^[A-Z0-9]+: /, '').replace(/, \w+( '.*')?$/, '');
  return Object.assign(new Error(`${op} ${path}: ${reason}`, { cause: err }), { code });
}
