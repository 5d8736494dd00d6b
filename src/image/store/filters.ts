/**
 * `docker images --filter` semantics as pure functions: reference globs with Go's path.Match
 * rules (`*` and `?` stop at `/`), labels as `key` or `key=value`.
 */

import { invalidArgument } from '../../util/errors.ts';
import { parseGoDuration } from '../../util/go-duration.ts';
import type { ListFilters, PruneFilters } from './types.ts';

/** A Go `path.Match` pattern as a RegExp anchored at both ends. */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) out += escape(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw invalidArgument(`invalid filter 'reference=${pattern}': syntax error in pattern`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^')) body = `^${body.slice(1)}`;
      out += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else out += escape(c);
  }
  return new RegExp(`^${out}$`);
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Whether an image shown as `repository` (familiar) with `tag` matches any reference pattern. */
export function matchesReference(patterns: readonly string[], names: readonly { repository: string; tag?: string }[]): boolean {
  const res = patterns.map(globToRegExp);
  return names.some(({ repository, tag }) =>
    res.some((re) => re.test(repository) || (tag !== undefined && re.test(`${repository}:${tag}`))),
  );
}

/** Whether labels satisfy every `key` / `key=value` condition. */
export function matchesLabels(conditions: readonly string[], labels: Record<string, string> | undefined): boolean {
  return conditions.every((condition) => {
    const eq = condition.indexOf('=');
    if (eq === -1) return labels?.[condition] !== undefined;
    return labels?.[condition.slice(0, eq)] === condition.slice(eq + 1);
  });
}

/** moby's `until` (GetTimestamp): seconds since the epoch (fraction allowed), a date, or a Go duration back from now. */
export function untilCutoff(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return date;
  try {
    return now - parseGoDuration(value) / 1e6;
  } catch {
    throw invalidArgument(`failed to parse value as time or duration: "${value}"`);
  }
}

/** moby's matchLabels for prune: every `label` holds, and not every `label!` does. */
export function labelsAllowed(filters: { label?: readonly string[]; labelNot?: readonly string[] }, labels: Record<string, string> | undefined): boolean {
  if (filters.label && !matchesLabels(filters.label, labels)) return false;
  if (filters.labelNot?.length && matchesLabels(filters.labelNot, labels)) return false;
  return true;
}

/** Whether an image created at `created` (ms) with `labels` is one the prune filters let go. */
export function prunableImage(filters: PruneFilters, created: number, labels: Record<string, string> | undefined): boolean {
  if (filters.until !== undefined && created > filters.until) return false;
  return labelsAllowed(filters, labels);
}

/** moby's GetBoolOrDefault: one value, true/1 or false/0 (any case). */
function boolFilter(key: string, values: readonly string[]): boolean {
  const falsy = values.some((v) => v.toLowerCase() === 'false' || v === '0');
  const truthy = values.some((v) => v.toLowerCase() === 'true' || v === '1');
  if (values.length !== 1 || falsy === truthy) throw invalidArgument(`invalid filter '${key}=${values.join(',')}'`);
  return truthy;
}

/** `POST /images/prune`'s filters (dangling, until, label, label!), checked as moby checks them. */
export function parsePruneFilters(filters: Record<string, readonly string[]>, now = Date.now()): PruneFilters {
  const out: PruneFilters = {};
  for (const [key, values] of Object.entries(filters)) {
    switch (key) {
      case 'dangling':
        out.all = !boolFilter(key, values);
        break;
      case 'until':
        if (values.length > 1) throw invalidArgument('more than one until filter specified');
        if (values[0] !== undefined) out.until = untilCutoff(values[0], now);
        break;
      case 'label':
        out.label = [...values];
        break;
      case 'label!':
        out.labelNot = [...values];
        break;
      default:
        throw invalidArgument(`invalid filter '${key}'`);
    }
  }
  return out;
}

/** Parses docker's repeated `--filter key=value` arguments. */
export function parseListFilters(args: readonly string[]): ListFilters {
  const filters: ListFilters = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq === -1) throw invalidArgument(`bad format of filter (expected name=value)`);
    const key = arg.slice(0, eq).trim().toLowerCase();
    const value = arg.slice(eq + 1);
    switch (key) {
      case 'dangling':
        if (!['true', 'false', '1', '0'].includes(value.toLowerCase())) throw invalidArgument(`invalid filter 'dangling=${value}'`);
        filters.dangling = value === 'true' || value === '1';
        break;
      case 'reference':
        (filters.reference ??= []).push(value);
        break;
      case 'before':
        filters.before = value;
        break;
      case 'since':
        filters.since = value;
        break;
      case 'label':
        (filters.label ??= []).push(value);
        break;
      case 'label!':
        (filters.labelNot ??= []).push(value);
        break;
      case 'until':
        filters.until = untilCutoff(value);
        break;
      default:
        throw invalidArgument(`invalid filter '${key}'`);
    }
  }
  return filters;
}
