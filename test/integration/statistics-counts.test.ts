import 'reflect-metadata'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ageBandCutoffs, type DerivedCounts } from '../../src/statistics/derivations.js'
import { derivedCountsByPrefix } from '../../src/statistics/statistics.store.js'
import { liveDerivedCountsQuery } from '../support/live-derived-counts.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, STEWARD, submit } from './scenario.fixtures.js'
import { randomInt } from '../support/ids.js'

// The maintained counts (person_counts, legal_entity_counts, kept by triggers) against the live
// computation over the registers, after every kind of write: engine inserts and updates (address
// moves, division changes, deaths, gender and birth-date corrections, legal-entity status and
// industry changes), merges and unmerges (projection rows deleted and re-added), and plain SQL
// writes and deletes. Two checks each time:
//  - derivedCountsByPrefix from the counts equals the live one for this file's regions, for
//    reference dates whose age cut-offs fall on the fixture's birth dates (both sides of the
//    boundary-year correction: cut-offs early and late in the year);
//  - the whole person_counts / legal_entity_counts tables equal a recount from scratch.

let server: TestServer
const sfx = uniqueSuffix()
const district = `64${String(randomInt(10, 99))}${String(randomInt(10, 99))}`
const T1 = `${district}${String(randomInt(100, 499))}`
const T2 = `${district}${String(randomInt(500, 999))}`
const V1 = `${T1}001`
const _PREFIXES = [district, T1, T2, V1]
const thisYear = new Date().getUTCFullYear()
const REFERENCE_DATES = [
  new Date().toISOString().slice(0, 10),
  `${thisYear}-03-10`,
  `${thisYear}-09-15`,
  `${thisYear - 1}-12-31`,
  '2024-02-29',
  '2025-01-01',
]

const addr = (label: string) => `测试市计数${sfx}路${label}号`
const ADDRESSES: Record<string, string | null> = { A1: V1, A2: T2, A3: null, A4: `${T1}002`, A5: T1 }
const shift = (date: string, days: number) => {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() + days)
  return d.toISOString().slice(0, 10)
}

interface P {
  key: string
  idNumber: string
  gender: string
  birthDate?: string
  residence: string
  household?: string
  deathDate?: string
}
const persons: P[] = []
{
  // Around every cut-off of every reference date: the day before, the day itself, the day after,
  // and 1 January / 31 December of the boundary year.
  const dates = new Set<string>()
  for (const ref of REFERENCE_DATES) {
    for (const c of Object.values(ageBandCutoffs(ref))) {
      for (const d of [-1, 0, 1]) dates.add(shift(c, d))
      dates.add(`${c.slice(0, 4)}-01-01`)
      dates.add(`${c.slice(0, 4)}-12-31`)
    }
  }
  const labels = Object.keys(ADDRESSES)
  let i = 0
  for (const birthDate of [...dates].sort()) {
    persons.push({
      key: `p${i}`,
      idNumber: makeIdNumber(birthDate),
      gender: i % 3 === 0 ? 'FEMALE' : 'MALE',
      birthDate,
      residence: addr(labels[i % labels.length]),
      household: i % 4 === 0 ? undefined : addr(labels[(i * 7 + 1) % labels.length]),
    })
    i++
  }
  persons.push({
    key: `p${i++}`,
    idNumber: makeIdNumber('1990-05-05'),
    gender: 'FEMALE',
    residence: addr('A1'),
    household: addr('A1'),
  })
  persons.push({
    key: `p${i++}`,
    idNumber: makeIdNumber('1950-05-05'),
    gender: 'MALE',
    birthDate: '1950-05-05',
    residence: addr('A1'),
    deathDate: '2024-01-01',
  })
}
const entities = [
  { key: 'e0', kind: 'ENTERPRISE', status: 'ACTIVE', industryCode: 'C3911', address: 'A1' },
  { key: 'e1', kind: 'ENTERPRISE', status: 'ACTIVE', industryCode: '3911', address: 'A2' },
  { key: 'e2', kind: 'INDIVIDUAL_BUSINESS', status: 'ACTIVE', industryCode: 'F5123', address: 'A4' },
  { key: 'e3', kind: 'SOCIAL_ORGANIZATION', status: 'ACTIVE', address: 'A5' },
  { key: 'e4', kind: 'ENTERPRISE', status: 'CANCELLED', industryCode: 'I6513', address: 'A1' },
].map((e) => ({ ...e, creditCode: makeCreditCode() }))

