/**
 * Go's time.Duration.String(), for messages that quote a duration as moby prints it:
 * `30s`, `1m30s`, `1h0m0s`, `500ms`, `1.5µs`, `0s`.
 */

function fraction(value: number, unitNs: number): string {
  // integer arithmetic: a float division would print 0.30000000000000004
  const whole = Math.trunc(value / unitNs);
  let rest = String(value % unitNs).padStart(String(unitNs).length - 1, '0').replace(/0+$/, '');
  if (rest !== '') rest = `.${rest}`;
  return `${whole}${rest}`;
}

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
