/**
 * The two pattern languages of a build: COPY/ADD sources (Go's filepath.Match: `*`, `?`, `[…]`,
 * never across `/`) and .dockerignore lines (the same, plus `**` for any number of directories,
 * `!` to re-include, a pattern that matches a directory excluding everything below it; the last
 * matching line wins). Paths are relative to the context root, `/`-separated, without `./`.
 */

import { posix } from 'node:path';
import { invalidArgument } from './errors.ts';

function escapeRegExp(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}

/** A glob → an anchored RegExp; `doublestar` lets `**` cross directories. */
export function globRegExp(pattern: string, doublestar = false): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (doublestar && pattern[i + 1] === '*') {
        i++;
        // `**/` also matches no directory at all
        if (pattern[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else out += '.*';
      } else out += '[^/]*';
    } else if (ch === '?') {
      out += '[^/]';
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw invalidArgument(`syntax error in pattern ${JSON.stringify(pattern)}`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      out += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (ch === '\\' && i + 1 < pattern.length) {
      out += escapeRegExp(pattern[++i]!);
    } else {
      out += escapeRegExp(ch);
    }
  }
  return new RegExp(`^${out}$`);
}

/** Go's filepath.Match for one relative path. */
export function matchGlob(pattern: string, path: string): boolean {
  return globRegExp(pattern).test(path);
}

export function hasGlob(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

interface IgnoreRule {
  regexp: RegExp;
  exclusion: boolean;
}

/** A compiled .dockerignore. */
export class IgnoreMatcher {
  readonly #rules: IgnoreRule[];

  constructor(text: string) {
    this.#rules = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const exclusion = line.startsWith('!');
      if (exclusion) line = line.slice(1).trim();
      line = posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
      if (line === '' || line === '.') continue;
      this.#rules.push({ regexp: globRegExp(line, true), exclusion });
    }
  }

  get empty(): boolean {
    return this.#rules.length === 0;
  }

  /** Whether some rule re-includes paths (then an excluded directory must still be walked). */
  get hasExclusions(): boolean {
    return this.#rules.some((r) => r.exclusion);
  }

  /** Whether `path` (relative, `/`-separated) is left out of the context. */
  ignores(path: string): boolean {
    const parents: string[] = [];
    for (let at = path.indexOf('/'); at !== -1; at = path.indexOf('/', at + 1)) parents.push(path.slice(0, at));
    let ignored = false;
    for (const rule of this.#rules) {
      const hit = rule.regexp.test(path) || parents.some((p) => rule.regexp.test(p));
      if (hit) ignored = !rule.exclusion;
    }
    return ignored;
  }
}
