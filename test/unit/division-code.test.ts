import { describe, it, expect } from 'vitest'
import {
  divisionLevelOf,
  isValidDivisionCode,
  normalizeDivisionCode,
  parentCodeOf,
} from '../../src/reconciliation/rules/division-code.js'

describe('divisionLevelOf', () => {
  it.each([
    ['330000', 'PROVINCE'],
    ['330100', 'CITY'],
    ['330106', 'DISTRICT'],
    ['330106001', 'TOWNSHIP'],
    ['330106001001', 'VILLAGE'],
  ])('%s is %s', (code, level) => {
    expect(divisionLevelOf(code)).toBe(level)
  })
  it.each(['', '3301', '33010', '3301060010', '33010600100A', 'abcdef', '330106 '])('%j has no level', (code) => {
    expect(divisionLevelOf(code)).toBeNull()
  })
})

describe('parentCodeOf', () => {
  it('walks up the hierarchy', () => {
    expect(parentCodeOf('330106001001')).toBe('330106001')
    expect(parentCodeOf('330106001')).toBe('330106')
    expect(parentCodeOf('330106')).toBe('330100')
    expect(parentCodeOf('330100')).toBe('330000')
    expect(parentCodeOf('330000')).toBeNull()
    expect(parentCodeOf('33')).toBeNull()
  })
})

describe('isValidDivisionCode', () => {
  it('accepts well-formed codes', () => {
    for (const c of ['330000', '330100', '330106', '330106001', '330106001001', '441900003']) {
      expect(isValidDivisionCode(c), c).toBe(true)
    }
  })
  it('rejects malformed codes', () => {
    for (const c of ['000000', '990100', '330000001', '330106000', '330106001000', '3301', '33010a']) {
      expect(isValidDivisionCode(c), c).toBe(false)
    }
  })
})

describe('normalizeDivisionCode', () => {
  it('strips the zero padding of 12-digit statistical codes', () => {
    expect(normalizeDivisionCode('330106000000')).toBe('330106')
    expect(normalizeDivisionCode('330106001000')).toBe('330106001')
    expect(normalizeDivisionCode('330106001001')).toBe('330106001001')
    expect(normalizeDivisionCode('330106')).toBe('330106')
  })
})
