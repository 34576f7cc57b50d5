import 'reflect-metadata'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeCursor } from '../../src/graphql/pagination.js'
import { CREDIT_CODE_CHARSET, creditCodeCheckChar } from '../../src/reconciliation/rules/credit-code.js'
import { idNumberCheckChar } from '../../src/reconciliation/rules/id-number.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { randomInt } from '../support/ids.js'

// Every test works inside its own made-up township (a random 9-digit code under a Xinjiang-style
// district) with villages below it, so counts computed here from the submitted records are the
// whole truth for those regions, whatever other files or earlier runs left in the database.

let server: TestServer
const suffix = uniqueSuffix()
const district = `65${String(randomInt(1, 99)).padStart(2, '0')}${String(randomInt(1, 99)).padStart(2, '0')}`
const township = `${district}${String(randomInt(100, 499)).padStart(3, '0')}`
const sibling = `${district}${String(randomInt(500, 999)).padStart(3, '0')}`
const village1 = `${township}001`
const village2 = `${township}002`
const village3 = `${township}003`
const today = new Date().toISOString().slice(0, 10)

async function submit(department: string, entityType: string, records: unknown[]): Promise<any> {
  const r = await server.gql(
    `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { accepted created updated conflictsOpened rejected { index code field message } } }`,
    { input: { entityType, records } },
    { 'X-Department': department },
  )
  expect(r.errors).toBeUndefined()
  expect(r.data.submitRecords.rejected).toEqual([])
  return r.data.submitRecords
}

function idNumber(birthDate: string, gender: 'MALE' | 'FEMALE'): string {
  const seq = randomInt(0, 500) * 2 + (gender === 'MALE' ? 1 : 0)
  const first17 = `110101${birthDate.replace(/-/g, '')}${String(seq).padStart(3, '0')}`
  return first17 + idNumberCheckChar(first17)
}

function creditCode(): string {
  let body = '91330106'
  for (let i = 0; i < 9; i++) body += CREDIT_CODE_CHARSET[randomInt(0, 31)]
  return body + creditCodeCheckChar(body)
}

/** Full years from birth to `on` (both YYYY-MM-DD): the test's own age arithmetic. */
function ageOn(birth: string, on: string): number {
  const [by, bm, bd] = birth.split('-').map(Number)
  const [y, m, d] = on.split('-').map(Number)
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0)
}

const band = (birth: string | undefined) =>
  !birth ? 'UNKNOWN' : ageOn(birth, today) < 15 ? '0-14' : ageOn(birth, today) < 65 ? '15-64' : '65+'

interface TestPerson {
  gender: 'MALE' | 'FEMALE'
  birthDate?: string
  residence: string
  household: string
  deathDate?: string
}
interface TestEntity {
  kind: string
  status: string
  industryCode?: string
  address: string
}

