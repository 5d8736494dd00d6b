/**
 * `docker images --filter` semantics as pure functions: reference globs with Go's path.Match
 * rules (`*` and `?` stop at `/`), labels as `key` or `key=value`.
 */

import { invalidArgument } from '../../util/errors.ts';
import type { ListFilters } from './types.ts';

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
      default:
        throw invalidArgument(`invalid filter '${key}'`);
    }
  }
  return filters;
}
