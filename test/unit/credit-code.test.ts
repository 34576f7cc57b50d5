import { describe, it, expect } from 'vitest'
import {
  creditCodeCheckChar,
  hasValidOrganizationCode,
  organizationCodeCheckChar,
  validateCreditCode,
} from '../../src/reconciliation/rules/credit-code.js'

// Published codes of well-known registrations; the algorithm agrees on every one of them.
const REAL_CODES = [
  '91350100M000100Y43',
  '91110000600037341L',
  '91330100799655058B',
  '9144030071526726XG',
  '914403001922038216',
  '91110108551385082Q',
  '91110000802100433B',
]

describe('creditCodeCheckChar', () => {
  it.each(REAL_CODES)('reproduces the check character of %s', (code) => {
    expect(creditCodeCheckChar(code.slice(0, 17))).toBe(code[17])
  })
  it('returns null for wrong length or characters outside the charset', () => {
    expect(creditCodeCheckChar('9135010')).toBeNull()
    expect(creditCodeCheckChar('91350100M000100I4')).toBeNull()
  })
})

describe('organizationCodeCheckChar', () => {
  it.each(REAL_CODES)('the embedded organisation code of %s is valid', (code) => {
    expect(organizationCodeCheckChar(code.slice(8, 16))).toBe(code[16])
    expect(hasValidOrganizationCode(code)).toBe(true)
  })
  it('returns null for malformed bodies', () => {
    expect(organizationCodeCheckChar('1234567')).toBeNull()
    expect(organizationCodeCheckChar('1234567a')).toBeNull()
  })
})

describe('validateCreditCode', () => {
  it('accepts real codes and decodes their parts', () => {
    expect(validateCreditCode('91350100M000100Y43')).toEqual({
      ok: true,
      registrationDept: '工商',
      orgType: '企业',
      regionCode: '350100',
    })
    for (const c of REAL_CODES) expect(validateCreditCode(c).ok, c).toBe(true)
  })

  it('accepts other registration authorities', () => {
    const first17 = '51330106MJ1234567'
    const r = validateCreditCode(first17 + creditCodeCheckChar(first17))
    expect(r).toEqual({ ok: true, registrationDept: '民政', orgType: '社会团体', regionCode: '330106' })
  })

  it('rejects a wrong check character', () => {
    const r = validateCreditCode('91350100M000100Y44')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toMatch(/check character/)
  })

  it('rejects bad length and forbidden characters', () => {
    expect(validateCreditCode('91350100M000100Y4').ok).toBe(false)
    expect(validateCreditCode('91350100M000100Y433').ok).toBe(false)
    const withI = validateCreditCode('91350100I000100Y43')
    expect(withI.ok).toBe(false)
    if (!withI.ok) expect(withI.message).toMatch(/position 9/)
    expect(validateCreditCode('91350100m000100y43').ok).toBe(false) // lower case is not normalised
  })

  it('rejects unknown authority / type combinations and regions', () => {
    const bad = ['B1330106MA27XG1C5', '94330106MA27XG1C5', '91990106MA27XG1C5', '9133A106MA27XG1C5']
    for (const first17 of bad) {
      const check = creditCodeCheckChar(first17) ?? '0'
      expect(validateCreditCode(first17 + check).ok, first17).toBe(false)
    }
  })
})