const addr = (label: string) => `测试市统计${suffix}路${label}号`
// Addresses: two villages of the township, the sibling township, and one without a division.
const ADDRESSES = [
  { text: addr('1'), division: village1 },
  { text: addr('2'), division: village2 },
  { text: addr('3'), division: sibling },
  { text: addr('4'), division: township },
  { text: addr('5'), division: null },
]
const yearsAgo = (n: number, extraDays = 0) => {
  const d = new Date(`${today}T00:00:00Z`)
  d.setUTCFullYear(d.getUTCFullYear() - n)
  d.setUTCDate(d.getUTCDate() - extraDays)
  return d.toISOString().slice(0, 10)
}
const PERSONS: TestPerson[] = [
  { gender: 'MALE', birthDate: yearsAgo(3, 10), residence: addr('1'), household: addr('1') },
  { gender: 'FEMALE', birthDate: yearsAgo(14, 30), residence: addr('1'), household: addr('3') },
  { gender: 'FEMALE', birthDate: yearsAgo(15, 30), residence: addr('2'), household: addr('2') },
  { gender: 'MALE', birthDate: yearsAgo(40), residence: addr('2'), household: addr('5') },
  { gender: 'MALE', birthDate: yearsAgo(64, 40), residence: addr('4'), household: addr('1') },
  { gender: 'FEMALE', birthDate: yearsAgo(70), residence: addr('4'), household: addr('4') },
  {
    gender: 'FEMALE',
    birthDate: yearsAgo(90),
    residence: addr('1'),
    household: addr('1'),
    deathDate: '2024-03-01',
  },
  { gender: 'MALE', birthDate: yearsAgo(30), residence: addr('3'), household: addr('2') },
  { gender: 'FEMALE', residence: addr('2'), household: addr('3') },
  { gender: 'MALE', birthDate: yearsAgo(50), residence: addr('5'), household: addr('2') },
]
const ENTITIES: TestEntity[] = [
  { kind: 'ENTERPRISE', status: 'ACTIVE', industryCode: 'I6513', address: addr('1') },
  { kind: 'ENTERPRISE', status: 'ACTIVE', industryCode: '3911', address: addr('2') },
  { kind: 'ENTERPRISE', status: 'CANCELLED', industryCode: 'C3911', address: addr('2') },
  { kind: 'INDIVIDUAL_BUSINESS', status: 'ACTIVE', industryCode: 'F5123', address: addr('4') },
  { kind: 'SOCIAL_ORGANIZATION', status: 'ACTIVE', address: addr('1') },
  { kind: 'ENTERPRISE', status: 'ACTIVE', industryCode: 'C3911', address: addr('3') },
  { kind: 'ENTERPRISE', status: 'ACTIVE', industryCode: 'F5123', address: addr('5') },
]
const SECTION: Record<string, string> = { I6513: 'I', '3911': 'C', C3911: 'C', F5123: 'F' }

/** What the registers should say about a code prefix, computed from the records above. */
function expected(prefix: string) {
  const divisionOf = new Map(ADDRESSES.map((a) => [a.text, a.division]))
  const inRegion = (text: string) => (divisionOf.get(text) ?? '').startsWith(prefix)
  const living = PERSONS.filter((p) => !p.deathDate)
  const residents = living.filter((p) => inRegion(p.residence))
  const entities = ENTITIES.filter((e) => e.status === 'ACTIVE' && inRegion(e.address))
  const tally = <T>(xs: T[], key: (x: T) => string) => {
    const m: Record<string, number> = {}
    for (const x of xs) m[key(x)] = (m[key(x)] ?? 0) + 1
    return m
  }
  return {
    residentCount: residents.length,
    householdRegisteredCount: living.filter((p) => inRegion(p.household)).length,
    gender: tally(residents, (p) => p.gender),
    ageBand: tally(residents, (p) => band(p.birthDate)),
    legalEntityCount: entities.length,
    kind: tally(entities, (e) => e.kind),
    section: tally(entities, (e) => (e.industryCode ? SECTION[e.industryCode] : 'UNKNOWN')),
  }
}

const asMap = (list: { key: string; count: number }[]) =>
  Object.fromEntries(list.filter((x) => x.count > 0).map((x) => [x.key, x.count]))

const DERIVED = `derivedStatistics(regionCode: $code) {
  region { code } residentCount householdRegisteredCount residentsByGender { key count } residentsByAgeBand { key count }
  legalEntityCount legalEntitiesByKind { key count } legalEntitiesByIndustrySection { key count } }`

/** A caller who may see where persons live, and so gets exact person counts (docs/security.md). */
const EXACT = { 'X-Roles': 'STEWARD' }

const indicatorRecord = (code: string, extra: Record<string, unknown> = {}) => ({
  sourceKey: `indicator-${code}`,
  observedAt: '2025-01-01T00:00:00Z',
  attributes: {
    code,
    name: `测试指标 ${code}`,
    unit: '人',
    category: '测试',
    subcategory: '测试子类',
    ownerCode: 'STATS',
    ...extra,
  },
})

