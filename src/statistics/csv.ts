/** One CSV field per RFC 4180: quoted (with doubled quotes) when it holds a comma, quote, CR or LF. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const s = value instanceof Date ? value.toISOString() : String(value)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** Rows as RFC 4180 text: CRLF after every record, including the last. */
export function toCsv(rows: unknown[][]): string {
  return rows.map((r) => `${r.map(csvField).join(',')}\r\n`).join('')
}

/** The UTF-8 byte-order mark, which spreadsheet programs need to read UTF-8 CSV as UTF-8. */
export const UTF8_BOM = '\uFEFF'
