/**
 * Column alignment as docker's CLI does it (Go tabwriter, minwidth 10, padding 3): every cell
 * of a column but the last is padded to the widest cell plus three spaces, at least ten wide.
 */

export function alignTable(rows: readonly (readonly string[])[], minWidth = 10): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i < row.length - 1 ? cell.padEnd(Math.max((widths[i] ?? 0) + 3, minWidth) - ([...cell].length - cell.length)) : cell))
        .join(''),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** Aligns tab-separated template output (the `table` format) the same way. */
export function alignTabbed(lines: readonly string[]): string {
  return alignTable(lines.map((line) => line.split('\t')));
}
