/**
 * Container names: Docker's validation rule and wording, and generated `adjective_noun` names
 * for containers created without one (our own word lists).
 */

import { randomInt } from 'node:crypto';
import { invalidArgument } from '../util/errors.ts';

const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const ADJECTIVES = [
  'agile', 'amber', 'brave', 'brisk', 'calm', 'clever', 'cosmic', 'crisp', 'daring', 'eager',
  'fearless', 'gentle', 'hardy', 'humble', 'jolly', 'keen', 'lively', 'lucid', 'mellow', 'merry',
  'nimble', 'noble', 'patient', 'plucky', 'quiet', 'rapid', 'serene', 'sharp', 'steady', 'sturdy',
  'swift', 'tidy', 'vivid', 'warm', 'wise', 'zesty',
];

const NOUNS = [
  'anchor', 'barge', 'beacon', 'buoy', 'cabin', 'capstan', 'compass', 'cove', 'current', 'dinghy',
  'dock', 'ferry', 'galley', 'harbor', 'hull', 'jetty', 'keel', 'lagoon', 'lantern', 'mast',
  'mooring', 'oar', 'pier', 'pilot', 'quay', 'reef', 'rudder', 'sail', 'schooner', 'sextant',
  'skiff', 'tide', 'tugboat', 'wharf', 'windlass', 'yawl',
];

/** `x` or `/x` → `/x`, after Docker's validity check. */
export function normalizeName(name: string): string {
  if (!VALID_NAME.test(name)) throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.startsWith('/') ? name : `/${name}`;
}

/** A fresh `/adjective_noun`, with a digit suffix once retries run into taken names. */
export function generateName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const base = `/${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
    const name = attempt < 10 ? base : `${base}${randomInt(10)}`;
    if (!taken(name)) return name;
  }
}
