import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { grantedFields } from '../../src/access/sharing.store.js'
import { createCrossCheck } from '../../src/cross-check/cross-check.service.js'
import { findType, resolveSubjects, runRuleStatement } from '../../src/cross-check/cross-check.store.js'
import { ruleSql } from '../../src/cross-check/predicates.js'
import { createTestKey, principalIdOf } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { errorOf, makeCreditCode, makeIdNumber, submit } from './scenario.fixtures.js'
import { random } from '../support/ids.js'

// Cross-checks (CONTRACT §8) over real HTTP on a real database: each demo rule with hits and
// non-hits, evidence masking, the access log, asOf, decisions, statistics, a restart during a
// run, and the coded bad inputs.

let server: TestServer
let hrss: Record<string, string>
let tax: Record<string, string>
let psb: Record<string, string>
let steward: Record<string, string>

const START = `mutation($input: StartCrossCheckInput!) { startCrossCheck(input: $input) { id status subjectCount asOf } }`
const CHECK = `query($id: ID!, $decision: HitDecision) { crossCheck(id: $id) {
  id status subjectCount checkedCount invalidCount notFoundCount hitSubjectCount confirmedCount dismissedCount
  asOf finishedAt error type { code subjectType owner { code } } requestedBy { id }
  hits(first: 50, decision: $decision) { totalCount nodes { id subjectKey subjectRef decision reason decidedAt decidedBy { id }
    rule { code fields } evidence { field value source { code } observedAt entity { id entityType } } } } } }`
const DECIDE = `mutation($id: ID!, $d: HitDecision!, $r: String!) { decideCrossCheckHit(id: $id, decision: $d, reason: $r) {
  id decision reason decidedAt decidedBy { id } } }`

/** Polls until the check is DONE or FAILED (the run is in the background); throws after 60 s. */
async function finished(id: string, headers: Record<string, string>, decision?: string) {
  const until = Date.now() + 60_000
  for (;;) {
    const r = await server.gql(CHECK, { id, decision }, headers)
    if (r.errors && !r.data?.crossCheck) throw new Error(JSON.stringify(r.errors))
    const c = r.data.crossCheck
    if (c.status === 'DONE' || c.status === 'FAILED') return { check: c, errors: r.errors }
    if (Date.now() > until) throw new Error(`check ${id} still ${c.status}`)
    await new Promise((res) => setTimeout(res, 100))
  }
}

async function start(headers: Record<string, string>, input: Record<string, unknown>) {
  const r = await server.gql(START, { input }, headers)
  if (r.errors) throw new Error(JSON.stringify(r.errors))
  return r.data.startCrossCheck as { id: string; status: string; subjectCount: number; asOf: string }
}

const hitsBy = (check: { hits: { nodes: any[] } }) =>
  Object.fromEntries(
    [...new Set(check.hits.nodes.map((h) => h.subjectRef))].map((ref) => [
      ref,
      check.hits.nodes
        .filter((h) => h.subjectRef === ref)
        .map((h) => h.rule.code)
        .sort(),
    ]),
  )

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

// Persons of the benefit scenario (ref → ID number); since = benefit start 2024-03-01.
const P: Record<string, string> = {}
const inCityAddress = `杭州市西湖区文三路${Math.floor(random() * 1e6)}号`