const personRecord = (p: P) => ({
  sourceKey: `${p.key}-${sfx}`,
  attributes: {
    idNumber: p.idNumber,
    name: `计数${p.key}`,
    gender: p.gender,
    residenceAddressText: p.residence,
    ...(p.birthDate ? { birthDate: p.birthDate } : {}),
    ...(p.household ? { householdAddressText: p.household } : {}),
    ...(p.deathDate ? { deathDate: p.deathDate } : {}),
  },
})
const entityRecord = (e: (typeof entities)[number]) => ({
  sourceKey: `${e.key}-${sfx}`,
  attributes: {
    creditCode: e.creditCode,
    name: `计数企业${sfx}${e.key}`,
    kind: e.kind,
    status: e.status,
    registeredAddressText: addr(e.address),
    ...(e.industryCode ? { industryCode: e.industryCode } : {}),
  },
})
const addressRecord = (label: string, division: string | null) => ({
  sourceKey: `addr-${label}-${sfx}`,
  attributes: { fullText: addr(label), ...(division ? { divisionCode: division } : {}) },
})

async function ok(department: string, type: string, records: unknown[]) {
  const r = await submit(server, department, type, records as never)
  expect(r.rejected).toEqual([])
  return r
}

/** Counts as plain sorted objects without zero entries (the lists drop zeros too, except fixed keys). */
function plain(m: Map<string, DerivedCounts>) {
  const obj = (x: Map<string, number>) =>
    Object.fromEntries([...x].filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : 1)))
  return Object.fromEntries(
    [...m].map(([k, c]) => [
      k,
      {
        residents: c.residents,
        householdRegistered: c.householdRegistered,
        legalEntities: c.legalEntities,
        gender: obj(c.residentsByGender),
        ageBand: obj(c.residentsByAgeBand),
        kind: obj(c.legalEntitiesByKind),
        section: obj(c.legalEntitiesByIndustrySection),
      },
    ]),
  )
}

/** Rows of the maintained tables that a recount from scratch does not reproduce, both ways. */
async function tableDifferences(): Promise<unknown[]> {
  const { rows } = await server.knex.raw(`
    WITH live_p AS (
      SELECT a.division_key COLLATE "C" AS division_key, 'RESIDENT' AS kind, p.gender, extract(year FROM p.birth_date)::int AS birth_year, count(*) AS n
        FROM persons p JOIN addresses a ON a.id = p.residence_address_id WHERE p.death_date IS NULL AND a.division_key IS NOT NULL GROUP BY 1, 2, 3, 4
      UNION ALL
      SELECT a.division_key COLLATE "C", 'HOUSEHOLD', NULL, NULL, count(*)
        FROM persons p JOIN addresses a ON a.id = p.household_address_id WHERE p.death_date IS NULL AND a.division_key IS NOT NULL GROUP BY 1),
    kept_p AS (SELECT division_key, kind, gender, birth_year, n FROM person_counts WHERE n <> 0),
    live_l AS (
      SELECT a.division_key COLLATE "C" AS division_key, le.kind, substring(le.industry_code from '^[A-T]{0,1}[0-9]{0,2}') AS industry_division, count(*) AS n
        FROM legal_entities le JOIN addresses a ON a.id = le.registered_address_id WHERE le.status = 'ACTIVE' AND a.division_key IS NOT NULL GROUP BY 1, 2, 3),
    kept_l AS (SELECT division_key, kind, industry_division, n FROM legal_entity_counts WHERE n <> 0)
    SELECT 'person: not kept' AS what, row_to_json(x)::text AS r FROM (SELECT * FROM live_p EXCEPT SELECT * FROM kept_p) x
    UNION ALL SELECT 'person: kept, not live', row_to_json(x)::text FROM (SELECT * FROM kept_p EXCEPT SELECT * FROM live_p) x
    UNION ALL SELECT 'entity: not kept', row_to_json(x)::text FROM (SELECT * FROM live_l EXCEPT SELECT * FROM kept_l) x
    UNION ALL SELECT 'entity: kept, not live', row_to_json(x)::text FROM (SELECT * FROM kept_l EXCEPT SELECT * FROM live_l) x
    UNION ALL SELECT 'negative', division_key FROM person_counts WHERE n < 0
    UNION ALL SELECT 'negative', division_key FROM legal_entity_counts WHERE n < 0`)
  return rows
}