beforeAll(async () => {
  server = await startTestServer()
  await submit(
    'CAB',
    'ADMIN_DIVISION',
    [district, township, sibling, village1, village2, village3].map((code) => ({
      sourceKey: `div-${code}-${suffix}`,
      attributes: { code, name: `测试区划${code}` },
    })),
  )
  await submit(
    'CAB',
    'ADDRESS',
    ADDRESSES.map((a) => ({
      sourceKey: `addr-${a.text}`,
      attributes: { fullText: a.text, ...(a.division ? { divisionCode: a.division } : {}) },
    })),
  )
  await submit(
    'AMR',
    'LEGAL_ENTITY',
    ENTITIES.map((e, i) => ({
      sourceKey: `le-${suffix}-${i}`,
      attributes: {
        creditCode: creditCode(),
        name: `测试企业${suffix}${i}`,
        kind: e.kind,
        status: e.status,
        registeredAddressText: e.address,
        ...(e.industryCode ? { industryCode: e.industryCode } : {}),
      },
    })),
  )
  await submit(
    'PSB',
    'PERSON',
    PERSONS.map((p, i) => ({
      sourceKey: `p-${suffix}-${i}`,
      attributes: {
        idNumber: idNumber(p.birthDate ?? '1980-01-01', p.gender),
        name: `测试${i}`,
        gender: p.gender,
        residenceAddressText: p.residence,
        householdAddressText: p.household,
        ...(p.birthDate ? { birthDate: p.birthDate } : {}),
        ...(p.deathDate ? { deathDate: p.deathDate } : {}),
      },
    })),
  )
})

afterAll(async () => {
  await server?.close()
})

