/**
 * Sizes and ages the way the docker CLI prints them (go-units): decimal units with three
 * significant digits (`4.26MB`, `187MB`), ages as "2 weeks ago", "About an hour ago".
 */

import { humanDuration } from '../../../util/human-duration.ts';

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** go-units HumanSizeWithPrecision(size, precision): 3 for image lists, 4 (HumanSize) for `system df`. */
export function humanSize(bytes: number, precision = 3): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < SIZE_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${formatG(size, precision)}${SIZE_UNITS[unit]}`;
}

/** Go's %.Ng: N significant digits, trailing zeros dropped. */
function formatG(value: number, digits: number): string {
  if (value === 0) return '0';
  const text = value.toPrecision(digits);
  if (text.includes('e')) return String(Number(text));
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

export { humanDuration };

/** "3 weeks ago" for a time in seconds since the epoch, as `docker images` prints CREATED. */
export function ago(epochSeconds: number, now: number = Date.now()): string {
  if (epochSeconds <= 0) return 'N/A';
  return `${humanDuration(Math.max(0, now - epochSeconds * 1000))} ago`;
}
