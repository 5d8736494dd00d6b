/**
 * One place turns an error's class into an HTTP status (moby's httpstatus): handlers throw
 * EngineErrors and never pick codes themselves. Anything unclassified is a 500.
 */

import { EngineError, type ErrorKind } from '../util/errors.ts';

const STATUS: Readonly<Record<ErrorKind, number>> = {
  'not-found': 404,
  'invalid-argument': 400,
  conflict: 409,
  'already-exists': 409,
  // containerd's FailedPrecondition is a bad request in moby's mapping of gRPC codes
  'failed-precondition': 400,
  forbidden: 403,
  'not-implemented': 501,
  unavailable: 503,
  internal: 500,
};

export function httpStatus(err: unknown): number {
  return err instanceof EngineError ? STATUS[err.kind] : 500;
}

/** Docker's error body: `{"message": "..."}`; the CLI prints it after "Error response from daemon: ". */
export function errorBody(err: unknown): { message: string } {
  return { message: err instanceof Error ? err.message : String(err) };
}
