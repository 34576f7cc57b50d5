import { describe, expect, it } from 'vitest'
import { csvField, neutralizeFormula } from '../../src/statistics/csv.js'
import { disclosedCount } from '../../src/statistics/disclosure.js'

describe('disclosedCount (threshold 10)', () => {
  it('suppresses 1–9 to 0 and rounds the rest to the nearest multiple of 10, never below 10', () => {
    expect([0, 1, 5, 9].map((n) => disclosedCount(n, 10))).toEqual([0, 0, 0, 0])
    expect([10, 14, 15, 24, 1000, 1001, 1004, 1005].map((n) => disclosedCount(n, 10))).toEqual([
      10, 10, 20, 20, 1000, 1000, 1000, 1010,
    ])
  })
  it('a threshold of 1 publishes exact counts', () => {
    expect([0, 1, 7].map((n) => disclosedCount(n, 1))).toEqual([0, 1, 7])
  })
})

describe('neutralizeFormula / csvField', () => {
  it('prefixes formula-looking text, leaves numbers and plain text', () => {
    expect(['=1+1', '+cmd', '-x', '@SUM(A1)', '\tx', '\rx'].map(neutralizeFormula)).toEqual([
      "'=1+1",
      "'+cmd",
      "'-x",
      "'@SUM(A1)",
      "'\tx",
      "'\rx",
    ])
    expect(['-3.5', '-1e3', '-.5', 'GDP', '人口', ''].map(neutralizeFormula)).toEqual([
      '-3.5',
      '-1e3',
      '-.5',
      'GDP',
      '人口',
      '',
    ])
  })
  it('quotes after neutralising', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`)
    expect(csvField(-2)).toBe('-2')
  })
})
