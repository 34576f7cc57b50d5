/**
 * Statistics reporting periods as strings: year `2024`, quarter `2024Q2`, month `2024-05`.
 * Pure functions only: no I/O, no global state.
 */

export type PeriodKind = 'YEAR' | 'QUARTER' | 'MONTH'

export interface Period {
  kind: PeriodKind
  year: number
  /** 1 for a year, 1-4 for a quarter, 1-12 for a month. */
  index: number
  /** First day, inclusive, YYYY-MM-DD. */
  start: string
  /** Last day, inclusive, YYYY-MM-DD. */
  end: string
}

const pad2 = (n: number) => String(n).padStart(2, '0')

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one; UTC avoids time-zone effects.
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

function build(kind: PeriodKind, year: number, index: number, firstMonth: number, lastMonth: number): Period {
  const y = String(year).padStart(4, '0')
  return {
    kind,
    year,
    index,
    start: `${y}-${pad2(firstMonth)}-01`,
    end: `${y}-${pad2(lastMonth)}-${pad2(daysInMonth(year, lastMonth))}`,
  }
}

/** Parses `YYYY`, `YYYYQn` (n 1-4) or `YYYY-MM` (years 1000-9999); returns null for anything else (e.g. '2024Q5', '2024-13', '24', '2024q2'). */
export function parsePeriod(s: string): Period | null {
  if (typeof s !== 'string') return null
  const m = /^([1-9]\d{3})(?:Q([1-4])|-(0[1-9]|1[0-2]))?$/.exec(s)
  if (!m) return null
  const year = Number(m[1])
  if (m[2] !== undefined) {
    const q = Number(m[2])
    return build('QUARTER', year, q, q * 3 - 2, q * 3)
  }
  if (m[3] !== undefined) {
    const month = Number(m[3])
    return build('MONTH', year, month, month, month)
  }
  return build('YEAR', year, 1, 1, 12)
}

/** Canonical string of a period (inverse of parsePeriod); returns e.g. '2024', '2024Q2', '2024-05'. */
export function formatPeriod(p: Pick<Period, 'kind' | 'year' | 'index'>): string {
  const y = String(p.year).padStart(4, '0')
  if (p.kind === 'YEAR') return y
  if (p.kind === 'QUARTER') return `${y}Q${p.index}`
  return `${y}-${pad2(p.index)}`
}

function toPeriod(p: string | Period): Period {
  if (typeof p !== 'string') return p
  const parsed = parsePeriod(p)
  if (!parsed) throw new RangeError(`invalid period: ${JSON.stringify(p)}`)
  return parsed
}

/**
 * Sort comparator: by start date, then by end date (so 2024-01 < 2024Q1 < 2024); returns 0 only for the same span
 * and throws RangeError if a string argument is not a valid period.
 */
export function comparePeriods(a: string | Period, b: string | Period): number {
  const pa = toPeriod(a)
  const pb = toPeriod(b)
  if (pa.start !== pb.start) return pa.start < pb.start ? -1 : 1
  if (pa.end !== pb.end) return pa.end < pb.end ? -1 : 1
  return 0
}

/** Whether `inner` lies entirely within `outer` (e.g. 2024-05 within 2024Q2); returns false if either string is invalid. */
export function periodContains(outer: string | Period, inner: string | Period): boolean {
  const po = typeof outer === 'string' ? parsePeriod(outer) : outer
  const pi = typeof inner === 'string' ? parsePeriod(inner) : inner
  if (!po || !pi) return false
  return po.start <= pi.start && pi.end <= po.end
}
