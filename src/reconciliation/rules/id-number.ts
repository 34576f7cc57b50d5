/**
 * GB 11643-1999 citizen identity number (公民身份号码) rules.
 *
 * Layout (18 characters): 6-digit address code (GB/T 2260 region of first registration),
 * 8-digit birth date YYYYMMDD, 3-digit sequence code (odd = male, even = female),
 * 1 check character computed with ISO 7064 MOD 11-2 (0-9 or X).
 * Pure functions only: no I/O, no global state.
 */

export type Gender = 'MALE' | 'FEMALE'

export type IdNumberResult =
  | { ok: true; birthDate: string; gender: Gender; regionCode: string }
  | { ok: false; message: string }

export interface IdNumberOptions {
  /** "Today" used for the not-in-the-future check; the calendar date is taken in China Standard Time (UTC+8). Defaults to the current time. */
  today?: Date
}

/** Two-digit province-level codes (GB/T 2260) accepted as the first two digits of an identity number. */
export const PROVINCE_CODES: ReadonlySet<string> = new Set([
  '11',
  '12',
  '13',
  '14',
  '15',
  '21',
  '22',
  '23',
  '31',
  '32',
  '33',
  '34',
  '35',
  '36',
  '37',
  '41',
  '42',
  '43',
  '44',
  '45',
  '46',
  '50',
  '51',
  '52',
  '53',
  '54',
  '61',
  '62',
  '63',
  '64',
  '65',
  '71',
  '81',
  '82',
])

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const
const CHECK_CHARS = '10X98765432'
const MIN_BIRTH_DATE = '1900-01-01'
const CST_OFFSET_MS = 8 * 60 * 60 * 1000

/** ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits; returns null if the input is not exactly 17 ASCII digits. */
export function idNumberCheckChar(first17: string): string | null {
  if (!/^\d{17}$/.test(first17)) return null
  let sum = 0
  for (let i = 0; i < 17; i++) sum += (first17.charCodeAt(i) - 48) * WEIGHTS[i]!
  return CHECK_CHARS[sum % 11]!
}

/** Whether y-m-d is a real Gregorian calendar date; returns false for out-of-range months/days (e.g. Feb 30). */
function isCalendarDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!
  return d <= days
}

/** Calendar date (YYYY-MM-DD) of `now` in China Standard Time; never depends on the host time zone. */
function chinaDateOf(now: Date): string {
  return new Date(now.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10)
}

/**
 * Validates a GB 11643-1999 identity number; returns `{ok:false, message}` for any defect
 * (a lower-case trailing x is accepted as X; surrounding whitespace is NOT trimmed).
 */
export function validateIdNumber(
  s: string,
  knownRegionPrefix?: (prefix: string) => boolean,
  options: IdNumberOptions = {},
): IdNumberResult {
  if (typeof s !== 'string') return { ok: false, message: 'identity number must be a string' }
  if (s.length !== 18) return { ok: false, message: `identity number must be 18 characters, got ${s.length}` }
  const id = s.slice(0, 17) + s[17]!.toUpperCase()
  if (!/^\d{17}[\dX]$/.test(id)) {
    return { ok: false, message: 'identity number must be 17 digits followed by a digit or X' }
  }

  const province = id.slice(0, 2)
  if (!PROVINCE_CODES.has(province)) {
    return { ok: false, message: `unknown province code ${province}` }
  }
  const regionCode = id.slice(0, 6)
  if (knownRegionPrefix && !knownRegionPrefix(regionCode)) {
    return { ok: false, message: `unknown region code ${regionCode}` }
  }

  const y = Number(id.slice(6, 10))
  const m = Number(id.slice(10, 12))
  const d = Number(id.slice(12, 14))
  if (!isCalendarDate(y, m, d)) {
    return { ok: false, message: `invalid birth date ${id.slice(6, 14)}` }
  }
  const birthDate = `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`
  if (birthDate < MIN_BIRTH_DATE) {
    return { ok: false, message: `birth date ${birthDate} is before 1900` }
  }
  if (birthDate > chinaDateOf(options.today ?? new Date())) {
    return { ok: false, message: `birth date ${birthDate} is in the future` }
  }

  const expected = idNumberCheckChar(id.slice(0, 17))
  if (expected !== id[17]) {
    return { ok: false, message: `check character mismatch: expected ${expected}, got ${s[17]}` }
  }

  const gender: Gender = (id.charCodeAt(16) - 48) % 2 === 1 ? 'MALE' : 'FEMALE'
  return { ok: true, birthDate, gender, regionCode }
}

/** Identity number with a lower-case trailing x normalised to X; returns the input unchanged if it is not 18 characters. */
export function normalizeIdNumber(s: string): string {
  return s.length === 18 ? s.slice(0, 17) + s[17]!.toUpperCase() : s
}

/**
 * Masks an identity number as first 6 + '********' + last 4 (e.g. 330106********123X);
 * other lengths keep the first 6 and last 4 with one '*' per hidden character, and strings of 10 characters or fewer are masked entirely.
 */
export function maskIdNumber(s: string): string {
  const id = normalizeIdNumber(s)
  if (id.length <= 10) return '*'.repeat(id.length)
  return id.slice(0, 6) + '*'.repeat(id.length - 10) + id.slice(-4)
}
