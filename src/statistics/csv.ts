// A spreadsheet opening a CSV runs a cell that starts with =, +, -, @ (and, in some programs, a
// tab or CR) as a formula: an indicator name like `=HYPERLINK("http://…")` sent by a department
// would run on every analyst's machine (CWE-1236). Such text cells get a leading apostrophe, which
// spreadsheets show as text and never evaluate (OWASP "CSV Injection"). Plain numbers, negative
// ones included, stay numbers.
const FORMULA_START = /^[=+\-@\t\r]/
const PLAIN_NUMBER = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** Text safe to open in a spreadsheet: a formula-looking value gets a leading apostrophe; numbers are unchanged. */
export function neutralizeFormula(s: string): string {
  return FORMULA_START.test(s) && !PLAIN_NUMBER.test(s) ? `'${s}` : s
}

/** One CSV field per RFC 4180: quoted (with doubled quotes) when it holds a comma, quote, CR or LF; formulas neutralised. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return ''
  const s = value instanceof Date ? value.toISOString() : neutralizeFormula(String(value))
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** Rows as RFC 4180 text: CRLF after every record, including the last. */
export function toCsv(rows: unknown[][]): string {
  return rows.map((r) => `${r.map(csvField).join(',')}\r\n`).join('')
}

/** The UTF-8 byte-order mark, which spreadsheet programs need to read UTF-8 CSV as UTF-8. */
export const UTF8_BOM = '\uFEFF'
