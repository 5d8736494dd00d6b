/**
 * Human sizes as docker and runc accept them: `512m`, `1g`, `100k`, plain bytes (powers of 1024).
 */

import { invalidArgument } from '../../util/errors.ts';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  if (!m) throw invalidArgument(`invalid size: ${JSON.stringify(text)}`);
  return Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}