describe('derived statistics', () => {
  for (const [label, code, prefix] of [
    ['township', () => township, () => township],
    ['village', () => village1, () => village1],
    ['district', () => district, () => district],
  ] as const) {
    it(`counts residents, household registrations and legal entities of a ${label} from the registers`, async () => {
      const r = await server.gql(`query($code: String!) { ${DERIVED} }`, { code: code() }, EXACT)
      expect(r.errors).toBeUndefined()
      const d = r.data.derivedStatistics
      const e = expected(prefix())
      expect(d.region.code).toBe(code())
      expect(d.residentCount).toBe(e.residentCount)
      expect(d.householdRegisteredCount).toBe(e.householdRegisteredCount)
      expect(asMap(d.residentsByGender)).toEqual(e.gender)
      expect(asMap(d.residentsByAgeBand)).toEqual(e.ageBand)
      expect(d.legalEntityCount).toBe(e.legalEntityCount)
      expect(asMap(d.legalEntitiesByKind)).toEqual(e.kind)
      expect(asMap(d.legalEntitiesByIndustrySection)).toEqual(e.section)
    })
  }

  it('rounds person counts for a caller who may not see where persons live; legal entities stay exact', async () => {
    const e = expected(township)
    for (const headers of [undefined, { 'X-Department': 'TAX' }]) {
      const r = await server.gql(
        `query($code: String!) { derivedStatistics(regionCode: $code) { residentCount householdRegisteredCount residentsByGender { key count } residentsByAgeBand { key count } legalEntityCount personCountsRoundedTo } adminDivision(code: $code) { derivedStatistics { residentCount personCountsRoundedTo } } }`,
        { code: township },
        headers,
      )
      expect(r.errors).toBeUndefined()
      const d = r.data.derivedStatistics
      // 7 residents, 6 household registrations: below the threshold of 10, so 0.
      expect(d).toMatchObject({ residentCount: 0, householdRegisteredCount: 0, personCountsRoundedTo: 10 })
      expect([...d.residentsByGender, ...d.residentsByAgeBand].every((c: { count: number }) => c.count === 0)).toBe(
        true,
      )
      expect(d.legalEntityCount).toBe(e.legalEntityCount)
      expect(r.data.adminDivision.derivedStatistics).toEqual({ residentCount: 0, personCountsRoundedTo: 10 })
    }
    const exact = await server.gql(
      `query($code: String!) { derivedStatistics(regionCode: $code) { residentCount personCountsRoundedTo } }`,
      { code: township },
      EXACT,
    )
    expect(exact.data.derivedStatistics).toEqual({ residentCount: e.residentCount, personCountsRoundedTo: null })
  })

  it('has non-trivial expectations (the fixture exercises every bucket)', () => {
    const e = expected(township)
    expect(e.residentCount).toBe(7)
    expect(e.householdRegisteredCount).toBe(6)
    expect(e.ageBand).toEqual({ '0-14': 2, '15-64': 3, '65+': 1, UNKNOWN: 1 })
    expect(e.section).toEqual({ I: 1, C: 1, F: 1, UNKNOWN: 1 })
  })

  it('lists gender and age bands with zero counts, in a fixed order', async () => {
    const r = await server.gql(
      `query($code: String!) { derivedStatistics(regionCode: $code) { residentsByGender { key count } residentsByAgeBand { key count } } }`,
      { code: village2 },
    )
    expect(r.data.derivedStatistics.residentsByGender.map((x: { key: string }) => x.key)).toEqual(['MALE', 'FEMALE'])
    expect(r.data.derivedStatistics.residentsByAgeBand.map((x: { key: string }) => x.key)).toEqual([
      '0-14',
      '15-64',
      '65+',
      'UNKNOWN',
    ])
  })

  it('answers AdminDivision.derivedStatistics like the top-level query', async () => {
    const r = await server.gql(
      `query($code: String!) { adminDivision(code: $code) { derivedStatistics { residentCount legalEntityCount } } }`,
      { code: township },
      EXACT,
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.adminDivision.derivedStatistics).toEqual({
      residentCount: expected(township).residentCount,
      legalEntityCount: expected(township).legalEntityCount,
    })
  })

  it('counts a newly registered death at once (live, not cached)', async () => {
    const birth = yearsAgo(33)
    const id = idNumber(birth, 'MALE')
    const before = (
      await server.gql(
        `query($code: String!) { derivedStatistics(regionCode: $code) { residentCount } }`,
        { code: village2 },
        EXACT,
      )
    ).data.derivedStatistics.residentCount
    await submit('PSB', 'PERSON', [
      {
        sourceKey: `late-${suffix}`,
        attributes: {
          idNumber: id,
          name: '后来者',
          gender: 'MALE',
          birthDate: birth,
          residenceAddressText: addr('2'),
        },
      },
    ])
    const during = (
      await server.gql(
        `query($code: String!) { derivedStatistics(regionCode: $code) { residentCount } }`,
        { code: village2 },
        EXACT,
      )
    ).data.derivedStatistics.residentCount
    await submit('PSB', 'PERSON', [
      {
        sourceKey: `late-${suffix}`,
        attributes: {
          idNumber: id,
          name: '后来者',
          gender: 'MALE',
          birthDate: birth,
          residenceAddressText: addr('2'),
          deathDate: '2025-01-02',
        },
      },
    ])
    const after = (
      await server.gql(
        `query($code: String!) { derivedStatistics(regionCode: $code) { residentCount } }`,
        { code: village2 },
        EXACT,
      )
    ).data.derivedStatistics.residentCount
    expect([during - before, after - before]).toEqual([1, 0])
  })

  it('rejects a malformed region code and answers NOT_FOUND for an unknown division', async () => {
    const bad = await server.gql(`{ derivedStatistics(regionCode: "33x106") { residentCount } }`)
    expect(bad.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_DIVISION_CODE',
      field: 'regionCode',
    })
    const unknown = await server.gql(
      `query($code: String!) { derivedStatistics(regionCode: $code) { residentCount } }`,
      {
        code: `${township.slice(0, 6)}998` === sibling ? `${township.slice(0, 6)}997` : `${township.slice(0, 6)}998`,
      },
    )
    expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND')
  })
})

