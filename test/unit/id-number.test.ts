import { describe, it, expect } from 'vitest'
import {
  idNumberCheckChar,
  maskIdNumber,
  normalizeIdNumber,
  validateIdNumber,
} from '../../src/reconciliation/rules/id-number.js'

const today = new Date('2024-06-01T00:00:00Z')

describe('idNumberCheckChar', () => {
  it('matches the GB 11643-1999 worked example', () => {
    expect(idNumberCheckChar('11010519491231002')).toBe('X')
  })
  it('computes digit check characters', () => {
    expect(idNumberCheckChar('33010619900307123')).toBe('6')
    expect(idNumberCheckChar('44052418800101001')).toBe('4')
  })
  it('returns null for anything but 17 digits', () => {
    expect(idNumberCheckChar('1101051949123100')).toBeNull()
    expect(idNumberCheckChar('1101051949123100X')).toBeNull()
  })
})

describe('validateIdNumber', () => {
  it('accepts a valid number and extracts birth date, gender and region', () => {
    expect(validateIdNumber('11010519491231002X', undefined, { today })).toEqual({
      ok: true,
      birthDate: '1949-12-31',
      gender: 'FEMALE',
      regionCode: '110105',
    })
    expect(validateIdNumber('330106199003071236', undefined, { today })).toEqual({
      ok: true,
      birthDate: '1990-03-07',
      gender: 'MALE',
      regionCode: '330106',
    })
  })

  it('accepts a lower-case x check character', () => {
    const r = validateIdNumber('11010519491231002x', undefined, { today })
    expect(r.ok).toBe(true)
    expect(normalizeIdNumber('11010519491231002x')).toBe('11010519491231002X')
  })

  it('accepts 29 February in a leap year', () => {
    expect(validateIdNumber('330106200002291005', undefined, { today }).ok).toBe(true)
  })

  it.each([
    ['too short', '11010519491231002'],
    ['too long', '11010519491231002X1'],
    ['empty', ''],
  ])('rejects bad length (%s)', (_label, s) => {
    const r = validateIdNumber(s, undefined, { today })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toMatch(/18 characters/)
  })

  it('rejects non-digit body and bad check character', () => {
    expect(validateIdNumber('1101051949123100AX', undefined, { today }).ok).toBe(false)
    const r = validateIdNumber('110105194912310021', undefined, { today })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toMatch(/check character/)
    expect(validateIdNumber('330106199003071237', undefined, { today }).ok).toBe(false)
  })

  it('rejects impossible dates (month 13 day 32, 30 February, 29 February in a common year)', () => {
    for (const first17 of ['33010619991332123', '33010620230230123', '33010620230229123']) {
      const s = first17 + idNumberCheckChar(first17)!
      const r = validateIdNumber(s, undefined, { today })
      expect(r.ok, s).toBe(false)
      if (!r.ok) expect(r.message).toMatch(/birth date/)
    }
  })

  it('rejects a birth date in the future or before 1900', () => {
    const future = '33010621000101123' + idNumberCheckChar('33010621000101123')
    const r = validateIdNumber(future, undefined, { today })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toMatch(/future/)
    const tomorrow = '33010620240602123' + idNumberCheckChar('33010620240602123')
    expect(validateIdNumber(tomorrow, undefined, { today }).ok).toBe(false)
    const onTheDay = '33010620240601123' + idNumberCheckChar('33010620240601123')
    expect(validateIdNumber(onTheDay, undefined, { today }).ok).toBe(true)
    const old = validateIdNumber('440524188001010014', undefined, { today })
    expect(old.ok).toBe(false)
    if (!old.ok) expect(old.message).toMatch(/1900/)
  })

  it('takes "today" in China Standard Time', () => {
    // 2024-06-01T20:00Z is already 2 June in Beijing.
    const s = '33010620240602123' + idNumberCheckChar('33010620240602123')
    expect(validateIdNumber(s, undefined, { today: new Date('2024-06-01T20:00:00Z') }).ok).toBe(true)
  })

  it('rejects an unknown province code', () => {
    const s = '99010619900307123' + idNumberCheckChar('99010619900307123')
    const r = validateIdNumber(s, undefined, { today })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toMatch(/province/)
    const s2 = '00010619900307123' + idNumberCheckChar('00010619900307123')
    expect(validateIdNumber(s2, undefined, { today }).ok).toBe(false)
  })

  it('applies the optional region-prefix predicate', () => {
    const known = (p: string) => p.startsWith('3301')
    expect(validateIdNumber('330106199003071236', known, { today }).ok).toBe(true)
    const r = validateIdNumber('11010519491231002X', known, { today })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message).toMatch(/region/)
  })

  it('defaults "today" to the current date', () => {
    expect(validateIdNumber('330106199003071236').ok).toBe(true)
  })
})

describe('maskIdNumber', () => {
  it('keeps the first 6 and last 4 characters', () => {
    expect(maskIdNumber('33010619900307123X')).toBe('330106********123X')
    expect(maskIdNumber('33010619900307123x')).toBe('330106********123X')
  })
  it('handles other lengths', () => {
    expect(maskIdNumber('330106900307123')).toBe('330106*****7123')
    expect(maskIdNumber('1234')).toBe('****')
    expect(maskIdNumber('')).toBe('')
  })
})