beforeAll(async () => {
  server = await startTestServer()
  hrss = await createTestKey(server.knex, { department: 'HRSS' })
  tax = await createTestKey(server.knex, { department: 'TAX' })
  psb = await createTestKey(server.knex, { department: 'PSB' })
  steward = await createTestKey(server.knex, { roles: ['STEWARD'] })

  for (const ref of [
    'employedAfter',
    'employedBefore',
    'representsActive',
    'representsCancelled',
    'dead',
    'outside',
    'inside',
    'plain',
    'laterEmployed',
  ])
    P[ref] = makeIdNumber('1980-01-01')
  await submit(server, 'CAB', 'ADDRESS', [
    { sourceKey: `a-${inCityAddress}`, attributes: { fullText: inCityAddress, divisionCode: '330106' } },
  ])
  await submit(
    server,
    'PSB',
    'PERSON',
    Object.entries(P).map(([ref, id]) => ({
      sourceKey: `psb-${id}`,
      observedAt: '2020-01-01T00:00:00Z',
      attributes: {
        idNumber: id,
        name: `比对${ref}`,
        householdAddressText: ref === 'outside' ? '安徽省合肥市蜀山区长江西路100号' : inCityAddress,
        ...(ref === 'dead' ? { deathDate: '2024-05-01' } : {}),
      },
    })),
  )
  await submit(server, 'HRSS', 'PERSON', [
    {
      sourceKey: `h-${P.employedAfter}`,
      observedAt: '2024-06-01T00:00:00Z',
      attributes: { idNumber: P.employedAfter, employmentStatus: 'EMPLOYED' },
    },
    {
      sourceKey: `h-${P.employedBefore}`,
      observedAt: '2023-01-01T00:00:00Z',
      attributes: { idNumber: P.employedBefore, employmentStatus: 'EMPLOYED' },
    },
    {
      sourceKey: `h-${P.plain}`,
      observedAt: '2024-06-01T00:00:00Z',
      attributes: { idNumber: P.plain, employmentStatus: 'UNEMPLOYED' },
    },
  ])
  await submit(server, 'AMR', 'LEGAL_ENTITY', [
    {
      sourceKey: `le-${uniqueSuffix()}`,
      attributes: {
        creditCode: makeCreditCode(),
        name: '在营公司',
        status: 'ACTIVE',
        legalRepresentativeIdNumber: P.representsActive,
      },
    },
    {
      sourceKey: `le-${uniqueSuffix()}`,
      attributes: {
        creditCode: makeCreditCode(),
        name: '注销公司',
        status: 'CANCELLED',
        legalRepresentativeIdNumber: P.representsCancelled,
      },
    },
  ])
})
afterAll(async () => {
  await server?.close()
})

const benefitSubjects = () => [
  ...Object.entries(P)
    .filter(([ref]) => ref !== 'laterEmployed')
    .map(([ref, key]) => ({ key, ref, since: '2024-03-01' })),
  { key: P.laterEmployed, ref: 'laterEmployed', since: '2024-03-01' },
  { key: `${P.plain.slice(0, 17)}${P.plain[17] === '0' ? '1' : '0'}`, ref: 'badCheckChar', since: '2024-03-01' },
  { key: makeIdNumber('1970-02-02'), ref: 'unknown', since: '2024-03-01' },
]

