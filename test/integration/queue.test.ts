import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { personMatchScore } from '../../src/reconciliation/rules/match.js'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, type TestServer } from '../helpers.js'
import { makeIdNumber } from './scenario.fixtures.js'
import { createSpatialFixture, type SpatialFixture, submit } from './spatial-fixtures.js'

// The steward's queue API behind the console: counts per filter value, district and age filters,
// bulk decisions (resolveConflicts) and the match breakdown of a possible duplicate; and the
// console's static files at /console.

let server: TestServer
let fixture: SpatialFixture
let steward: Record<string, string>
const ids: string[] = []

const OPEN_IN_DISTRICT = `query($f: ConflictFilter) {
  conflicts(first: 50, filter: $f) { totalCount nodes { id kind field } }
  conflictCounts(filter: $f) { total byKind { key count } byField { key count } byAuthority { key count } byEntityType { key count } }
}`
const BULK = `mutation($ids: [ID!]!, $decision: ConflictDecision!, $reason: String!) {
  resolveConflicts(ids: $ids, decision: $decision, reason: $reason) { id errorCode errorMessage conflict { id status decision reason } }
}`

beforeAll(async () => {
  // /console needs the built page; npm test builds it first, a single-file run may not have.
  const build = '../../scripts/build-console.mjs'
  await (await import(build)).buildConsole()
  server = await startTestServer()
  steward = await createTestKey(server.knex, { roles: ['STEWARD'] })
  fixture = await createSpatialFixture(server)
  const living = fixture.residents.filter((r) => !r.deceased).slice(0, 4)
  await submit(
    server,
    'PSB',
    'PERSON',
    living.map((r) => ({
      sourceKey: `person-${r.idNumber}`,
      attributes: { idNumber: r.idNumber, birthDate: '1990-01-01' },
    })),
  )
  await submit(
    server,
    'HEALTH',
    'PERSON',
    living.map((r) => ({
      sourceKey: `h-${r.idNumber}`,
      attributes: { idNumber: r.idNumber, birthDate: '1990-01-02' },
    })),
  )
  const r = await server.gql(OPEN_IN_DISTRICT, { f: { status: 'OPEN', district: fixture.district } }, steward)
  expect(r.errors).toBeUndefined()
  ids.push(...r.data.conflicts.nodes.map((n: { id: string }) => n.id))
  expect(ids).toHaveLength(4)
})
afterAll(async () => {
  await server?.close()
})

