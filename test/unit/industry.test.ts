import { describe, it, expect } from 'vitest'
import {
  INDUSTRY_SECTIONS,
  SECTION_DIVISION_RANGES,
  industrySectionOf,
  normalizeIndustryCode,
} from '../../src/reconciliation/rules/industry.js'

describe('industrySectionOf', () => {
  it.each([
    ['0164', 'A'],
    ['05', 'A'],
    ['0610', 'B'],
    ['12', 'B'],
    ['13', 'C'],
    ['C3911', 'C'],
    ['3911', 'C'],
    ['43', 'C'],
    ['4411', 'D'],
    ['46', 'D'],
    ['47', 'E'],
    ['5012', 'E'],
    ['51', 'F'],
    ['F5292', 'F'],
    ['53', 'G'],
    ['6020', 'G'],
    ['6210', 'H'],
    ['62', 'H'],
    ['63', 'I'],
    ['I6513', 'I'],
    ['65', 'I'],
    ['66', 'J'],
    ['69', 'J'],
    ['7010', 'K'],
    ['71', 'L'],
    ['7243', 'L'],
    ['73', 'M'],
    ['75', 'M'],
    ['76', 'N'],
    ['79', 'N'],
    ['80', 'O'],
    ['8111', 'O'],
    ['83', 'P'],
    ['84', 'Q'],
    ['8514', 'Q'],
    ['86', 'R'],
    ['90', 'R'],
    ['91', 'S'],
    ['9520', 'S'],
    ['96', 'S'],
    ['97', 'T'],
    ['T9700', 'T'],
    ['C', 'C'],
  ])('%s → %s', (code, section) => {
    expect(industrySectionOf(code)).toBe(section)
  })
  it.each(['', '00', '98', '99', 'A3911', 'U01', 'c3911', '3', '39111', 'C39a1'])('rejects %j', (code) => {
    expect(industrySectionOf(code)).toBeNull()
  })
  it('covers every division 01-97 exactly once', () => {
    const seen = new Map<number, string>()
    for (const [s, lo, hi] of SECTION_DIVISION_RANGES)
      for (let d = lo; d <= hi; d++) {
        expect(seen.has(d)).toBe(false)
        seen.set(d, s)
      }
    for (let d = 1; d <= 97; d++) expect(seen.has(d), String(d)).toBe(true)
  })
  it('names all 20 sections', () => {
    expect(Object.keys(INDUSTRY_SECTIONS)).toHaveLength(20)
    expect(INDUSTRY_SECTIONS.I).toBe('信息传输、软件和信息技术服务业')
  })
  it('normalises codes with the section letter', () => {
    expect(normalizeIndustryCode('3911')).toBe('C3911')
    expect(normalizeIndustryCode('C3911')).toBe('C3911')
    expect(normalizeIndustryCode('00')).toBeNull()
  })
})
