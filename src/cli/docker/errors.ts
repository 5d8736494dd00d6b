/**
 * How failures reach the user: docker's wording (`Error: No such image: foo`) and exit codes
 * (125 when the command line itself is wrong, 1 when the operation failed).
 */

import { UsageError } from './args.ts';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 125;

/** An operation failed with a message meant for the user as is. */
export class CommandFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailed';
  }
}

/** Engine messages are lowercase by convention; docker capitalises a few the user sees often. */
const CAPITALISED = [/^no such image: /, /^cowardly refusing/];

export function describeError(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (const re of CAPITALISED) if (re.test(message)) message = message[0]!.toUpperCase() + message.slice(1);
  return `Error: ${message}`;
}

export function exitCodeOf(err: unknown): number {
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}
