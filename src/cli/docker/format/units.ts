/**
 * Sizes and ages the way the docker CLI prints them (go-units): decimal units with three
 * significant digits (`4.26MB`, `187MB`), ages as "2 weeks ago", "About an hour ago".
 */

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

/** go-units HumanDuration: how long ago, in words. */
export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** "3 weeks ago" for a time in seconds since the epoch, as `docker images` prints CREATED. */
export function ago(epochSeconds: number, now: number = Date.now()): string {
  if (epochSeconds <= 0) return 'N/A';
  return `${humanDuration(Math.max(0, now - epochSeconds * 1000))} ago`;
}
