import { LEGAL_ENTITY_KINDS } from '../shared/entity-types.js'
import { INDUSTRY_SECTIONS, industrySectionOf } from '../reconciliation/rules/industry.js'

/**
 * What the registers say about one region, as raw counts. Pure data: the store fills it from SQL,
 * the derivations below turn it into indicator values. Maps hold only keys seen (counts > 0).
 */
export interface DerivedCounts {
  residents: number
  householdRegistered: number
  residentsByGender: Map<string, number>
  residentsByAgeBand: Map<string, number>
  legalEntities: number
  legalEntitiesByKind: Map<string, number>
  legalEntitiesByIndustrySection: Map<string, number>
}

export const AGE_BANDS = ['0-14', '15-64', '65+'] as const

export function emptyCounts(): DerivedCounts {
  return {
    residents: 0,
    householdRegistered: 0,
    residentsByGender: new Map(),
    residentsByAgeBand: new Map(),
    legalEntities: 0,
    legalEntitiesByKind: new Map(),
    legalEntitiesByIndustrySection: new Map(),
  }
}

/**
 * Indicators the service can compute from the registers: indicator code → value in the indicator's
 * unit. An indicator is `derivable` exactly when its code is a key here; the catalogue
 * (seeds/data/indicators.json) gives these codes the matching units (人, 个).
 */
export const DERIVATIONS: Readonly<Record<string, (c: DerivedCounts) => number>> = {
  POP_RESIDENT: (c) => c.residents,
  POP_HOUSEHOLD: (c) => c.householdRegistered,
  POP_AGE_0_14: (c) => c.residentsByAgeBand.get('0-14') ?? 0,
  POP_AGE_65_PLUS: (c) => c.residentsByAgeBand.get('65+') ?? 0,
  LE_COUNT: (c) => c.legalEntities,
  LE_ENTERPRISE_COUNT: (c) => c.legalEntitiesByKind.get('ENTERPRISE') ?? 0,
}

/** True when the service can derive the indicator from the registers. */
export function isDerivable(code: string): boolean {
  return Object.hasOwn(DERIVATIONS, code)
}

/**
 * Age-band cut-off dates for a reference date: a person born after `under15` is 0-14, after
 * `under65` is 15-64, otherwise 65+. A birthday on 29 February counts from 28 February in
 * common years. referenceDate is YYYY-MM-DD.
 */
export function ageBandCutoffs(referenceDate: string): { under15: string; under65: string } {
  const [y, m, d] = referenceDate.split('-').map(Number)
  const back = (years: number) => {
    const year = y - years
    const last = new Date(Date.UTC(year, m, 0)).getUTCDate()
    return `${String(year).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`
  }
  return { under15: back(15), under65: back(65) }
}

/** The section key of an industry-code prefix ('C39', '39'), or 'UNKNOWN' for a missing or unusable code. */
export function sectionKey(prefix: string | null): string {
  return (prefix && industrySectionOf(prefix)) || 'UNKNOWN'
}

const GENDER_ORDER = ['MALE', 'FEMALE']
const SECTION_ORDER = Object.keys(INDUSTRY_SECTIONS)

/**
 * A count map as a list: the `always` keys first (0 when unseen), then the others in `order`,
 * then any remaining key alphabetically; zero counts of other keys are left out.
 */
export function countList(
  map: Map<string, number>,
  always: readonly string[],
  order: readonly string[] = [],
): { key: string; count: number }[] {
  const rank = (k: string) => {
    const i = [...always, ...order, 'UNKNOWN'].indexOf(k)
    return i < 0 ? Number.MAX_SAFE_INTEGER : i
  }
  const keys = [...new Set([...always, ...map.keys()])].filter((k) => always.includes(k) || (map.get(k) ?? 0) > 0)
  keys.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
  return keys.map((key) => ({ key, count: map.get(key) ?? 0 }))
}

export const ORDERS = {
  gender: GENDER_ORDER,
  ageBand: AGE_BANDS,
  kind: LEGAL_ENTITY_KINDS,
  section: SECTION_ORDER,
} as const

/**
 * Relative difference |published − derived| / derived; 0 when both are 0, null when only the
 * derived value is 0 (infinitely far: always reported).
 */
export function relativeDifference(published: number, derived: number): number | null {
  if (derived === 0) return published === 0 ? 0 : null
  return Math.abs(published - derived) / Math.abs(derived)
}
