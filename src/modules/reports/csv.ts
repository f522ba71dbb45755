import type { ReportOrganization, ReportRow, RowFilter } from './queries.js';
import type { ReportService } from './service.js';

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

/**
 * The CSV as ~64 KiB chunks, organization after organization, a keyset page of members at a time.
 * Consumers wait for 'drain' between chunks, so a slow reader holds the queries back: memory stays flat.
 */
export async function* csvChunks(reports: ReportService, orgs: AsyncIterable<ReportOrganization> | ReportOrganization[], status: RowFilter): AsyncGenerator<string> {
  yield csvHeader();
  let batch = '';
  for await (const org of orgs) {
    for await (const row of reports.rows(org.id, status)) {
      batch += csvRow(org.name, row);
      if (batch.length >= 64 * 1024) {
        yield batch;
        batch = '';
      }
    }
  }
  if (batch) yield batch;
}