describe('indicators and observations', () => {
  const code = `T_${suffix}`.toUpperCase()
  const hrssCode = `T_HRSS_${suffix}`.toUpperCase()

  beforeAll(async () => {
    await submit('STATS', 'INDICATOR', [
      indicatorRecord(code, { unit: '万元', category: `测试${suffix}` }),
      indicatorRecord(hrssCode, { ownerCode: 'HRSS', category: `测试${suffix}` }),
    ])
    const obs = (period: string, value: number, status = 'FINAL', region = township) => ({
      sourceKey: `obs-${code}-${region}-${period}`,
      observedAt: '2025-01-10T00:00:00Z',
      attributes: { indicatorCode: code, regionCode: region, period, value, status },
    })
    await submit('STATS', 'OBSERVATION', [
      obs('2022', 10),
      obs('2023', 11),
      obs('2024', 12, 'PRELIMINARY'),
      obs('2024Q1', 3),
      obs('2024Q2', 3.5),
      obs('2024-05', 1.25),
      obs('2023Q4', 2.5),
      obs('2024', 20, 'FINAL', sibling),
    ])
  })

  it('lists the catalogue by category with owner and derivable', async () => {
    const r = await server.gql(
      `query($c: String) { indicators(category: $c) { code unit owner { code } derivable category } }`,
      { c: `测试${suffix}` },
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.indicators).toEqual(
      [
        { code, unit: '万元', owner: { code: 'STATS' }, derivable: false, category: `测试${suffix}` },
        { code: hrssCode, unit: '人', owner: { code: 'HRSS' }, derivable: false, category: `测试${suffix}` },
      ].sort((a, b) => (a.code < b.code ? -1 : 1)),
    )
  })

  it('marks the register-derived indicators derivable', async () => {
    await submit('STATS', 'INDICATOR', [
      indicatorRecord('POP_RESIDENT', { name: '常住人口', category: '就业和生活', subcategory: '人口' }),
    ])
    const r = await server.gql(`{ indicator(code: "POP_RESIDENT") { derivable } }`)
    expect(r.data.indicator.derivable).toBe(true)
  })

  it('filters observations by period range as periods, ordered by region then period', async () => {
    const r = await server.gql(
      `query($code: String!, $region: String) { observations(indicatorCode: $code, regionCode: $region, periodFrom: "2023Q4", periodTo: "2024Q2") { period value status region { code } indicator { code } source { code } recordedAt } }`,
      { code, region: township },
    )
    expect(r.errors).toBeUndefined()
    // 2024 (a whole year) does not lie within 2023Q4..2024Q2; 2024-05 does. Sorted by start, then end.
    expect(r.data.observations.map((o: { period: string }) => o.period)).toEqual([
      '2023Q4',
      '2024Q1',
      '2024Q2',
      '2024-05',
    ])
    expect(r.data.observations[0]).toMatchObject({
      value: 2.5,
      status: 'FINAL',
      region: { code: township },
      indicator: { code },
      source: { code: 'STATS' },
    })
    expect(Date.parse(r.data.observations[0].recordedAt)).toBeGreaterThan(Date.parse('2025-01-01'))
  })

  it('gives every region without regionCode, and the same through Indicator.observations and AdminDivision.observations', async () => {
    const all = await server.gql(
      `query($code: String!) { observations(indicatorCode: $code, periodFrom: "2024", periodTo: "2024") { period region { code } } }`,
      { code },
    )
    // Regions by code (township < sibling by construction), then periods by start, then end.
    expect(all.data.observations).toEqual([
      { period: '2024Q1', region: { code: township } },
      { period: '2024', region: { code: township } },
      { period: '2024Q2', region: { code: township } },
      { period: '2024-05', region: { code: township } },
      { period: '2024', region: { code: sibling } },
    ])
    const viaIndicator = await server.gql(
      `query($code: String!, $r: String) { indicator(code: $code) { observations(regionCode: $r, periodFrom: "2022", periodTo: "2022") { period value } } }`,
      { code, r: township },
    )
    expect(viaIndicator.data.indicator.observations).toEqual([{ period: '2022', value: 10 }])
    const viaDivision = await server.gql(
      `query($r: String!, $code: String) { adminDivision(code: $r) { observations(indicatorCode: $code, periodTo: "2023") { period } } }`,
      { r: township, code },
    )
    expect(viaDivision.data.adminDivision.observations.map((o: { period: string }) => o.period)).toEqual([
      '2022',
      '2023',
      '2023Q4',
    ])
  })

  it('keeps history when a figure is revised', async () => {
    const { rows } = await server.knex.raw('SELECT coalesce(max(id), 0) AS m FROM field_history')
    const cursor = encodeCursor([Number(rows[0].m)])
    await submit('STATS', 'OBSERVATION', [
      {
        sourceKey: `obs-${code}-${township}-2024`,
        observedAt: '2025-03-01T00:00:00Z',
        attributes: {
          indicatorCode: code,
          regionCode: township,
          period: '2024',
          value: 12.6,
          status: 'REVISED',
        },
      },
    ])
    const r = await server.gql(
      `query($code: String!, $r: String) { observations(indicatorCode: $code, regionCode: $r, periodFrom: "2024", periodTo: "2024") { id period value status } }`,
      { code, r: township },
    )
    const year = r.data.observations.find((o: { period: string }) => o.period === '2024')
    expect(year).toMatchObject({ value: 12.6, status: 'REVISED' })
    const changes = await server.gql(
      `query($after: String) { changes(after: $after, entityTypes: [OBSERVATION], first: 50) { nodes { entityId field oldValue newValue } } }`,
      { after: cursor },
      { 'X-Department': 'STATS' },
    )
    const mine = changes.data.changes.nodes.filter((c: { entityId: string }) => c.entityId === year.id)
    expect(
      mine
        .map((c: { field: string; oldValue: unknown; newValue: unknown }) => [c.field, c.oldValue, c.newValue])
        .sort(),
    ).toEqual([
      ['status', 'PRELIMINARY', 'REVISED'],
      ['value', 12, 12.6],
    ])
  })

  it('keeps the history of an indicator definition', async () => {
    await submit('STATS', 'INDICATOR', [
      {
        ...indicatorRecord(code, { unit: '亿元', category: `测试${suffix}` }),
        observedAt: '2025-02-01T00:00:00Z',
      },
    ])
    const r = await server.gql(
      `query($code: String!) { indicator(code: $code) { unit history(field: "unit") { oldValue newValue } } }`,
      { code },
    )
    expect(r.data.indicator).toEqual({
      unit: '亿元',
      history: [
        { oldValue: null, newValue: '万元' },
        { oldValue: '万元', newValue: '亿元' },
      ],
    })
  })

  it("makes the indicator's owner the authority for its observations; another department's figure opens a conflict", async () => {
    const obs = { indicatorCode: hrssCode, regionCode: township, period: '2024' }
    await submit('HRSS', 'OBSERVATION', [
      { sourceKey: `hrss-${hrssCode}`, attributes: { ...obs, value: 321, status: 'FINAL' } },
    ])
    const stats = await submit('STATS', 'OBSERVATION', [
      { sourceKey: `stats-${hrssCode}`, attributes: { ...obs, value: 300, status: 'FINAL' } },
    ])
    expect(stats.conflictsOpened).toBe(1)
    const r = await server.gql(
      `query($code: String!) { observations(indicatorCode: $code) { value source { code } region { code } } }`,
      { code: hrssCode },
    )
    expect(r.data.observations).toEqual([{ value: 321, source: { code: 'HRSS' }, region: { code: township } }])
    // The other order: the catalogue's authority first, then the owner; still one observation.
    const later = { indicatorCode: hrssCode, regionCode: sibling, period: '2024' }
    await submit('STATS', 'OBSERVATION', [
      { sourceKey: `stats-${hrssCode}-2`, attributes: { ...later, value: 10, status: 'FINAL' } },
    ])
    await submit('HRSS', 'OBSERVATION', [
      { sourceKey: `hrss-${hrssCode}-2`, attributes: { ...later, value: 11, status: 'FINAL' } },
    ])
    const both = await server.gql(
      `query($code: String!, $r: String) { observations(indicatorCode: $code, regionCode: $r) { value source { code } } }`,
      { code: hrssCode, r: sibling },
    )
    expect(both.data.observations).toEqual([{ value: 11, source: { code: 'HRSS' } }])
  })

  it('rejects malformed periods in submissions and in arguments, with coded errors', async () => {
    const rejected = await server.gql(
      `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { rejected { code field } } }`,
      {
        input: {
          entityType: 'OBSERVATION',
          records: [
            {
              sourceKey: `bad-${suffix}`,
              attributes: { indicatorCode: code, regionCode: township, period: '2024Q5', value: 1 },
            },
          ],
        },
      },
      { 'X-Department': 'STATS' },
    )
    expect(rejected.data.submitRecords.rejected).toEqual([{ code: 'INVALID_VALUE', field: 'period' }])
    for (const [args, field, reason] of [
      ['periodFrom: "2024-13"', 'periodFrom', 'INVALID_VALUE'],
      ['periodTo: "24"', 'periodTo', 'INVALID_VALUE'],
      ['periodFrom: "2024Q3", periodTo: "2024Q2"', 'periodTo', 'INVALID_VALUE'],
      ['regionCode: "12"', 'regionCode', 'INVALID_DIVISION_CODE'],
    ] as const) {
      const r = await server.gql(`query($code: String!) { observations(indicatorCode: $code, ${args}) { period } }`, {
        code,
      })
      expect(r.errors?.[0].extensions, args).toMatchObject({ code: 'BAD_USER_INPUT', reason, field })
    }
    const viaField = await server.gql(
      `query($code: String!) { indicator(code: $code) { observations(periodTo: "2024q2") { period } } }`,
      { code },
    )
    expect(viaField.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'periodTo' })
    const disc = await server.gql(`{ statisticsDiscrepancies(period: "2024-00") { period } }`)
    expect(disc.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_VALUE',
      field: 'period',
    })
    const neg = await server.gql(`{ statisticsDiscrepancies(period: "2024", minRelativeDifference: -1) { period } }`)
    expect(neg.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'minRelativeDifference',
    })
  })

  describe('CSV download', () => {
    it('serves a header row and the observations, RFC 4180 quoted', async () => {
      const res = await fetch(`${server.url}/stats/${code}.csv?region=${township}&from=2024Q1&to=2024Q2`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${code}.csv"`)
      const text = await res.text()
      expect(text.charCodeAt(0)).not.toBe(0xfeff)
      const lines = text.split('\r\n')
      expect(lines[0]).toBe(
        'indicator_code,indicator_name,region_code,region_name,period,value,unit,status,source,recorded_at',
      )
      expect(lines.length).toBe(5) // header, 3 rows, and the empty string after the last CRLF
      expect(lines[4]).toBe('')
      const fields = lines[1].split(',')
      expect(fields.slice(0, 9)).toEqual([
        code,
        `测试指标 ${code}`,
        township,
        `测试区划${township}`,
        '2024Q1',
        '3',
        '亿元',
        'FINAL',
        'STATS',
      ])
      expect(Number.isNaN(Date.parse(fields[9]))).toBe(false)
      expect([lines[2].split(',')[4], lines[3].split(',')[4]]).toEqual(['2024Q2', '2024-05'])
    })

    it('quotes fields holding commas and quotes', async () => {
      const q = `T_Q_${suffix}`.toUpperCase()
      await submit('STATS', 'INDICATOR', [indicatorRecord(q, { name: 'GDP, "nominal"' })])
      await submit('STATS', 'OBSERVATION', [
        {
          sourceKey: `obs-${q}`,
          attributes: { indicatorCode: q, regionCode: township, period: '2024', value: 1 },
        },
      ])
      const text = await (await fetch(`${server.url}/stats/${q}.csv`)).text()
      expect(text.split('\r\n')[1].startsWith(`${q},"GDP, ""nominal""",${township},`)).toBe(true)
    })

    it('starts with a UTF-8 BOM when bom=1', async () => {
      const res = await fetch(`${server.url}/stats/${code}.csv?bom=1&region=${sibling}`)
      const bytes = new Uint8Array(await res.arrayBuffer())
      expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
      expect(new TextDecoder().decode(bytes.slice(3)).split('\r\n')[1].split(',').slice(2, 6)).toEqual([
        sibling,
        `测试区划${sibling}`,
        '2024',
        '20',
      ])
    })

    it('answers 404 JSON for an unknown indicator and 400 JSON for a bad period or region', async () => {
      const missing = await fetch(`${server.url}/stats/NO_SUCH_${suffix}.csv`)
      expect(missing.status).toBe(404)
      expect(((await missing.json()) as any).error.code).toBe('NOT_FOUND')
      for (const [query, field, reason] of [
        ['from=2024Q9', 'from', 'INVALID_VALUE'],
        ['to=2024-1', 'to', 'INVALID_VALUE'],
        ['region=abc', 'region', 'INVALID_DIVISION_CODE'],
        ['from=2025&to=2024', 'to', 'INVALID_VALUE'],
      ] as const) {
        const res = await fetch(`${server.url}/stats/${code}.csv?${query}`)
        expect(res.status, query).toBe(400)
        expect(((await res.json()) as any).error, query).toMatchObject({
          code: 'BAD_USER_INPUT',
          field,
          reason,
        })
      }
    })
  })
})

