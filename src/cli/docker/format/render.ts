/**
 * One row per item through a user's `--format`: plain templates print a line per item; a
 * `table` template gets a header row (docker's column names for the fields used) and is aligned.
 */

import { parseTemplate } from './template.ts';
import { alignTabbed } from './table.ts';

export function renderFormatted(format: string, items: readonly unknown[], headers: Record<string, string>): string {
  const template = parseTemplate(format);
  const lines = items.map((item) => template.render(item));
  if (!template.table) return lines.map((l) => `${l}\n`).join('');
  const header = parseTemplate(format.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_m, field: string) => headers[field] ?? field.toUpperCase()));
  return alignTabbed([header.render({}), ...lines]);
}