describe('EMPLOYMENT_WHILE_ON_BENEFIT', () => {
  let first: any
  it('finds each rule’s hits and only those; invalid and unknown keys are counted, never hits', async () => {
    const started = await start(hrss, { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects: benefitSubjects() })
    expect(started.subjectCount).toBe(11)
    const { check } = await finished(started.id, hrss)
    first = check
    expect(check).toMatchObject({
      status: 'DONE',
      subjectCount: 11,
      checkedCount: 11,
      invalidCount: 1,
      notFoundCount: 1,
      hitSubjectCount: 4,
      type: { code: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjectType: 'PERSON', owner: { code: 'HRSS' } },
      error: null,
    })
    expect(check.finishedAt).not.toBeNull()
    expect(hitsBy(check)).toEqual({
      employedAfter: ['EMPLOYED_SINCE'],
      representsActive: ['REPRESENTS_ACTIVE_ENTITY'],
      dead: ['DECEASED'],
      outside: ['HOUSEHOLD_OUTSIDE_CITY'],
    })
    const employed = check.hits.nodes.find((h: any) => h.rule.code === 'EMPLOYED_SINCE')
    expect(employed.subjectKey).toBe(P.employedAfter)
    expect(employed.rule.fields).toEqual(['PERSON.employmentStatus'])
    expect(employed.evidence).toEqual([
      {
        field: 'PERSON.employmentStatus',
        value: 'EMPLOYED',
        source: { code: 'HRSS' },
        observedAt: '2024-06-01T00:00:00.000Z',
        entity: { id: expect.any(String), entityType: 'PERSON' },
      },
    ])
    const rep = check.hits.nodes.find((h: any) => h.rule.code === 'REPRESENTS_ACTIVE_ENTITY')
    expect(rep.evidence).toMatchObject([
      {
        field: 'LEGAL_ENTITY.status',
        value: 'ACTIVE',
        source: { code: 'AMR' },
        entity: { entityType: 'LEGAL_ENTITY' },
      },
    ])
  })

  it('masks evidence by the requester’s access rules: HRSS may not see deathDate, a steward may', async () => {
    const { check, errors } = await finished(first.id, hrss)
    const dead = check.hits.nodes.find((h: any) => h.rule.code === 'DECEASED')
    expect(dead.evidence[0]).toMatchObject({ field: 'PERSON.deathDate', value: null, source: { code: 'PSB' } })
    expect(errors?.some((e) => e.extensions?.code === 'FORBIDDEN_FIELD' && e.extensions?.field === 'deathDate')).toBe(
      true,
    )
    const asSteward = await finished(first.id, steward)
    const dead2 = asSteward.check.hits.nodes.find((h: any) => h.rule.code === 'DECEASED')
    expect(dead2.evidence[0].value).toBe('2024-05-01')
    expect(asSteward.errors).toBeUndefined()
  })

  it('another department neither sees nor decides the check', async () => {
    const r = await server.gql(CHECK, { id: first.id }, psb)
    expect(r.data.crossCheck).toBeNull()
    const hit = first.hits.nodes[0]
    const d = await server.gql(DECIDE, { id: hit.id, d: 'CONFIRMED', r: 'x' }, psb)
    expect(errorOf(d).code).toBe('NOT_FOUND')
  })

  it('writes the run and every read of hits to the access log with the purpose', async () => {
    const purpose = `benefit review ${uniqueSuffix()}`
    const started = await start(
      { ...hrss, 'x-purpose': purpose },
      { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects: benefitSubjects() },
    )
    await finished(started.id, hrss)
    const run = await server
      .knex('access_log')
      .where('operation_name', `crossCheck EMPLOYMENT_WHILE_ON_BENEFIT ${started.id}`)
    expect(run).toHaveLength(1)
    expect(run[0].purpose).toBe(purpose)
    expect(run[0].person_ids).toHaveLength(9)
    expect(run[0].fields).toContain('PERSON.employmentStatus')
    const readPurpose = `read ${uniqueSuffix()}`
    const r = await server.gql(CHECK, { id: started.id }, { ...hrss, 'x-purpose': readPurpose })
    expect(r.data.crossCheck.hits.nodes).toHaveLength(4)
    const reads = await server
      .knex('access_log')
      .where({ operation_name: `crossCheck.hits EMPLOYMENT_WHILE_ON_BENEFIT ${started.id}`, purpose: readPurpose })
    expect(reads).toHaveLength(1)
    const person = await server.knex('persons').where('id_number', P.employedAfter).first()
    expect(reads[0].person_ids).toContain(person.id)
    expect(reads[0].principal_id).toBe(await principalIdOf(server.knex, hrss))
  })

  it('reads the registers as of asOf: re-running an old check gives its old answer', async () => {
    await submit(server, 'HRSS', 'PERSON', [
      {
        sourceKey: `h-${P.laterEmployed}`,
        observedAt: '2024-07-01T00:00:00Z',
        attributes: { idNumber: P.laterEmployed, employmentStatus: 'EMPLOYED' },
      },
    ])
    const now = await finished(
      (await start(hrss, { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects: benefitSubjects() })).id,
      hrss,
    )
    expect(hitsBy(now.check).laterEmployed).toEqual(['EMPLOYED_SINCE'])
    const old = await finished(
      (await start(hrss, { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', asOf: first.asOf, subjects: benefitSubjects() })).id,
      hrss,
    )
    expect(hitsBy(old.check)).toEqual(hitsBy(first))
    expect(old.check.hits.nodes.map((h: any) => h.evidence)).toEqual(first.hits.nodes.map((h: any) => h.evidence))
    // Before the persons existed the keys are not found at all.
    const before = await finished(
      (
        await start(hrss, {
          type: 'EMPLOYMENT_WHILE_ON_BENEFIT',
          asOf: '2001-01-01T00:00:00Z',
          subjects: benefitSubjects(),
        })
      ).id,
      hrss,
    )
    expect(before.check).toMatchObject({ notFoundCount: 10, invalidCount: 1, hitSubjectCount: 0 })
  })

  it('decisions: reason required, audited, once; monthly statistics count subjects, hits and confirmations', async () => {
    const stats = async () => {
      const r = await server.gql(
        `{ crossCheckStatistics(type: "EMPLOYMENT_WHILE_ON_BENEFIT") { period type { code } subjects hitSubjects confirmedSubjects } }`,
        undefined,
        hrss,
      )
      expect(r.errors).toBeUndefined()
      const period = new Date().toISOString().slice(0, 7)
      return (
        r.data.crossCheckStatistics.find((s: any) => s.period === period) ?? {
          subjects: 0,
          hitSubjects: 0,
          confirmedSubjects: 0,
        }
      )
    }
    const before = await stats()
    const { check } = await finished(
      (await start(hrss, { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects: benefitSubjects() })).id,
      hrss,
    )
    const [a, b] = check.hits.nodes
    const noReason = await server.gql(DECIDE, { id: a.id, d: 'CONFIRMED', r: '  ' }, hrss)
    expect(errorOf(noReason)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MISSING_FIELD', field: 'reason' })
    const pending = await server.gql(DECIDE, { id: a.id, d: 'PENDING', r: 'x' }, hrss)
    expect(errorOf(pending)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'decision' })
    const ok = await server.gql(DECIDE, { id: a.id, d: 'CONFIRMED', r: '已核实，停发' }, hrss)
    expect(ok.errors).toBeUndefined()
    expect(ok.data.decideCrossCheckHit).toMatchObject({
      id: a.id,
      decision: 'CONFIRMED',
      reason: '已核实，停发',
      decidedBy: { id: await principalIdOf(server.knex, hrss) },
    })
    const twice = await server.gql(DECIDE, { id: a.id, d: 'DISMISSED', r: 'again' }, hrss)
    expect(errorOf(twice)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'ALREADY_DECIDED' })
    expect((await server.gql(DECIDE, { id: b.id, d: 'DISMISSED', r: '信息滞后' }, steward)).errors).toBeUndefined()
    const audit = await server
      .knex('cross_check_hits as h')
      .join('transactions as t', 't.txid', 'h.decided_txid')
      .where('h.id', a.id)
      .first('t.operation', 't.reason', 't.principal_id')
    expect(audit).toEqual({
      operation: 'decideCrossCheckHit',
      reason: '已核实，停发',
      principal_id: await principalIdOf(server.knex, hrss),
    })
    const after = await finished(check.id, hrss)
    expect(after.check).toMatchObject({ confirmedCount: 1, dismissedCount: 1 })
    expect((await finished(check.id, hrss, 'CONFIRMED')).check.hits.nodes.map((h: any) => h.id)).toEqual([a.id])
    const s = await stats()
    expect(s.subjects - before.subjects).toBe(11)
    expect(s.hitSubjects - before.hitSubjects).toBe(check.hitSubjectCount)
    expect(s.confirmedSubjects - before.confirmedSubjects).toBe(1)
  })
})

describe('REAL_ESTATE_TAX_SOURCES', () => {
  it('finds land held while not tax-normal, buildings on held land, and AMR changes after since', async () => {
    const suspended = makeCreditCode()
    const normal = makeCreditCode()
    const changed = makeCreditCode()
    const landless = makeCreditCode()
    const rep1 = makeIdNumber('1970-01-01')
    const rep2 = makeIdNumber('1971-01-01')
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      { sourceKey: `le-${suspended}`, attributes: { creditCode: suspended, name: '停业地产', status: 'ACTIVE' } },
      { sourceKey: `le-${normal}`, attributes: { creditCode: normal, name: '正常地产', status: 'ACTIVE' } },
      { sourceKey: `le-${landless}`, attributes: { creditCode: landless, name: '无地公司', status: 'ACTIVE' } },
      {
        sourceKey: `le-${changed}`,
        observedAt: '2023-01-01T00:00:00Z',
        attributes: {
          creditCode: changed,
          name: '变更地产',
          legalRepresentativeIdNumber: rep1,
          registeredCapital: 1e7,
        },
      },
    ])
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      {
        sourceKey: `le-${changed}`,
        observedAt: '2024-08-01T00:00:00Z',
        attributes: {
          creditCode: changed,
          name: '变更地产',
          legalRepresentativeIdNumber: rep2,
          registeredCapital: 1e7,
        },
      },
    ])
    await submit(server, 'TAX', 'LEGAL_ENTITY', [
      { sourceKey: `t-${suspended}`, attributes: { creditCode: suspended, taxStatus: 'SUSPENDED' } },
      { sourceKey: `t-${normal}`, attributes: { creditCode: normal, taxStatus: 'NORMAL' } },
      { sourceKey: `t-${landless}`, attributes: { creditCode: landless, taxStatus: 'SUSPENDED' } },
    ])
    // A random spot in the extent, so no building of another test (or the demo) stands on these parcels.
    const x = 118.5 + random() * 2.1
    const y = 29.2 + random() * 1.3
    const p1 = `XC-${uniqueSuffix()}`.toUpperCase()
    const p2 = `XC-${uniqueSuffix()}`.toUpperCase()
    await submit(server, 'NRP', 'PARCEL', [
      {
        sourceKey: p1,
        attributes: { parcelCode: p1, landUserCreditCode: suspended },
        geometry: square(x, y, 0.002),
      },
      {
        sourceKey: p2,
        attributes: { parcelCode: p2, landUserCreditCode: normal },
        geometry: square(x + 0.01, y, 0.002),
      },
    ])
    await submit(server, 'NRP', 'BUILDING', [
      {
        sourceKey: `b-${p2}`,
        attributes: { name: '1号楼', floors: 10 },
        geometry: square(x + 0.0105, y + 0.0005, 0.0005),
      },
      // Outside every parcel: not on held land.
      {
        sourceKey: `b2-${p2}`,
        attributes: { name: '2号楼', floors: 3 },
        geometry: square(x + 0.02, y + 0.0005, 0.0005),
      },
    ])
    const subjects = [
      { key: suspended, ref: 'suspended', since: '2024-01-01' },
      { key: normal, ref: 'normal', since: '2024-01-01' },
      { key: changed, ref: 'changed', since: '2024-01-01' },
      { key: landless, ref: 'landless', since: '2024-01-01' },
    ]
    const { check, errors } = await finished((await start(tax, { type: 'REAL_ESTATE_TAX_SOURCES', subjects })).id, tax)
    expect(check.status).toBe('DONE')
    expect(hitsBy(check)).toEqual({
      suspended: ['HOLDS_LAND_NOT_TAX_NORMAL'],
      normal: ['BUILDINGS_ON_HELD_LAND'],
      changed: ['EQUITY_OR_REPRESENTATIVE_CHANGED'],
    })
    const land = check.hits.nodes.find((h: any) => h.rule.code === 'HOLDS_LAND_NOT_TAX_NORMAL')
    expect(land.evidence.map((e: any) => [e.field, e.value])).toEqual([
      ['LEGAL_ENTITY.taxStatus', 'SUSPENDED'],
      ['PARCEL.landUserCreditCode', suspended],
    ])
    const buildings = check.hits.nodes.find((h: any) => h.rule.code === 'BUILDINGS_ON_HELD_LAND')
    expect(buildings.evidence).toHaveLength(1)
    expect(buildings.evidence[0].field).toBe('BUILDING.footprint')
    expect(buildings.evidence[0].value.parcelCode).toBe(p2)
    expect(buildings.evidence[0].value.floors).toBe(10)
    // ~46–51 m × 55 m in this band of latitudes, ten floors.
    expect(buildings.evidence[0].value.floorAreaSqM).toBeGreaterThan(buildings.evidence[0].value.footprintSqM * 9.9)
    expect(buildings.evidence[0].value.footprintSqM).toBeGreaterThan(2000)
    expect(buildings.evidence[0].value.footprintSqM).toBeLessThan(3500)
    const change = check.hits.nodes.find((h: any) => h.rule.code === 'EQUITY_OR_REPRESENTATIVE_CHANGED')
    // The representative's ID number is CONDITIONAL: TAX sees it only with a grant (the demo seed,
    // if it ran on this database, grants it; a fresh test database has none).
    const granted = (await grantedFields(server.knex, 'TAX')).has('LEGAL_ENTITY|legalRepresentative')
    expect(change.evidence).toMatchObject([
      { field: 'LEGAL_ENTITY.legalRepresentative', value: granted ? rep2 : null, source: { code: 'AMR' } },
    ])
    expect(errors?.some((e) => e.extensions?.code === 'FORBIDDEN_FIELD') ?? false).toBe(!granted)
  })
})