/** Both checks; returns the counts of the district (for assertions that something moved). */
async function expectCountsMatchLive(): Promise<Record<string, any>> {
  let district0: Record<string, any> = {}
  for (const ref of REFERENCE_DATES) {
    const cutoffs = ageBandCutoffs(ref)
    // Alone (LIKE) and several of one length at once (LIKE ANY), as the discrepancies query does.
    for (const group of [[district], [T1, T2], [V1]]) {
      const kept = plain(await derivedCountsByPrefix(server.knex, group, cutoffs))
      const live = plain(await derivedCountsByPrefix(server.knex, group, cutoffs, liveDerivedCountsQuery))
      expect({ ref, group, counts: kept }).toEqual({ ref, group, counts: live })
      if (group[0] === district && ref === REFERENCE_DATES[0]) district0 = kept[district]
    }
  }
  expect(await tableDifferences()).toEqual([])
  return district0
}

async function entityId(type: string, sourceKey: string, department: string): Promise<string> {
  const row = await server
    .knex('source_records')
    .where({ department_code: department, source_key: sourceKey, entity_type: type })
    .first()
  return row.entity_id
}

beforeAll(async () => {
  server = await startTestServer()
  await ok(
    'CAB',
    'ADDRESS',
    Object.entries(ADDRESSES).map(([label, division]) => addressRecord(label, division)),
  )
  await ok('AMR', 'LEGAL_ENTITY', entities.map(entityRecord))
  await ok('PSB', 'PERSON', persons.map(personRecord))
})

afterAll(async () => {
  await server?.close()
})

