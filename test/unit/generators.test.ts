import { readFileSync } from 'node:fs'
import { describe, it, expect } from 'vitest'
import { createRng } from '../../src/shared/random.js'
import { validateIdNumber } from '../../src/reconciliation/rules/id-number.js'
import { hasValidOrganizationCode, validateCreditCode } from '../../src/reconciliation/rules/credit-code.js'
import { industrySectionOf } from '../../src/reconciliation/rules/industry.js'
import {
  ROADS_BY_DISTRICT,
  generateLegalEntities,
  generatePersons,
  type DistrictRef,
} from '../../seeds/demo/generators.js'

const divisions = JSON.parse(
  readFileSync(new URL('../../seeds/data/hangzhou-divisions.json', import.meta.url), 'utf8'),
) as { districts: DistrictRef[] }
const districts = divisions.districts
const districtCodes = new Set(districts.map((d) => d.code))
const townshipCodes = new Set(districts.flatMap((d) => d.townships.map((t) => t.code)))
const opts = { districts }

function take<T>(it: Iterable<T>, n: number): T[] {
  const out: T[] = []
  for (const x of it) {
    if (out.length >= n) break
    out.push(x)
  }
  return out
}

describe('generatePersons', () => {
  it('is deterministic: same seed gives the same first 100 records', () => {
    const a = take(generatePersons(createRng(2024), 1000, opts), 100)
    const b = take(generatePersons(createRng(2024), 1000, opts), 100)
    expect(a).toHaveLength(100)
    expect(a).toEqual(b)
    const c = take(generatePersons(createRng(2025), 1000, opts), 100)
    expect(c).not.toEqual(a)
  })

  it('is a lazy generator', () => {
    const gen = generatePersons(createRng(1), 5_000_000, opts)
    const first = gen.next()
    expect(first.done).toBe(false)
    gen.return(undefined)
  })

  it('produces 20,000 unique, valid and consistent records', () => {
    const ids = new Set<string>()
    const keys = new Set<string>()
    const ages = new Array<number>(100).fill(0)
    let male = 0
    let han = 0
    const reference = new Date('2024-12-31T00:00:00+08:00')
    for (const p of generatePersons(createRng(7), 20_000, opts)) {
      const a = p.attributes
      const v = validateIdNumber(a.idNumber, (prefix) => districtCodes.has(prefix), { today: reference })
      if (!v.ok) throw new Error(`${a.idNumber}: ${v.message}`)
      expect(v.gender).toBe(a.gender)
      expect(v.birthDate).toBe(a.birthDate)
      expect(districtCodes.has(p.districtCode)).toBe(true)
      expect(townshipCodes.has(p.townshipCode)).toBe(true)
      expect(p.townshipCode.startsWith(p.districtCode)).toBe(true)
      expect(a.residenceAddressText).toMatch(/^杭州市\S+?(区|县|市)\S+?(路|街|大道|大街)\d+号/)
      expect(a.name).toMatch(/^[\u4e00-\u9fff]{2,4}$/)
      ids.add(a.idNumber)
      keys.add(p.sourceKey)
      ages[2024 - Number(a.birthDate.slice(0, 4))]!++
      if (a.gender === 'MALE') male++
      if (a.ethnicity === '汉族') han++
    }
    expect(ids.size).toBe(20_000)
    expect(keys.size).toBe(20_000)
    // Plausible distribution: every age 0-95 present, none older, working ages dominate.
    for (let age = 0; age <= 95; age++) expect(ages[age], `age ${age}`).toBeGreaterThan(0)
    expect(ages.slice(96).every((n) => n === 0)).toBe(true)
    const working = ages.slice(20, 60).reduce((s, n) => s + n, 0)
    expect(working / 20_000).toBeGreaterThan(0.5)
    expect(male / 20_000).toBeGreaterThan(0.45)
    expect(male / 20_000).toBeLessThan(0.56)
    expect(han / 20_000).toBeGreaterThan(0.95)
  })

  it('rejects bad arguments', () => {
    expect(() => generatePersons(createRng(1), -1, opts).next()).toThrow(RangeError)
    expect(() => generatePersons(createRng(1), 10, { districts: [] }).next()).toThrow(RangeError)
    expect(generatePersons(createRng(1), 0, opts).next().done).toBe(true)
  })

  it('honours the reference date', () => {
    for (const p of generatePersons(createRng(3), 2000, { ...opts, referenceDate: '2020-03-15' })) {
      expect(p.attributes.birthDate <= '2020-03-15').toBe(true)
      expect(p.attributes.birthDate >= '1925-01-01').toBe(true)
    }
  })
})

describe('generateLegalEntities', () => {
  it('is deterministic: same seed gives the same first 100 records', () => {
    const a = take(generateLegalEntities(createRng(2024), 1000, opts), 100)
    const b = take(generateLegalEntities(createRng(2024), 1000, opts), 100)
    expect(a).toEqual(b)
    expect(take(generateLegalEntities(createRng(9), 1000, opts), 100)).not.toEqual(a)
  })

  it('produces 20,000 unique, valid credit codes with district region codes', () => {
    const codes = new Set<string>()
    const kinds: Record<string, number> = {}
    for (const e of generateLegalEntities(createRng(11), 20_000, opts)) {
      const a = e.attributes
      const v = validateCreditCode(a.creditCode)
      if (!v.ok) throw new Error(`${a.creditCode}: ${v.message}`)
      expect(hasValidOrganizationCode(a.creditCode)).toBe(true)
      expect(v.regionCode).toBe(e.districtCode)
      expect(districtCodes.has(e.districtCode)).toBe(true)
      expect(industrySectionOf(a.industryCode)).toBe(a.industryCode[0])
      expect(a.establishedDate <= '2024-12-31').toBe(true)
      expect(a.registeredCapital).toBeGreaterThan(0)
      expect(a.registeredAddressText.startsWith('杭州市')).toBe(true)
      expect(['ACTIVE', 'DEREGISTERED', 'REVOKED']).toContain(a.status)
      if (a.kind === 'ENTERPRISE') {
        expect(a.name).toMatch(/^(杭州|浙江).+有限公司$/)
        expect(a.creditCode.slice(0, 2)).toBe('91')
      } else if (a.kind === 'INDIVIDUAL_BUSINESS') {
        expect(a.creditCode.slice(0, 2)).toBe('92')
      } else {
        expect(a.creditCode[0]).toBe('5')
      }
      kinds[a.kind] = (kinds[a.kind] ?? 0) + 1
      codes.add(a.creditCode)
    }
    expect(codes.size).toBe(20_000)
    expect(kinds.ENTERPRISE! / 20_000).toBeGreaterThan(0.7)
    expect(kinds.INDIVIDUAL_BUSINESS).toBeGreaterThan(0)
    expect(kinds.SOCIAL_ORGANIZATION).toBeGreaterThan(0)
  })
})

describe('ROADS_BY_DISTRICT', () => {
  it('has roads for every Hangzhou district', () => {
    for (const d of districts) expect(ROADS_BY_DISTRICT[d.code]?.length, d.code).toBeGreaterThanOrEqual(8)
  })
})
