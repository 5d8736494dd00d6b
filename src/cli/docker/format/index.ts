/**
 * Public surface of cli/docker/format: docker's `--format` templates, table alignment, and
 * human-readable sizes and ages.
 */

export { goString, parseTemplate } from './template.ts';
export type { Template } from './template.ts';
export { alignTable, alignTabbed } from './table.ts';
export { ago, humanDuration, humanSize } from './units.ts';
export { renderFormatted } from './render.ts';
