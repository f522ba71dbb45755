import type { ReportRow } from './queries.js';

export const CSV_COLUMNS = ['organization', 'user_id', 'email', 'name', 'role', 'status', 'reason', 'flagged_at', 'evidence'] as const;

// Cells a spreadsheet would evaluate as a formula (OWASP CSV injection): = + - @, and tab/CR.
const FORMULA_START = /^[=+\-@\t\r]/;

/** One RFC 4180 cell, with formula-looking values neutralised by a leading single quote. */
export function csvCell(value: string | null | undefined): string {
  let v = value ?? '';
  if (FORMULA_START.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export const csvLine = (cells: Array<string | null | undefined>): string => `${cells.map(csvCell).join(',')}\r\n`;

export const csvHeader = (): string => csvLine([...CSV_COLUMNS]);

export function csvRow(organization: string, r: ReportRow): string {
  return csvLine([organization, r.user_id, r.email, r.name, r.role, r.status, r.reason, r.flagged_at, r.evidence ? JSON.stringify(r.evidence) : '']);
}