describe('discrepancies', () => {
  // A period nobody else uses, so every published figure for it is this test's.
  const period = String(randomInt(3000, 9999))

  it('lists exactly the published figures that differ from the registers', async () => {
    await submit('STATS', 'INDICATOR', [
      indicatorRecord('POP_RESIDENT', { name: '常住人口', category: '就业和生活', subcategory: '人口' }),
      indicatorRecord('POP_HOUSEHOLD', { name: '户籍人口', category: '就业和生活', subcategory: '人口' }),
      indicatorRecord('LE_COUNT', {
        name: '法人单位数',
        unit: '个',
        category: '经济',
        subcategory: '市场主体',
      }),
    ])
    const t = expected(township)
    const v1 = expected(village1)
    const obs = (indicatorCode: string, regionCode: string, value: number) => ({
      sourceKey: `disc-${indicatorCode}-${regionCode}-${period}`,
      attributes: { indicatorCode, regionCode, period, value, status: 'FINAL' },
    })
    await submit('STATS', 'OBSERVATION', [
      obs('POP_RESIDENT', township, t.residentCount), // equal: not listed
      obs('POP_RESIDENT', village1, v1.residentCount * 2), // 100 % off
      obs('POP_HOUSEHOLD', township, t.householdRegisteredCount + 1), // 1 in 6 ≈ 17 % off
      obs('LE_COUNT', village3, 7), // the registers hold none there: infinitely off
      obs(`T_${suffix}`.toUpperCase(), township, 999), // not derivable: never compared
    ])
    const r = await server.gql(
      `query($p: String!) { statisticsDiscrepancies(period: $p) { indicator { code } region { code } period publishedValue derivedValue relativeDifference } }`,
      { p: period },
    )
    expect(r.errors).toBeUndefined()
    expect(t.householdRegisteredCount).toBe(6)
    const mine = r.data.statisticsDiscrepancies.filter((d: { region: { code: string } }) =>
      d.region.code.startsWith(township),
    )
    expect(mine).toEqual([
      {
        indicator: { code: 'LE_COUNT' },
        region: { code: village3 },
        period,
        publishedValue: 7,
        derivedValue: 0,
        relativeDifference: null,
      },
      {
        indicator: { code: 'POP_HOUSEHOLD' },
        region: { code: township },
        period,
        publishedValue: 7,
        derivedValue: 6,
        relativeDifference: 1 / 6,
      },
      {
        indicator: { code: 'POP_RESIDENT' },
        region: { code: village1 },
        period,
        publishedValue: v1.residentCount * 2,
        derivedValue: v1.residentCount,
        relativeDifference: 1,
      },
    ])
    expect(expected(village3).legalEntityCount).toBe(0)
    // A higher threshold drops the 17 % one.
    const high = await server.gql(
      `query($p: String!) { statisticsDiscrepancies(period: $p, minRelativeDifference: 0.5) { indicator { code } } }`,
      { p: period },
    )
    expect(high.data.statisticsDiscrepancies.map((d: { indicator: { code: string } }) => d.indicator.code)).toEqual([
      'LE_COUNT',
      'POP_RESIDENT',
    ])
    // Zero lists every derivable figure, the exact one included.
    const all = await server.gql(
      `query($p: String!) { statisticsDiscrepancies(period: $p, minRelativeDifference: 0) { region { code } relativeDifference } }`,
      { p: period },
    )
    const allMine = all.data.statisticsDiscrepancies.filter((d: { region: { code: string } }) =>
      d.region.code.startsWith(township),
    )
    expect(allMine).toContainEqual({ region: { code: township }, relativeDifference: 0 })
    expect(allMine).toHaveLength(4)
  })
})
