/**
 * Administrative division codes: 6-digit GB/T 2260 codes (province / city / county-level district),
 * 9-digit township codes (GB/T 10114 style: district + 3 digits) and 12-digit village codes
 * (township + 3 digits), as used by the statistical division code scheme.
 * Pure functions only: no I/O, no global state.
 */

import { PROVINCE_CODES } from './id-number.js'

export type DivisionLevel = 'PROVINCE' | 'CITY' | 'DISTRICT' | 'TOWNSHIP' | 'VILLAGE'

/** Level implied by the code's shape (6 digits: ends 0000 → PROVINCE, ends 00 → CITY, else DISTRICT; 9 → TOWNSHIP; 12 → VILLAGE); returns null for anything else, including non-digits. */
export function divisionLevelOf(code: string): DivisionLevel | null {
  if (typeof code !== 'string' || !/^\d+$/.test(code)) return null
  switch (code.length) {
    case 6:
      if (code.endsWith('0000')) return 'PROVINCE'
      if (code.endsWith('00')) return 'CITY'
      return 'DISTRICT'
    case 9:
      return 'TOWNSHIP'
    case 12:
      return 'VILLAGE'
    default:
      return null
  }
}

/** Code of the enclosing division (district → xxxx00, city → xx0000, township → 6 digits, village → 9 digits); returns null for a province or an unrecognised code. */
export function parentCodeOf(code: string): string | null {
  switch (divisionLevelOf(code)) {
    case 'CITY':
      return `${code.slice(0, 2)}0000`
    case 'DISTRICT':
      return `${code.slice(0, 4)}00`
    case 'TOWNSHIP':
      return code.slice(0, 6)
    case 'VILLAGE':
      return code.slice(0, 9)
    default:
      return null
  }
}

/**
 * Whether the code is structurally valid: known province prefix, and for 9/12-digit codes a
 * non-province parent and non-zero own digits; returns false for unrecognised shapes (no registry lookup is done).
 */
export function isValidDivisionCode(code: string): boolean {
  const level = divisionLevelOf(code)
  if (level === null) return false
  if (!PROVINCE_CODES.has(code.slice(0, 2))) return false
  switch (level) {
    case 'PROVINCE':
      return true
    case 'CITY':
      return true // xx nn 00 with nn != 00 (nn == 00 would be PROVINCE)
    case 'DISTRICT':
      return true
    case 'TOWNSHIP':
      // Townships hang under a district, or directly under a city without districts (e.g. 441900 东莞市).
      return divisionLevelOf(code.slice(0, 6)) !== 'PROVINCE' && code.slice(6) !== '000'
    case 'VILLAGE':
      return isValidDivisionCode(code.slice(0, 9)) && code.slice(9) !== '000'
  }
}

/**
 * Canonical short form of a zero-padded 12-digit statistical code (330106000000 → 330106,
 * 330106001000 → 330106001); returns other input unchanged.
 */
export function normalizeDivisionCode(code: string): string {
  if (typeof code !== 'string' || !/^\d{12}$/.test(code)) return code
  if (code.endsWith('000000')) return code.slice(0, 6)
  if (code.endsWith('000')) return code.slice(0, 9)
  return code
}
