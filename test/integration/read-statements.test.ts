import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withTransaction } from '../../src/db/transaction.js'
import { applySubmission } from '../../src/reconciliation/submission.service.js'
import type { EntityTypeName } from '../../src/shared/entity-types.js'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, randomInt } from '../support/ids.js'

// Statements per request on the hot read paths: at most 1 + nesting depth + the access log's one,
// rules and grants not re-read per request, and a district boundary turned into GeoJSON only when
// a query selects it.
let server: TestServer
let psb: Record<string, string>
let steward: Record<string, string>
const sfx = uniqueSuffix()
const township = `330106${String(800 + randomInt(199)).padStart(3, '0')}`
const idNumber = makeIdNumber('1985-03-12', randomInt(900), '330106')
const creditCode = makeCreditCode(randomInt(1e7))
const opts = { matchHigh: 0.9, matchLow: 0.7, extent: [118.3, 29.1, 120.8, 30.6] as [number, number, number, number] }

async function submit(department: string, entityType: EntityTypeName, records: unknown[]) {
  const r = await withTransaction(server.knex, { operation: 'test', departmentCode: department }, (tx) =>
    applySubmission(tx, { department, entityType, records: records as never }, opts),
  )
  expect(r.rejected).toEqual([])
}

beforeAll(async () => {
  server = await startTestServer()
  psb = await createTestKey(server.knex, { department: 'PSB' })
  steward = await createTestKey(server.knex, { roles: ['STEWARD'] })
  const square = (x: number, y: number, d: number) => ({
    type: 'Polygon',
    coordinates: [
      [
        [x, y],
        [x + d, y],
        [x + d, y + d],
        [x, y + d],
        [x, y],
      ],
    ],
  })
  await submit('CAB', 'ADMIN_DIVISION', [
    { sourceKey: `div-${sfx}`, attributes: { code: township, name: `读街道${sfx}` } },
  ])
  // Boundaries come from their authority, NRP.
  await submit('NRP', 'ADMIN_DIVISION', [
    { sourceKey: `div-${sfx}`, attributes: { code: township }, geometry: square(120.1, 30.2, 0.01) },
  ])
  await submit('CAB', 'ADDRESS', [
    { sourceKey: `addr-${sfx}`, attributes: { fullText: `杭州市西湖区读路${sfx}号`, divisionCode: township } },
  ])
  await submit('PSB', 'PERSON', [
    {
      sourceKey: `p-${sfx}`,
      attributes: { idNumber, name: `读${sfx}`, residenceAddressText: `杭州市西湖区读路${sfx}号` },
    },
  ])
  await submit('AMR', 'LEGAL_ENTITY', [
    {
      sourceKey: `le-${sfx}`,
      attributes: {
        creditCode,
        name: `读公司${sfx}`,
        legalRepresentativeIdNumber: idNumber,
        legalRepresentativeName: `读${sfx}`,
      },
    },
  ])
})
afterAll(async () => server?.close())

const indicator = `T_READ_${sfx}`.toUpperCase()

async function counted(query: string, key = psb): Promise<{ data: any; statements: string[] }> {
  const statements: string[] = []
  const listener = (q: { sql: string }) => statements.push(q.sql)
  server.knex.on('query', listener)
  try {
    const r = await server.gql(query, undefined, key)
    expect(r.errors).toBeUndefined()
    return { data: r.data, statements }
  } finally {
    server.knex.off('query', listener)
  }
}