describe('bad input', () => {
  it('unknown type, wrong subject type, too many subjects, not the owner, future asOf', async () => {
    const unknown = await server.gql(
      START,
      { input: { type: 'NO_SUCH_TYPE', subjects: [{ key: makeIdNumber() }] } },
      hrss,
    )
    expect(errorOf(unknown)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.type' })
    const wrong = await server.gql(
      START,
      {
        input: { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects: [{ key: makeIdNumber() }, { key: makeCreditCode() }] },
      },
      hrss,
    )
    expect(errorOf(wrong)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.subjects[1].key' })
    const wrong2 = await server.gql(
      START,
      { input: { type: 'REAL_ESTATE_TAX_SOURCES', subjects: [{ key: makeIdNumber() }] } },
      tax,
    )
    expect(errorOf(wrong2)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.subjects[0].key' })
    const key = makeIdNumber()
    const many = await server.gql(
      START,
      { input: { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects: Array.from({ length: 10_001 }, () => ({ key })) } },
      hrss,
    )
    expect(errorOf(many)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.subjects' })
    const notOwner = await server.gql(
      START,
      { input: { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects: [{ key }] } },
      psb,
    )
    expect(errorOf(notOwner).code).toBe('FORBIDDEN')
    const future = await server.gql(
      START,
      { input: { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', asOf: '2999-01-01T00:00:00Z', subjects: [{ key }] } },
      hrss,
    )
    expect(errorOf(future)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_DATE' })
    const anonymous = await server.gql('{ crossCheckTypes { code } }')
    expect(errorOf(anonymous).code).toBe('UNAUTHENTICATED')
    const badStats = await server.gql('{ crossCheckStatistics(from: "2024-13") { period } }', undefined, hrss)
    expect(errorOf(badStats)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' })
    const unknownHit = await server.gql(DECIDE, { id: '999999999', d: 'CONFIRMED', r: 'x' }, hrss)
    expect(errorOf(unknownHit).code).toBe('NOT_FOUND')
    // Nothing was created by the refused calls.
    const rows = await server.knex('cross_checks').where('requested_by', await principalIdOf(server.knex, psb))
    expect(rows).toHaveLength(0)
  })

  it('lists the types with their rules', async () => {
    const r = await server.gql(
      '{ crossCheckTypes { code subjectType owner { code } rules { code fields } } }',
      undefined,
      psb,
    )
    expect(r.errors).toBeUndefined()
    const byCode = Object.fromEntries(r.data.crossCheckTypes.map((t: any) => [t.code, t]))
    expect(byCode.EMPLOYMENT_WHILE_ON_BENEFIT.rules.map((x: any) => x.code)).toEqual([
      'EMPLOYED_SINCE',
      'REPRESENTS_ACTIVE_ENTITY',
      'DECEASED',
      'HOUSEHOLD_OUTSIDE_CITY',
    ])
    expect(byCode.REAL_ESTATE_TAX_SOURCES).toMatchObject({ subjectType: 'LEGAL_ENTITY', owner: { code: 'TAX' } })
  })
})

describe('restart', () => {
  it('a check RUNNING when its process died resumes on the next start and ends as a clean run would', async () => {
    const hrssPrincipal = await principalIdOf(server.knex, hrss)
    const principal = { id: hrssPrincipal, name: 'hrss', departmentCode: 'HRSS', roles: ['DEPARTMENT_APP' as const] }
    const clean = await finished(
      (await start(hrss, { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects: benefitSubjects() })).id,
      hrss,
    )
    // As a dead process leaves it: RUNNING, progress part-way, heartbeat long silent.
    const orphan = await createCrossCheck(server.knex, principal, {
      type: 'EMPLOYMENT_WHILE_ON_BENEFIT',
      asOf: new Date(clean.check.asOf),
      subjects: benefitSubjects(),
      purpose: null,
    })
    // Its valid subjects as a check stored before keys were resolved on insert: still PENDING.
    await server
      .knex('cross_check_subjects')
      .where('check_id', orphan.id)
      .whereNot('status', 'INVALID')
      .update({ status: 'PENDING', entity_id: null })
    // The dead worker had finished its first step (subjects 0–4): their hits and progress committed.
    const type = await findType(server.knex, 'EMPLOYMENT_WHILE_ON_BENEFIT')
    await server.knex.transaction(async (trx) => {
      const slice = { checkId: orphan.id, from: 0, to: 5, asOf: orphan.as_of }
      await resolveSubjects(trx, 'PERSON', slice)
      for (const rule of type!.rules) await runRuleStatement(trx, ruleSql('PERSON', rule, slice))
    })
    await server
      .knex('cross_checks')
      .where('id', orphan.id)
      .update({
        status: 'RUNNING',
        worker: 'dead-host:1:x',
        attempts: 1,
        checked_count: 5,
        heartbeat_at: new Date(Date.now() - 3_600_000),
      })
    expect(
      Number((await server.knex('cross_check_hits').where('check_id', orphan.id).count({ n: '*' }))[0].n),
    ).toBeGreaterThan(0)
    const hopeless = await createCrossCheck(server.knex, principal, {
      type: 'EMPLOYMENT_WHILE_ON_BENEFIT',
      subjects: benefitSubjects(),
      purpose: null,
    })
    await server
      .knex('cross_checks')
      .where('id', hopeless.id)
      .update({
        status: 'RUNNING',
        worker: 'dead-host:1:x',
        attempts: 3,
        heartbeat_at: new Date(Date.now() - 3_600_000),
      })
    await server.close()
    server = await startTestServer({ crossCheckStaleMs: 5_000 })
    hrss = await createTestKey(server.knex, { department: 'HRSS' })
    const resumed = await finished(orphan.id, hrss)
    expect(resumed.check.status).toBe('DONE')
    expect(hitsBy(resumed.check)).toEqual(hitsBy(clean.check))
    expect(resumed.check).toMatchObject({
      invalidCount: 1,
      notFoundCount: 1,
      hitSubjectCount: clean.check.hitSubjectCount,
    })
    const failed = await finished(hopeless.id, hrss)
    expect(failed.check).toMatchObject({ status: 'FAILED', error: expect.stringContaining('gave up after 3 attempts') })
    expect(failed.check.finishedAt).not.toBeNull()
  })
})
