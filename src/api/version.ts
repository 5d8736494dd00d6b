/**
 * The API versions berthd speaks. The docker CLI v28 negotiates down to whatever the daemon
 * advertises (no lower bound); v29 refuses anything below 1.44, so we advertise a current one.
 */

export const API_VERSION = '1.51';
export const MIN_API_VERSION = '1.24';
export const ENGINE_NAME = 'Berth';
export const ENGINE_VERSION = '0.1.0';

/** `1.41` < `1.9` is false as strings; compare the numbers. */
export function compareApiVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}
