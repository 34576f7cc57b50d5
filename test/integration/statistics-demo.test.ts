import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_MISMATCHES, INDICATOR_CATALOGUE } from '../../seeds/demo-statistics.js'
import { seedDemo } from '../../seeds/demo.js'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, type TestServer } from '../helpers.js'

// The demo seed, small: its statistics part must publish figures that agree with the registers
// except for the deliberate mismatches, revise one figure and open one conflict.
let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
  await seedDemo(server.knex, {
    persons: 1500,
    legalEntities: 300,
    matchHigh: 0.9,
    matchLow: 0.7,
    extent: [118.3, 29.1, 120.8, 30.6],
  })
}, 600_000)

afterAll(async () => {
  await server?.close()
})

describe('demo statistics', () => {
  it('carries a catalogue of three categories with five subcategories each', async () => {
    const r = await server.gql(`{ indicators { code category subcategory owner { code } derivable } }`)
    const demo = r.data.indicators.filter((i: { code: string }) => INDICATOR_CATALOGUE.some((c) => c.code === i.code))
    expect(demo).toHaveLength(INDICATOR_CATALOGUE.length)
    expect(demo.length).toBeGreaterThanOrEqual(30)
    const subcategories = new Map<string, Set<string>>()
    for (const i of demo) subcategories.set(i.category, (subcategories.get(i.category) ?? new Set()).add(i.subcategory))
    expect(Object.fromEntries([...subcategories].map(([k, v]) => [k, v.size]))).toEqual({
      经济: 5,
      就业和生活: 5,
      城市建设: 5,
    })
    expect(demo.find((i: { code: string }) => i.code === 'UNEMP_REGISTERED').owner.code).toBe('HRSS')
    expect(
      demo
        .filter((i: { derivable: boolean }) => i.derivable)
        .map((i: { code: string }) => i.code)
        .sort(),
    ).toEqual(['LE_COUNT', 'LE_ENTERPRISE_COUNT', 'POP_AGE_0_14', 'POP_AGE_65_PLUS', 'POP_HOUSEHOLD', 'POP_RESIDENT'])
  })

  it('lists exactly the deliberate mismatches as 2024 discrepancies', async () => {
    const r = await server.gql(
      `{ statisticsDiscrepancies(period: "2024") { indicator { code } region { code } publishedValue derivedValue relativeDifference } }`,
    )
    expect(r.errors).toBeUndefined()
    const hangzhou = r.data.statisticsDiscrepancies.filter((d: { region: { code: string } }) =>
      d.region.code.startsWith('3301'),
    )
    expect(
      hangzhou
        .map((d: { indicator: { code: string }; region: { code: string } }) => `${d.indicator.code}@${d.region.code}`)
        .sort(),
    ).toEqual(DEMO_MISMATCHES.map((m) => `${m.indicator}@${m.region}`).sort())
    for (const d of hangzhou) expect(d.derivedValue).toBeGreaterThan(0)
  })

  it('keeps the preliminary GDP figure in history after the revision', async () => {
    const r = await server.gql(
      `{ observations(indicatorCode: "GDP", regionCode: "330100", periodFrom: "2024", periodTo: "2024") { period value status } }`,
    )
    const year = r.data.observations.find((o: { period: string }) => o.period === '2024')
    expect(year.status).toBe('REVISED')
    const { rows } = await server.knex.raw(
      `SELECT h.field, h.old_value, h.new_value FROM field_history h JOIN observations o ON o.id = h.entity_id
        WHERE o.indicator_key = 'GDP' AND o.region_key = '330100' AND o.period = '2024' AND h.field = 'status' ORDER BY h.id`,
    )
    expect(rows.map((x: { old_value: unknown; new_value: unknown }) => [x.old_value, x.new_value]).slice(0, 2)).toEqual(
      [
        [null, 'PRELIMINARY'],
        ['PRELIMINARY', 'REVISED'],
      ],
    )
  })

  it("opens a conflict for HRSS's differing unemployment rate", async () => {
    const r = await server.gql(
      `{ observations(indicatorCode: "UNEMP_RATE", regionCode: "330100", periodFrom: "2024", periodTo: "2024") { id period source { code } } }`,
    )
    const year = r.data.observations.find((o: { period: string }) => o.period === '2024')
    expect(year.source.code).toBe('STATS')
    const { rows } = await server.knex.raw(
      `SELECT field, status FROM conflicts WHERE entity_id = ? AND kind = 'VALUE_MISMATCH'`,
      [year.id],
    )
    expect(rows).toEqual([{ field: 'value', status: 'OPEN' }])
  })
  it("shows that conflict in the stewards' inbox with the observation as its entity", async () => {
    const steward = await createTestKey(server.knex, { roles: ['STEWARD'] })
    const r = await server.gql(
      `{ conflicts(first: 50, filter: { status: OPEN, entityType: OBSERVATION }) {
          nodes { field entity { id entityType ... on Observation { period value status recordedAt
            source { code } indicator { code } region { code } } } } } }`,
      undefined,
      steward,
    )
    expect(r.errors).toBeUndefined()
    const unemployment = r.data.conflicts.nodes.find(
      (c: { entity: { indicator: { code: string }; region: { code: string }; period: string } }) =>
        c.entity.indicator.code === 'UNEMP_RATE' && c.entity.region.code === '330100' && c.entity.period === '2024',
    )
    expect(unemployment).toMatchObject({
      field: 'value',
      entity: { entityType: 'OBSERVATION', status: 'FINAL', source: { code: 'STATS' } },
    })
    expect(typeof unemployment.entity.value).toBe('number')
    expect(Date.parse(unemployment.entity.recordedAt)).toBeGreaterThan(0)
  })
})

describe('demo data items', () => {
  it('defines the catalogue file and submits item values with provisional values and conflicts', async () => {
    const items = await server.gql('{ dataItems(core: false) { code authority { code } valueCount } }')
    expect(items.errors).toBeUndefined()
    const list = items.data.dataItems as { code: string; authority: { code: string }; valueCount: number }[]
    expect(list.length).toBeGreaterThanOrEqual(200)
    expect(new Set(list.map((i) => i.authority.code)).size).toBeGreaterThanOrEqual(10)
    expect(list.filter((i) => i.valueCount > 0).length).toBeGreaterThan(150)
    const { rows } = await server.knex.raw(
      `SELECT g.status, count(*)::int AS n FROM golden_values g JOIN entities e ON e.id = g.entity_id
         JOIN data_items d ON d.entity_type = e.entity_type AND d.name = g.field GROUP BY g.status`,
    )
    const byStatus = Object.fromEntries(rows.map((r: { status: string; n: number }) => [r.status, r.n]))
    expect(byStatus.AUTHORITATIVE).toBeGreaterThan(1000)
    expect(byStatus.PROVISIONAL).toBeGreaterThan(0)
    const conflicts = await server.knex.raw(
      `SELECT count(*)::int AS n FROM conflicts c JOIN data_items d ON d.entity_type = c.entity_type AND d.name = c.field
        WHERE c.kind = 'VALUE_MISMATCH' AND c.status = 'OPEN'`,
    )
    expect(conflicts.rows[0].n).toBeGreaterThan(0)
  })
})
