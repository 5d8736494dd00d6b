/**
 * Column-aligned text tables as runc and docker print them: every column as wide as its widest
 * cell, then a gap.
 */

export function table(rows: string[][], gap = 3): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + gap))).join('') + '\n').join('');
}
