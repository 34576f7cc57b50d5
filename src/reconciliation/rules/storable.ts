/**
 * What PostgreSQL can store, checked before any SQL: text and jsonb refuse the NUL character
 * (U+0000) and UTF-16 halves without their pair (lone surrogates); dates and timestamps have years
 * 1..9999 here; JSON numbers must be finite. One check for every caller-supplied string (record
 * values, keys, filters, URL parameters), so a bad value is a coded refusal, never an SQL error.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Why a string cannot be stored as text, or null when it can. */
export function textProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'contains the NUL character (U+0000)'
  if (LONE_SURROGATE.test(s)) return 'contains an unpaired UTF-16 surrogate (not valid Unicode)'
  return null
}

/** The string with NUL and lone surrogates replaced by U+FFFD and cut to `max` characters: safe to store and print. */
export function printable(s: string, max = 200): string {
  const clean = s.replaceAll('\u0000', '\uFFFD').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD')
  return clean.length > max ? `${clean.slice(0, max)}…` : clean
}

/** A JSON value made storable (strings and keys through printable, non-finite numbers → null), for quarantine rows. */
export function storableJson(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return printable(value, 100_000)
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (value === null || typeof value !== 'object' || depth > 64) return typeof value === 'object' ? null : value
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value
  if (Array.isArray(value)) return value.map((v) => storableJson(v, depth + 1))
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [printable(k, 1000), storableJson(v, depth + 1)]))
}

/** Maximum nesting of a submitted value (a GeoJSON MultiPolygon needs 5). */
export const MAX_JSON_DEPTH = 12

/**
 * The first problem of a caller-supplied value anywhere inside it (strings, object keys, numbers,
 * nesting), as [path, reason], or null when every part can be stored.
 */
export function valueProblem(value: unknown, path = '', depth = 0): [string, string] | null {
  if (typeof value === 'string') {
    const p = textProblem(value)
    return p ? [path, p] : null
  }
  if (typeof value === 'number') return Number.isFinite(value) ? null : [path, 'is not a finite number']
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) || !yearInRange(value) ? [path, 'is not a date-time in years 1..9999'] : null
  if (value === null || typeof value !== 'object') return null
  if (depth >= MAX_JSON_DEPTH) return [path, `is nested more than ${MAX_JSON_DEPTH} levels deep`]
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
  for (const [k, v] of entries) {
    const p = textProblem(k)
    if (p) return [path, `has a key that ${p}`]
    const inner = valueProblem(v, path ? `${path}.${k}` : k, depth + 1)
    if (inner) return inner
  }
  return null
}

/** True when a date's UTC year is 1..9999 (what PostgreSQL dates and the ISO format both hold). */
export function yearInRange(d: Date): boolean {
  const y = d.getUTCFullYear()
  return y >= 1 && y <= 9999
}

/** A plain decimal number as text ("12", "-3.5", "1e6"); rejects hex, octal, binary, "Infinity" and blanks. */
export const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/
