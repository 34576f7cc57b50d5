import { describe, it, expect } from 'vitest'
import { comparePeriods, formatPeriod, parsePeriod, periodContains } from '../../src/reconciliation/rules/period.js'

describe('parsePeriod', () => {
  it('parses a year', () => {
    expect(parsePeriod('2024')).toEqual({
      kind: 'YEAR',
      year: 2024,
      index: 1,
      start: '2024-01-01',
      end: '2024-12-31',
    })
  })
  it('parses quarters', () => {
    expect(parsePeriod('2024Q2')).toEqual({
      kind: 'QUARTER',
      year: 2024,
      index: 2,
      start: '2024-04-01',
      end: '2024-06-30',
    })
    expect(parsePeriod('2023Q1')?.end).toBe('2023-03-31')
    expect(parsePeriod('2023Q4')?.start).toBe('2023-10-01')
  })
  it('parses months, with leap years', () => {
    expect(parsePeriod('2024-05')).toEqual({
      kind: 'MONTH',
      year: 2024,
      index: 5,
      start: '2024-05-01',
      end: '2024-05-31',
    })
    expect(parsePeriod('2024-02')?.end).toBe('2024-02-29')
    expect(parsePeriod('2023-02')?.end).toBe('2023-02-28')
    expect(parsePeriod('1900-02')?.end).toBe('1900-02-28')
    expect(parsePeriod('2000-02')?.end).toBe('2000-02-29')
  })
  it.each([
    '2024Q5',
    '2024Q0',
    '2024-13',
    '2024-00',
    '2024-5',
    '24',
    '02024',
    '2024q2',
    '2024-Q2',
    ' 2024',
    '',
    '0999',
  ])('rejects %j', (s) => {
    expect(parsePeriod(s)).toBeNull()
  })
  it('round-trips with formatPeriod', () => {
    for (const s of ['2024', '2024Q3', '2024-11']) expect(formatPeriod(parsePeriod(s)!)).toBe(s)
  })
})

describe('comparePeriods', () => {
  it('orders chronologically, finer periods first when starting together', () => {
    const sorted = ['2024', '2023-12', '2024Q2', '2024-01', '2023', '2024Q1', '2024-04'].sort(comparePeriods)
    expect(sorted).toEqual(['2023', '2023-12', '2024-01', '2024Q1', '2024', '2024-04', '2024Q2'])
  })
  it('returns 0 for equal periods and accepts parsed periods', () => {
    expect(comparePeriods('2024Q1', parsePeriod('2024Q1')!)).toBe(0)
  })
  it('throws on invalid input', () => {
    expect(() => comparePeriods('2024Q5', '2024')).toThrow(RangeError)
  })
})

describe('periodContains', () => {
  it('checks containment', () => {
    expect(periodContains('2024Q2', '2024-05')).toBe(true)
    expect(periodContains('2024', '2024Q4')).toBe(true)
    expect(periodContains('2024Q2', '2024-07')).toBe(false)
    expect(periodContains('2024Q2', 'bad')).toBe(false)
  })
})