describe('maintained statistics counts', () => {
  it('match the live computation after the initial submissions', async () => {
    const d = await expectCountsMatchLive()
    // Everyone living with an address in the district: all but A3 (no division) and the dead.
    const living = persons.filter((p) => !p.deathDate && p.residence !== addr('A3'))
    expect(d.residents).toBe(living.length)
    expect(d.legalEntities).toBe(4)
    // The fixture puts persons on both sides of each cut-off.
    expect(Object.keys(d.ageBand).sort()).toEqual(['0-14', '15-64', '65+', 'UNKNOWN'])
  })

  it('follow address moves, deaths, gender and birth-date corrections', async () => {
    const before = await expectCountsMatchLive()
    const [a, b, c, e] = [persons[0], persons[1], persons[2], persons[4]]
    a.residence = addr(a.residence === addr('A2') ? 'A1' : 'A2')
    b.deathDate = '2025-06-01'
    c.gender = c.gender === 'MALE' ? 'FEMALE' : 'MALE'
    e.birthDate = shift(e.birthDate!, 400)
    await ok('PSB', 'PERSON', [a, b, c, e].map(personRecord))
    const after = await expectCountsMatchLive()
    expect(after).not.toEqual(before)
  })

  it('follow an address changing division (everyone there moves)', async () => {
    const beforeT2 = plain(await derivedCountsByPrefix(server.knex, [T2], ageBandCutoffs(REFERENCE_DATES[0])))[T2]
    await ok('CAB', 'ADDRESS', [addressRecord('A4', T2)])
    await expectCountsMatchLive()
    const afterT2 = plain(await derivedCountsByPrefix(server.knex, [T2], ageBandCutoffs(REFERENCE_DATES[0])))[T2]
    expect(afterT2.residents).toBeGreaterThan(beforeT2.residents)
    expect(afterT2.legalEntities).toBe(beforeT2.legalEntities + 1)
    // Losing its division code: counted nowhere.
    await ok('CAB', 'ADDRESS', [
      { sourceKey: `addr-A4-${sfx}`, attributes: { fullText: addr('A4'), divisionCode: null } },
    ])
    await expectCountsMatchLive()
  })

  it('follow legal-entity status, industry and address changes', async () => {
    const [e0, e1, e2] = entities
    e0.status = 'CANCELLED'
    e1.industryCode = 'I6513'
    e2.address = 'A5'
    await ok('AMR', 'LEGAL_ENTITY', [e0, e1, e2].map(entityRecord))
    const d = await expectCountsMatchLive()
    expect(d.section).toMatchObject({ I: 1 })
  })

  it('follow merges and unmerges of persons and of addresses', async () => {
    const [x, y] = [persons[5], persons[6]]
    const xId = await entityId('PERSON', `${x.key}-${sfx}`, 'PSB')
    const yId = await entityId('PERSON', `${y.key}-${sfx}`, 'PSB')
    const m = await server.gql(
      `mutation($s: ID!, $m: ID!) { mergeEntities(survivorId: $s, mergedId: $m, reason: "same person") { id } }`,
      { s: xId, m: yId },
      STEWARD,
    )
    expect(m.errors).toBeUndefined()
    await expectCountsMatchLive()
    const merge = await server.knex('merges').where({ survivor_id: xId, merged_id: yId }).first()
    const u = await server.gql(
      `mutation($e: ID!, $ids: [ID!]!) { unmergeEntity(entityId: $e, sourceRecordIds: $ids, reason: "two people") { id } }`,
      { e: xId, ids: merge.source_record_ids },
      STEWARD,
    )
    expect(u.errors).toBeUndefined()
    await expectCountsMatchLive()
    // An address merged away: its projection row is deleted, references to it are cleared.
    const a1 = await entityId('ADDRESS', `addr-A1-${sfx}`, 'CAB')
    const a2 = await entityId('ADDRESS', `addr-A2-${sfx}`, 'CAB')
    const am = await server.gql(
      `mutation($s: ID!, $m: ID!) { mergeEntities(survivorId: $s, mergedId: $m, reason: "same door") { id } }`,
      { s: a1, m: a2 },
      STEWARD,
    )
    expect(am.errors).toBeUndefined()
    expect(await server.knex('addresses').where('id', a2).first()).toBeUndefined()
    await expectCountsMatchLive()
  })

  it('follow plain SQL writes: bulk update, insert, delete of persons and of an address', async () => {
    const ids = (await server.knex('persons').select('id').where('name', 'like', '计数%')).map(
      (r: { id: string }) => r.id,
    )
    expect(ids.length).toBeGreaterThan(10)
    const a5 = await entityId('ADDRESS', `addr-A5-${sfx}`, 'CAB')
    await server.knex.transaction(async (trx) => {
      await trx('persons').whereIn('id', ids.slice(0, 5)).update({ residence_address_id: a5, gender: 'FEMALE' })
      await trx('persons')
        .whereIn('id', ids.slice(5, 8))
        .update({ death_date: null, birth_date: trx.raw(`birth_date - 366`) })
      await trx('persons').whereIn('id', ids.slice(8, 10)).delete()
      const fresh = [randomUUID(), randomUUID(), randomUUID()]
      const [{ txid }] = await trx('transactions').insert({ operation: 'test: plain SQL writes' }).returning('txid')
      await trx('entities').insert(fresh.map((id) => ({ id, entity_type: 'PERSON', created_txid: txid })))
      await trx('persons').insert(
        fresh.map((id, i) => ({
          id,
          name: `计数sql${i}`,
          gender: i ? 'MALE' : null,
          birth_date: ['1960-02-29', null, '2015-07-01'][i],
          residence_address_id: a5,
          household_address_id: a5,
        })),
      )
    })
    await expectCountsMatchLive()
    // Deleting an address row directly: the foreign keys clear the references (ON DELETE SET NULL).
    await server.knex('addresses').where('id', a5).delete()
    const d = await expectCountsMatchLive()
    expect(d.residents).toBeGreaterThan(0)
  })
})