describe('conflictCounts and the district and age filters', () => {
  it('counts the open conflicts of a district in all and per kind, field, authority and entity type', async () => {
    const r = await server.gql(OPEN_IN_DISTRICT, { f: { status: 'OPEN', district: fixture.district } }, steward)
    expect(r.data.conflicts.totalCount).toBe(4)
    expect(r.data.conflictCounts).toEqual({
      total: 4,
      byKind: [{ key: 'VALUE_MISMATCH', count: 4 }],
      byField: [{ key: 'birthDate', count: 4 }],
      byAuthority: [{ key: 'PSB', count: 4 }],
      byEntityType: [{ key: 'PERSON', count: 4 }],
    })
    // A township takes in only its own addresses; the district's code prefix takes in both townships.
    const t1 = await server.gql(OPEN_IN_DISTRICT, { f: { status: 'OPEN', district: fixture.township1 } }, steward)
    const t2 = await server.gql(OPEN_IN_DISTRICT, { f: { status: 'OPEN', district: fixture.township2 } }, steward)
    expect(t1.data.conflictCounts.total + t2.data.conflictCounts.total).toBe(4)
  })

  it('openedBefore leaves out conflicts opened later', async () => {
    const past = await server.gql(
      OPEN_IN_DISTRICT,
      { f: { status: 'OPEN', district: fixture.district, openedBefore: '2020-01-01T00:00:00Z' } },
      steward,
    )
    expect(past.data.conflicts.totalCount).toBe(0)
    expect(past.data.conflictCounts.total).toBe(0)
    const future = await server.gql(
      OPEN_IN_DISTRICT,
      { f: { status: 'OPEN', district: fixture.district, openedBefore: new Date(Date.now() + 60_000).toISOString() } },
      steward,
    )
    expect(future.data.conflictCounts.total).toBe(4)
  })

  it('refuses a district that is not a division code, an unknown department, and anonymous callers', async () => {
    for (const district of ['33%', 'abc', '3']) {
      const r = await server.gql(OPEN_IN_DISTRICT, { f: { district } }, steward)
      expect(r.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_DIVISION_CODE',
        field: 'filter.district',
      })
    }
    const dept = await server.gql(`{ conflictCounts(filter: { authority: "NOPE" }) { total } }`, {}, steward)
    expect(dept.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.authority' })
    const anon = await server.gql(`{ conflictCounts { total } }`)
    expect(anon.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED')
  })
})

describe('resolveConflicts', () => {
  it('decides many with one reason, each audited; one decided meanwhile is reported as ALREADY_RESOLVED', async () => {
    const [first, second, third] = ids
    const single = await server.gql(
      `mutation($id: ID!) { resolveConflict(id: $id, decision: KEEP_AUTHORITATIVE, reason: "checked first") { id } }`,
      { id: first },
      steward,
    )
    expect(single.errors).toBeUndefined()
    const reason = `bulk ${fixture.district}`
    const r = await server.gql(
      BULK,
      { ids: [first, second, third, second], decision: 'ACCEPT_CANDIDATE', reason },
      steward,
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.resolveConflicts).toEqual([
      {
        id: first,
        errorCode: 'ALREADY_RESOLVED',
        errorMessage: expect.stringContaining('already resolved'),
        conflict: null,
      },
      {
        id: second,
        errorCode: null,
        errorMessage: null,
        conflict: { id: second, status: 'RESOLVED', decision: 'ACCEPT_CANDIDATE', reason },
      },
      {
        id: third,
        errorCode: null,
        errorMessage: null,
        conflict: { id: third, status: 'RESOLVED', decision: 'ACCEPT_CANDIDATE', reason },
      },
    ])
    const audited = await server.knex('transactions').where({ operation: 'resolveConflict', reason }).count({ n: '*' })
    expect(Number(audited[0].n)).toBe(2)
    const golden = await server
      .knex('golden_values as g')
      .join('conflicts as k', 'k.entity_id', 'g.entity_id')
      .whereIn('k.id', [second, third])
      .where('g.field', 'birthDate')
      .select('g.value', 'g.status')
    expect(golden).toEqual([
      { value: '1990-01-02', status: 'STEWARD_OVERRIDE' },
      { value: '1990-01-02', status: 'STEWARD_OVERRIDE' },
    ])
  })

  it('reports a decision that does not fit and an unknown id per conflict, and refuses bad calls as a whole', async () => {
    const last = ids[3]
    const unknown = '00000000-0000-4000-8000-000000000000'
    const r = await server.gql(BULK, { ids: [last, unknown], decision: 'MERGE', reason: 'x' }, steward)
    expect(r.data.resolveConflicts.map((x: { errorCode: string }) => x.errorCode)).toEqual([
      'INVALID_VALUE',
      'NOT_FOUND',
    ])
    const calls: [Record<string, unknown>, Record<string, string> | undefined, Record<string, unknown>][] = [
      [
        { ids: [last], decision: 'KEEP_AUTHORITATIVE', reason: ' ' },
        steward,
        { reason: 'MISSING_FIELD', field: 'reason' },
      ],
      [{ ids: [], decision: 'KEEP_AUTHORITATIVE', reason: 'x' }, steward, { reason: 'MISSING_FIELD', field: 'ids' }],
      [{ ids: ['not-an-id'], decision: 'KEEP_AUTHORITATIVE', reason: 'x' }, steward, { field: 'ids' }],
      [{ ids: Array(501).fill(last), decision: 'KEEP_AUTHORITATIVE', reason: 'x' }, steward, { field: 'ids' }],
      [
        { ids: [last], decision: 'KEEP_AUTHORITATIVE', reason: 'x' },
        await createTestKey(server.knex, { department: 'HEALTH' }),
        { code: 'FORBIDDEN' },
      ],
    ]
    for (const [vars, key, ext] of calls) {
      const bad = await server.gql(BULK, vars, key)
      expect(bad.errors?.[0].extensions, JSON.stringify(vars).slice(0, 80)).toMatchObject(ext)
    }
    const still = await server.knex('conflicts').where('id', last).first()
    expect(still.status).toBe('OPEN')
  })
})

describe('Conflict.matchBreakdown', () => {
  it('gives weight and agreement per field, adding up to the score of the values shown now', async () => {
    const name = `配对${fixture.district}`
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `pair-${fixture.district}`,
        attributes: { idNumber: makeIdNumber('1966-06-06'), name, birthDate: '1966-06-06', gender: 'MALE' },
      },
    ])
    await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `pair-h-${fixture.district}`, attributes: { name, birthDate: '1966-06-06', gender: 'FEMALE' } },
    ])
    const row = await server
      .knex('conflicts as k')
      .join('golden_values as g', 'g.entity_id', 'k.entity_id')
      .where({ 'k.kind': 'POSSIBLE_DUPLICATE', 'g.field': 'name' })
      .whereRaw(`g.value = to_jsonb(?::text)`, [name])
      .select('k.id')
      .first()
    const r = await server.gql(
      `query($id: ID!) { conflict(id: $id) { matchScore matchBreakdown { field weight agreement counted } } }`,
      { id: row.id },
      steward,
    )
    expect(r.errors).toBeUndefined()
    const parts = r.data.conflict.matchBreakdown
    expect(parts).toEqual([
      { field: 'name', weight: 0.4, agreement: 1, counted: true },
      { field: 'birthDate', weight: 0.35, agreement: 1, counted: true },
      { field: 'gender', weight: 0.1, agreement: 0, counted: true },
      { field: 'address', weight: 0.15, agreement: 0, counted: false },
    ])
    const counted = parts.filter((p: { counted: boolean }) => p.counted)
    const score =
      counted.reduce((s: number, p: { weight: number; agreement: number }) => s + p.weight * p.agreement, 0) /
      counted.reduce((s: number, p: { weight: number }) => s + p.weight, 0)
    expect(Math.round(score * 1000) / 1000).toBe(
      personMatchScore(
        { name, birthDate: '1966-06-06', gender: 'MALE' },
        { name, birthDate: '1966-06-06', gender: 'FEMALE' },
      ),
    )
    expect(r.data.conflict.matchScore).toBe(Math.round(score * 1000) / 1000)
    const mismatch = await server.gql(
      `query($id: ID!) { conflict(id: $id) { matchBreakdown { field } } }`,
      { id: ids[3] },
      steward,
    )
    expect(mismatch.data.conflict.matchBreakdown).toBeNull()
  })
})

describe('/console', () => {
  it('serves the built page and its assets from this origin under a strict content security policy', async () => {
    for (const path of ['/console', '/console/', '/console/index.html']) {
      const res = await fetch(`${server.url}${path}`)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
      const html = await res.text()
      expect(html).toContain('<div id="app">')
      const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1])
      expect(assets.length).toBeGreaterThan(0)
      for (const a of assets) expect((await fetch(`${server.url}${a}`)).status, a).toBe(200)
    }
    expect((await fetch(`${server.url}/console/assets/nope.js`)).status).toBe(404)
  })
})
