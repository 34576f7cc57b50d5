import { describe, expect, it } from 'vitest'
import {
  ageInDays,
  bulkSummary,
  conflictFilterOf,
  contributions,
  decisionForKey,
  decisionsFor,
  diffParts,
  errorKey,
  formatValue,
  inboxOf,
  initialLang,
  moveSelection,
} from '../../console/src/view.js'
import { personMatchBreakdown, personMatchScore } from '../../src/reconciliation/rules/match.js'

// The console's view logic (console/src/view.ts) without a browser.

describe('conflictFilterOf', () => {
  it('asks for OPEN conflicts, leaves out empty choices and turns an age into openedBefore', () => {
    const now = new Date('2026-12-02T12:00:00Z')
    expect(conflictFilterOf({}, now)).toEqual({ status: 'OPEN' })
    expect(
      conflictFilterOf(
        { kind: 'VALUE_MISMATCH', field: '', district: '330106', authority: 'PSB', olderThanDays: 7 },
        now,
      ),
    ).toEqual({
      status: 'OPEN',
      kind: 'VALUE_MISMATCH',
      district: '330106',
      authority: 'PSB',
      openedBefore: '2026-11-25T12:00:00.000Z',
    })
    expect(conflictFilterOf({ olderThanDays: 0 }, now)).toEqual({ status: 'OPEN' })
  })

  it("pins a department app's queue to its own inbox; stewards see every department", () => {
    const app = { roles: ['DEPARTMENT_APP'], department: { code: 'HEALTH' } }
    expect(inboxOf(app)).toBe('HEALTH')
    expect(inboxOf({ roles: ['STEWARD'], department: null })).toBeNull()
    expect(inboxOf({ roles: ['DEPARTMENT_APP', 'STEWARD'], department: { code: 'CAB' } })).toBeNull()
    expect(conflictFilterOf({ department: 'PSB' }, new Date(), inboxOf(app))).toEqual({
      status: 'OPEN',
      department: 'HEALTH',
    })
  })
})

describe('diffParts', () => {
  it('marks only the characters that differ from the authoritative value', () => {
    expect(diffParts('1979-05-20', '1979-05-21')).toEqual([
      { text: '1979-05-2', changed: false },
      { text: '1', changed: true },
    ])
    expect(diffParts('西湖区文三路1号', '西湖区文二路1号')).toEqual([
      { text: '西湖区文', changed: false },
      { text: '二', changed: true },
      { text: '路1号', changed: false },
    ])
    expect(diffParts('same', 'same')).toEqual([{ text: 'same', changed: false }])
  })

  it('still shows a difference when the value only lacks characters', () => {
    const parts = diffParts('FEMALE', 'MALE')
    expect(parts.map((p) => p.text).join('')).toBe('MALE')
    expect(parts.some((p) => p.changed)).toBe(true)
  })
})

describe('keyboard', () => {
  it('j/k move the selection within the list', () => {
    expect(moveSelection('j', 0, 3)).toBe(1)
    expect(moveSelection('j', 2, 3)).toBe(2)
    expect(moveSelection('k', 0, 3)).toBe(0)
    expect(moveSelection('ArrowUp', 2, 3)).toBe(1)
    expect(moveSelection('x', 1, 3)).toBeNull()
    expect(moveSelection('j', 0, 0)).toBeNull()
  })

  it('a/k/s decide a mismatch, m/n a duplicate, and only decisions that fit the kind', () => {
    expect(decisionForKey('a', 'VALUE_MISMATCH')).toBe('ACCEPT_CANDIDATE')
    expect(decisionForKey('k', 'ERROR_REPORT')).toBe('KEEP_AUTHORITATIVE')
    expect(decisionForKey('s', 'VALUE_MISMATCH')).toBe('SET_VALUE')
    expect(decisionForKey('m', 'VALUE_MISMATCH')).toBeNull()
    expect(decisionForKey('m', 'POSSIBLE_DUPLICATE')).toBe('MERGE')
    expect(decisionForKey('a', 'POSSIBLE_DUPLICATE')).toBeNull()
    expect(decisionsFor('POSSIBLE_DUPLICATE')).toEqual(['MERGE', 'NOT_DUPLICATE'])
  })
})

describe('formatting', () => {
  it('shows values as a steward reads them', () => {
    expect(formatValue(null)).toBe('—')
    expect(formatValue('')).toBe('—')
    expect(formatValue(12)).toBe('12')
    expect(formatValue({ type: 'Point', coordinates: [120.1, 30.2] })).toBe('Point(120.100000, 30.200000)')
    expect(formatValue({ type: 'Polygon', coordinates: [] })).toBe('Polygon')
    expect(formatValue({ a: 1 })).toBe('{"a":1}')
  })

  it('counts age in whole days', () => {
    const now = new Date('2026-12-02T12:00:00Z')
    expect(ageInDays('2026-12-02T01:00:00Z', now)).toBe(0)
    expect(ageInDays('2026-11-29T11:00:00Z', now)).toBe(3)
    expect(ageInDays('2027-01-01T00:00:00Z', now)).toBe(0)
  })

  it('starts in Chinese unless English was chosen', () => {
    expect(initialLang(null)).toBe('zh')
    expect(initialLang('en')).toBe('en')
    expect(initialLang('fr')).toBe('zh')
  })
})

describe('errors in steward words', () => {
  it('maps service codes and a lost network to message keys', () => {
    expect(errorKey({ network: true })).toBe('err.network')
    expect(errorKey({ message: '', extensions: { code: 'UNAUTHENTICATED' } })).toBe('err.unauthenticated')
    expect(errorKey({ message: '', extensions: { code: 'BAD_USER_INPUT', reason: 'ALREADY_RESOLVED' } })).toBe(
      'err.alreadyResolved',
    )
    expect(
      errorKey({ message: '', extensions: { code: 'BAD_USER_INPUT', reason: 'MISSING_FIELD', field: 'reason' } }),
    ).toBe('err.reasonRequired')
    expect(errorKey({ message: '', extensions: { code: 'FORBIDDEN' } })).toBe('err.forbidden')
    expect(errorKey({ message: '', extensions: { code: 'INTERNAL_SERVER_ERROR' } })).toBe('err.internal')
  })

  it('sums up a bulk decision', () => {
    expect(
      bulkSummary([
        { errorCode: null },
        { errorCode: 'ALREADY_RESOLVED' },
        { errorCode: 'NOT_FOUND' },
        { errorCode: null },
      ]),
    ).toEqual({
      done: 2,
      already: 1,
      failed: 1,
    })
  })
})

describe('match breakdown', () => {
  const a = { name: '王小明', birthDate: '1980-01-02', gender: 'MALE', address: '西湖区文三路1号' }
  const b = { name: '王晓明', birthDate: '1980-01-20', gender: 'MALE', address: null }

  it('personMatchScore is the weighted sum of the breakdown over the counted fields', () => {
    const parts = personMatchBreakdown(a, b)
    expect(parts.map((p) => [p.field, p.counted])).toEqual([
      ['name', true],
      ['birthDate', true],
      ['gender', true],
      ['address', false],
    ])
    expect(parts[1].agreement).toBe(0.4) // same month, other day
    const shares = contributions(parts)
    const sum = shares.reduce((s, p) => s + p.share, 0)
    expect(Math.abs(sum - personMatchScore(a, b))).toBeLessThan(0.002)
    expect(shares[3]).toEqual({ field: 'address', counted: false, share: 0 })
  })

  it('gender UNKNOWN does not count', () => {
    expect(personMatchBreakdown({ ...a, gender: 'UNKNOWN' }, b)[2].counted).toBe(false)
  })
})
