/**
 * Go's durations, both ways: time.ParseDuration for docker's duration flags and Dockerfile
 * options (`--health-interval 1m30s`), and time.Duration.String() for messages that quote one
 * as moby prints it (`30s`, `1m30s`, `1h0m0s`, `500ms`). Errors are Go's, which docker prints
 * after `invalid argument "…" for "--flag" flag: `.
 */

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Nanoseconds. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`time: invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    if (number[0] === '' || number[0] === '.') throw new Error(`time: invalid duration ${quoted}`);
    rest = rest.slice(number[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    rest = rest.slice(unit.length);
    total += Number(`${number[1] || '0'}.${number[2] || '0'}`) * scale;
  }
  return sign * Math.round(total);
}

function fraction(value: number, unitNs: number): string {
  // integer arithmetic: a float division would print 0.30000000000000004
  const whole = Math.trunc(value / unitNs);
  let rest = String(value % unitNs).padStart(String(unitNs).length - 1, '0').replace(/0+$/, '');
  if (rest !== '') rest = `.${rest}`;
  return `${whole}${rest}`;
}

/** Go's time.Duration.String() of a number of nanoseconds. */
export function humanGoDuration(ns: number): string {
  const sign = ns < 0 ? '-' : '';
  const n = Math.abs(Math.trunc(ns));
  if (n === 0) return '0s';
  if (n < 1_000) return `${sign}${n}ns`;
  if (n < 1_000_000) return `${sign}${fraction(n, 1_000)}µs`;
  if (n < 1_000_000_000) return `${sign}${fraction(n, 1_000_000)}ms`;
  const hours = Math.floor(n / 3_600_000_000_000);
  const minutes = Math.floor((n % 3_600_000_000_000) / 60_000_000_000);
  const seconds = fraction(n % 60_000_000_000, 1_000_000_000);
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}