describe('statements per request', () => {
  const personQuery = `{ person(idNumber: "${idNumber}") { name residenceAddress { fullText division { code name } } } }`

  it('person by ID number with address and division: ≤ 1 + depth 3 + the log, no boundary, no rules re-read', async () => {
    await counted(personQuery) // first request of this key: fills the caches
    const { data, statements } = await counted(personQuery)
    expect(data.person).toMatchObject({
      name: `读${sfx}`,
      residenceAddress: { fullText: `杭州市西湖区读路${sfx}号`, division: { code: township } },
    })
    expect(statements.length).toBeLessThanOrEqual(1 + 3 + 1)
    // In fact one: the lookup joins the selected address and division (and primes their loaders).
    expect(statements.filter((s) => !/access_log_append/.test(s))).toHaveLength(1)
    expect(statements.filter((s) => /access_log_append/.test(s))).toHaveLength(1)
    expect(statements.filter((s) => /authority_rules|sharing_grants/.test(s))).toEqual([])
    expect(statements.filter((s) => /ST_AsGeoJSON\([^)]*geom\b/i.test(s))).toEqual([])
  })

  it('the boundary is loaded, once, when a query selects it', async () => {
    const { data, statements } = await counted(
      `{ person(idNumber: "${idNumber}") { residenceAddress { division { code geometry } } } }`,
    )
    expect(statements.filter((s) => /ST_AsGeoJSON\([^)]*geom\b/i.test(s))).toHaveLength(1)
    expect(data.person.residenceAddress.division.geometry).toMatchObject({ type: 'MultiPolygon' })
    const direct = await server.knex.raw(
      'SELECT ST_AsGeoJSON(geom, 7)::json AS g FROM admin_divisions WHERE code = ?',
      [township],
    )
    expect(data.person.residenceAddress.division.geometry).toEqual(direct.rows[0].g)
  })

  it('legal entity by credit code: with its representative ≤ 1 + 2 + the log; from the entity row, no log at all', async () => {
    const q = `{ legalEntity(creditCode: "${creditCode}") { name legalRepresentative { name } } }`
    await counted(q, steward)
    const withRep = await counted(q, steward)
    expect(withRep.data.legalEntity).toEqual({ name: `读公司${sfx}`, legalRepresentative: { name: `读${sfx}` } })
    expect(withRep.statements.length).toBeLessThanOrEqual(1 + 2 + 1)
    expect(withRep.statements.filter((s) => !/access_log_append/.test(s))).toHaveLength(1)
    const fromRow = await counted(`{ legalEntity(creditCode: "${creditCode}") { name legalRepresentativeName } }`)
    expect(fromRow.data.legalEntity).toEqual({ name: `读公司${sfx}`, legalRepresentativeName: `读${sfx}` })
    expect(fromRow.statements.length).toBeLessThanOrEqual(1 + 1)
    expect(fromRow.statements.filter((s) => /access_log/.test(s))).toEqual([])
  })

  it('a page of persons with address, division and employer: one statement and the log', async () => {
    // The person works for the legal entity (HRSS owns the employer).
    await submit('HRSS', 'PERSON', [
      { sourceKey: `hr-${sfx}`, attributes: { idNumber, employerCreditCode: creditCode } },
    ])
    const q = `{ persons(first: 5, filter: { residenceDivisionCode: "${township}" }) { nodes { name residenceAddress { fullText division { code } } employer { name } } pageInfo { hasNextPage } } }`
    await counted(q, steward)
    const { data, statements } = await counted(q, steward)
    expect(data.persons).toEqual({
      nodes: [
        {
          name: `读${sfx}`,
          residenceAddress: { fullText: `杭州市西湖区读路${sfx}号`, division: { code: township } },
          employer: { name: `读公司${sfx}` },
        },
      ],
      pageInfo: { hasNextPage: false },
    })
    expect(statements.filter((s) => !/access_log_append/.test(s))).toHaveLength(1)
    expect(statements.filter((s) => /access_log_append/.test(s))).toHaveLength(1)
    // The same page without the nested fields reads no other table.
    const lean = await counted(
      `{ persons(first: 5, filter: { residenceDivisionCode: "${township}" }) { nodes { name } } }`,
      steward,
    )
    expect(lean.data.persons.nodes).toEqual([{ name: `读${sfx}` }])
    expect(lean.statements.filter((s) => !/access_log_append/.test(s))).toHaveLength(1)
    expect(lean.statements.filter((s) => /legal_entities/.test(s))).toEqual([])
  })

  it('loaders read only the selected columns; a field selected through a fragment is still read', async () => {
    const lean = await counted(personQuery)
    // No address point turned into GeoJSON, no column of a field nobody asked for.
    expect(lean.statements.filter((s) => /ST_AsGeoJSON/i.test(s))).toEqual([])
    expect(lean.statements.filter((s) => /"(gender|ethnicity|road)"/.test(s))).toEqual([])
    const viaFragment = await counted(
      `query { person(idNumber: "${idNumber}") { ...P } }
       fragment P on Person { gender residenceAddress { ... on MasterEntity { id } ... on Address { road location } } }`,
    )
    expect(viaFragment.statements.filter((s) => /ST_AsGeoJSON\([^)]*location/i.test(s))).toHaveLength(1)
    expect(viaFragment.data.person).toHaveProperty('gender')
    expect(viaFragment.data.person.residenceAddress).toHaveProperty('location')
    expect(viaFragment.data.person.residenceAddress.id).toEqual(expect.any(String))
  })

  it('an unknown ID number costs one statement and logs nothing', async () => {
    const { data, statements } = await counted(
      `{ person(idNumber: "${makeIdNumber('1985-03-12', 999, '330106')}") { name } }`,
    )
    expect(data.person).toBeNull()
    expect(statements).toHaveLength(1)
  })
  it('divisions: the boundary becomes GeoJSON only when a query selects it (point, code, list, children)', async () => {
    const geojson = (statements: string[]) => statements.filter((st) => /ST_AsGeoJSON\([^)]*geom\b/i.test(st))
    const at = await counted(`{ divisionsAt(lon: 120.105, lat: 30.205) { code name level } }`)
    expect(at.data.divisionsAt.map((d: { code: string }) => d.code)).toContain(township)
    expect(geojson(at.statements)).toEqual([])
    // Only the selected columns (and the two the order needs), not the whole row.
    expect(at.statements.filter((st) => /"area_sq_km"/.test(st))).toEqual([])
    const byCode = await counted(`{ adminDivision(code: "${township}") { name parent { code } } }`)
    expect(byCode.data.adminDivision.name).toBe(`读街道${sfx}`)
    expect(geojson(byCode.statements)).toEqual([])
    const list = await counted(`{ adminDivisions(parentCode: "330106") { code children { code } } }`)
    expect(list.data.adminDivisions.map((d: { code: string }) => d.code)).toContain(township)
    expect(geojson(list.statements)).toEqual([])
    // Selected, it is the stored boundary, wherever the division was reached.
    const direct = await server.knex.raw(
      'SELECT ST_AsGeoJSON(geom, 7)::json AS g FROM admin_divisions WHERE code = ?',
      [township],
    )
    const withGeometry = await counted(`{ divisionsAt(lon: 120.105, lat: 30.205) { code geometry } }`)
    const hit = withGeometry.data.divisionsAt.find((d: { code: string }) => d.code === township)
    expect(hit.geometry).toEqual(direct.rows[0].g)
    const byCodeWithGeometry = await counted(`{ adminDivision(code: "${township}") { geometry } }`)
    expect(byCodeWithGeometry.data.adminDivision.geometry).toEqual(direct.rows[0].g)
  })

  it('an address page reads only the selected columns: no point turned into GeoJSON unless location is selected', async () => {
    const q = (fields: string) =>
      `{ addresses(first: 5, filter: { divisionCode: "${township}" }) { nodes { ${fields} } } }`
    const lean = await counted(q('fullText'))
    expect(lean.data.addresses.nodes).toEqual([{ fullText: `杭州市西湖区读路${sfx}号` }])
    expect(lean.statements.filter((st) => /ST_AsGeoJSON/i.test(st))).toEqual([])
    expect(lean.statements.filter((st) => /"road"/.test(st))).toEqual([])
    const full = await counted(q('fullText location road'))
    expect(full.data.addresses.nodes).toEqual([{ fullText: `杭州市西湖区读路${sfx}号`, location: null, road: null }])
    expect(full.statements.filter((st) => /ST_AsGeoJSON\([^)]*location/i.test(st))).toHaveLength(1)
  })

  it('observations: golden values are joined only when source or recordedAt is selected; same figures either way', async () => {
    await submit('STATS', 'INDICATOR', [
      {
        sourceKey: `indicator-${indicator}`,
        attributes: { code: indicator, name: `读指标${sfx}`, unit: '人', category: '测试', ownerCode: 'STATS' },
      },
    ])
    await submit('STATS', 'OBSERVATION', [
      {
        sourceKey: `obs-${sfx}-1`,
        attributes: { indicatorCode: indicator, regionCode: township, period: '2023', value: 7 },
      },
      {
        sourceKey: `obs-${sfx}-2`,
        attributes: {
          indicatorCode: indicator,
          regionCode: township,
          period: '2024',
          value: 8.5,
          status: 'PRELIMINARY',
        },
      },
    ])
    const args = `indicatorCode: "${indicator}", regionCode: "${township}"`
    const lean = await counted(`{ observations(${args}) { period value status } }`)
    expect(lean.data.observations).toEqual([
      { period: '2023', value: 7, status: 'FINAL' },
      { period: '2024', value: 8.5, status: 'PRELIMINARY' },
    ])
    expect(lean.statements).toHaveLength(1)
    expect(lean.statements.filter((st) => /golden_values/.test(st))).toEqual([])
    const full = await counted(`{ observations(${args}) { period value status source { code } recordedAt } }`)
    expect(full.statements.filter((st) => /golden_values/.test(st))).toHaveLength(1)
    expect(full.data.observations.map((o: Record<string, unknown>) => [o.period, o.value, o.status])).toEqual(
      lean.data.observations.map((o: Record<string, unknown>) => [o.period, o.value, o.status]),
    )
    const golden = await server
      .knex('golden_values as g')
      .join('observations as o', 'o.id', 'g.entity_id')
      .where('g.field', 'value')
      .whereIn('o.period', ['2023', '2024'])
      .whereIn('o.indicator_id', server.knex('indicators').select('id').where('code', indicator))
      .orderBy('o.period')
      .select('g.source_department', 'g.recorded_at')
    expect(
      full.data.observations.map((o: { source: { code: string }; recordedAt: string }) => [
        o.source.code,
        o.recordedAt,
      ]),
    ).toEqual(
      golden.map((g: { source_department: string; recorded_at: Date }) => [
        g.source_department,
        new Date(g.recorded_at).toISOString(),
      ]),
    )
    // Reached through the indicator and through the division, the same figures.
    const viaIndicator = await counted(
      `{ indicator(code: "${indicator}") { observations(regionCode: "${township}") { period value } } }`,
    )
    expect(viaIndicator.data.indicator.observations).toEqual([
      { period: '2023', value: 7 },
      { period: '2024', value: 8.5 },
    ])
    expect(viaIndicator.statements.filter((st) => /golden_values/.test(st))).toEqual([])
    const viaDivision = await counted(
      `{ adminDivision(code: "${township}") { observations(indicatorCode: "${indicator}") { period recordedAt } } }`,
    )
    expect(viaDivision.data.adminDivision.observations.map((o: { recordedAt: string }) => o.recordedAt)).toEqual(
      golden.map((g: { recorded_at: Date }) => new Date(g.recorded_at).toISOString()),
    )
  })
})
