import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, personByIdNumber, RESOLVE, STEWARD, submit } from './scenario.fixtures.js'

// Regressions found by a review of the service as a department app, a GIS user or a steward meets it.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('asOf time travel', () => {
  it('answers null for an id of another entity type, as without asOf', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1970-01-02')
    const creditCode = makeCreditCode()
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        attributes: { idNumber, name: `Review ${sfx}`, gender: 'FEMALE', birthDate: '1970-01-02' },
      },
    ])
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      { sourceKey: `le-${sfx}`, attributes: { creditCode, name: `Review Co ${sfx}`, kind: 'ENTERPRISE' } },
    ])
    const person = await personByIdNumber(server, idNumber)
    const le = (
      await server.gql('query($c: String!) { legalEntity(creditCode: $c) { id } }', { c: creditCode }, STEWARD)
    ).data.legalEntity
    const later = new Date(Date.now() + 3_600_000).toISOString()
    const r = await server.gql(
      `query($p: ID!, $l: ID!, $t: DateTime!) {
      asPerson: person(id: $l, asOf: $t) { id name } asLegalEntity: legalEntity(id: $p, asOf: $t) { id name }
      samePerson: person(id: $p, asOf: $t) { id name } }`,
      { p: person.id, l: le.id, t: later },
      STEWARD,
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.asPerson).toBeNull()
    expect(r.data.asLegalEntity).toBeNull()
    expect(r.data.samePerson).toEqual({ id: person.id, name: `Review ${sfx}` })
  })

  it('provenance shows underInvestigation as it was at asOf', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1981-07-07')
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        observedAt: '2024-01-01T00:00:00Z',
        attributes: { idNumber, name: `Review ${sfx}`, gender: 'MALE', birthDate: '1981-07-07' },
      },
    ])
    await submit(server, 'HEALTH', 'PERSON', [
      {
        sourceKey: `h-${sfx}`,
        observedAt: '2024-02-01T00:00:00Z',
        attributes: { idNumber, birthDate: '1981-07-08' },
      },
    ])
    const person = await personByIdNumber(server, idNumber)
    const conflictId = person.conflicts.find((c: { kind: string }) => c.kind === 'VALUE_MISMATCH').id
    await sleep(30)
    const resolved = await server.gql(
      RESOLVE,
      { id: conflictId, decision: 'KEEP_AUTHORITATIVE', reason: `checked ${sfx}` },
      STEWARD,
    )
    expect(resolved.errors).toBeUndefined()
    const c = (
      await server.gql('query($id: ID!) { conflict(id: $id) { openedAt resolvedAt } }', { id: conflictId }, STEWARD)
    ).data.conflict
    const between = new Date((Date.parse(c.openedAt) + Date.parse(c.resolvedAt)) / 2).toISOString()
    const q = `query($id: ID!, $t: DateTime!) { person(id: $id, asOf: $t) { provenance(fields: ["birthDate"]) { value underInvestigation } } }`
    const then = await server.gql(q, { id: person.id, t: between }, STEWARD)
    expect(then.errors).toBeUndefined()
    expect(then.data.person.provenance).toEqual([{ value: '1981-07-07', underInvestigation: true }])
    const after = await server.gql(
      q,
      { id: person.id, t: new Date(Date.parse(c.resolvedAt) + 1000).toISOString() },
      STEWARD,
    )
    expect(after.data.person.provenance).toEqual([{ value: '1981-07-07', underInvestigation: false }])
  })
})

const cursor = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url')
const badInputOf = (r: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions

describe('cursors of the change feed and the access log', () => {
  it.each([[[1.5]], [[1e20]], [[-1]], [[2, 3, 4]], [[2, -3]], [['2', 3]]])(
    'reject the forged cursor %j as BAD_USER_INPUT',
    async (key) => {
      const changes = await server.gql(
        'query($a: String) { changes(after: $a) { nodes { cursor } } }',
        { a: cursor(key) },
        STEWARD,
      )
      expect(badInputOf(changes)).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_VALUE',
        field: 'after',
      })
      const log = await server.gql(
        'query($a: String) { accessLog(personId: "00000000-0000-4000-8000-000000000000", after: $a) { totalCount } }',
        { a: cursor(key) },
        STEWARD,
      )
      expect(badInputOf(log)).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_VALUE',
        field: 'after',
      })
    },
  )

  it('still accept their own cursors', async () => {
    const first = await server.gql(
      '{ changes(first: 1) { nodes { cursor } pageInfo { endCursor } } }',
      undefined,
      STEWARD,
    )
    const next = await server.gql(
      'query($a: String) { changes(first: 1, after: $a) { nodes { cursor } } }',
      { a: first.data.changes.pageInfo.endCursor },
      STEWARD,
    )
    expect(next.errors).toBeUndefined()
    expect(next.data.changes.nodes[0]?.cursor).not.toBe(first.data.changes.nodes[0].cursor)
  })
})

describe('variables GraphQL itself rejects', () => {
  it('are BAD_USER_INPUT with a reason and the variable as field', async () => {
    const date = await server.gql(
      'query($t: DateTime) { person(id: "00000000-0000-4000-8000-000000000000", asOf: $t) { id } }',
      { t: '2024-13-45T00:00:00Z' },
      STEWARD,
    )
    expect(badInputOf(date)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_DATE', field: 't' })
    const gender = await server.gql(
      'query($g: Gender) { persons(filter: { gender: $g }) { totalCount } }',
      { g: 'ALIEN' },
      STEWARD,
    )
    expect(badInputOf(gender)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE', field: 'g' })
    const nested = await server.gql(
      'query($f: PersonFilter) { persons(filter: $f) { totalCount } }',
      { f: { gender: 'ALIEN' } },
      STEWARD,
    )
    expect(badInputOf(nested)).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_VALUE',
      field: 'f.gender',
    })
  })
})

describe('ranked address search cursor', () => {
  it('rejects a forged score outside [0, 1] as BAD_USER_INPUT', async () => {
    for (const score of [1e39, -1, 2]) {
      const r = await server.gql(
        'query($a: String) { addresses(after: $a, filter: { textContains: "湖墅南路" }) { totalCount nodes { id } } }',
        { a: cursor([score, '00000000-0000-4000-8000-000000000000']) },
        STEWARD,
      )
      expect(badInputOf(r)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE', field: 'after' })
    }
  })
})

describe('dates of facts that have happened', () => {
  it('a birth, death or establishment date in the future is INVALID_DATE, and a death before birth too', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1960-03-03')
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        attributes: { idNumber, name: `Review ${sfx}`, gender: 'MALE', birthDate: '1960-03-03' },
      },
    ])
    const future = `${new Date().getUTCFullYear() + 2}-01-01`
    const r = await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `h1-${sfx}`, attributes: { idNumber, deathDate: future } },
      { sourceKey: `h2-${sfx}`, attributes: { idNumber, birthDate: future } },
      { sourceKey: `h3-${sfx}`, attributes: { idNumber, birthDate: '1960-03-03', deathDate: '1950-01-01' } },
      { sourceKey: `h4-${sfx}`, attributes: { idNumber, birthDate: '1960-03-03', deathDate: '2001-01-01' } },
    ])
    expect(r.rejected.map((x) => [x.sourceKey, x.code, x.field])).toEqual([
      [`h1-${sfx}`, 'INVALID_DATE', 'deathDate'],
      [`h2-${sfx}`, 'INVALID_DATE', 'birthDate'],
      [`h3-${sfx}`, 'INVALID_DATE', 'deathDate'],
    ])
    expect(r.accepted).toBe(1)
    const le = await submit(server, 'AMR', 'LEGAL_ENTITY', [
      {
        sourceKey: `le-${sfx}`,
        attributes: { creditCode: makeCreditCode(), name: `Co ${sfx}`, establishedDate: future },
      },
    ])
    expect(le.rejected.map((x) => [x.code, x.field])).toEqual([['INVALID_DATE', 'establishedDate']])
  })
})

describe('asOf after a merge', () => {
  it('a merged-away person is null at a time after the merge, and as it was before it', async () => {
    const sfx = uniqueSuffix()
    const a = makeIdNumber('1975-04-04')
    const b = makeIdNumber('1975-04-04')
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `a-${sfx}`,
        attributes: { idNumber: a, name: `Merge A ${sfx}`, gender: 'MALE', birthDate: '1975-04-04' },
      },
      {
        sourceKey: `b-${sfx}`,
        attributes: { idNumber: b, name: `Merge B ${sfx}`, gender: 'MALE', birthDate: '1975-04-04' },
      },
    ])
    const survivor = await personByIdNumber(server, a)
    const merged = await personByIdNumber(server, b)
    const before = new Date().toISOString()
    await sleep(30)
    const m = await server.gql(
      'mutation($s: ID!, $m: ID!) { mergeEntities(survivorId: $s, mergedId: $m, reason: "same person") { id } }',
      { s: survivor.id, m: merged.id },
      STEWARD,
    )
    expect(m.errors).toBeUndefined()
    const q = 'query($id: ID!, $t: DateTime!) { person(id: $id, asOf: $t) { id name } }'
    const later = await server.gql(q, { id: merged.id, t: new Date(Date.now() + 3_600_000).toISOString() }, STEWARD)
    expect(later.errors).toBeUndefined()
    expect(later.data.person).toBeNull()
    const then = await server.gql(q, { id: merged.id, t: before }, STEWARD)
    expect(then.data.person).toEqual({ id: merged.id, name: `Merge B ${sfx}` })
  })
})

describe('a record corrected to an ID number another person holds', () => {
  it('opens one POSSIBLE_DUPLICATE between the two persons for a steward', async () => {
    const sfx = uniqueSuffix()
    const a = makeIdNumber('1988-08-08')
    const b = makeIdNumber('1988-08-08')
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `a-${sfx}`,
        attributes: { idNumber: a, name: `Key A ${sfx}`, gender: 'FEMALE', birthDate: '1988-08-08' },
      },
      {
        sourceKey: `b-${sfx}`,
        attributes: { idNumber: b, name: `Key B ${sfx}`, gender: 'FEMALE', birthDate: '1988-08-08' },
      },
    ])
    const holder = await personByIdNumber(server, b)
    const pa = await personByIdNumber(server, a)
    const corrected = {
      sourceKey: `a-${sfx}`,
      observedAt: '2025-06-01T00:00:00Z',
      attributes: { idNumber: b, name: `Key A ${sfx}`, gender: 'FEMALE', birthDate: '1988-08-08' },
    }
    const r = await submit(server, 'PSB', 'PERSON', [corrected])
    expect(r.possibleDuplicates).toBe(1)
    const q = `query($id: ID!) { person(id: $id) { conflicts(status: OPEN) { kind matchScore entity { id } otherEntity { id } } } }`
    const open = (await server.gql(q, { id: holder.id }, STEWARD)).data.person.conflicts
    expect(open).toEqual([
      { kind: 'POSSIBLE_DUPLICATE', matchScore: 1, entity: { id: pa.id }, otherEntity: { id: holder.id } },
    ])
    // Sending it again (now with another field changed) does not open a second one.
    const again = await submit(server, 'PSB', 'PERSON', [
      { ...corrected, attributes: { ...corrected.attributes, ethnicity: '汉族' } },
    ])
    expect(again.possibleDuplicates).toBe(0)
    expect((await server.gql(q, { id: holder.id }, STEWARD)).data.person.conflicts).toHaveLength(1)
  })
})

describe('conflicts connection', () => {
  it('lists oldest first and pages without repeats or gaps', async () => {
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const sfx = uniqueSuffix()
      const idNumber = makeIdNumber('1966-06-06')
      await submit(server, 'PSB', 'PERSON', [
        {
          sourceKey: `p-${sfx}`,
          attributes: { idNumber, name: `Order ${sfx}`, gender: 'MALE', birthDate: '1966-06-06' },
        },
      ])
      await submit(server, 'HEALTH', 'PERSON', [
        { sourceKey: `h-${sfx}`, attributes: { idNumber, birthDate: '1966-06-07' } },
      ])
      ids.push((await personByIdNumber(server, idNumber)).conflicts[0].id)
    }
    const seen: { id: string; openedAt: string }[] = []
    let after: string | null = null
    let total = -1
    for (;;) {
      const r: any = await server.gql(
        'query($a: String) { conflicts(first: 2, after: $a) { totalCount pageInfo { hasNextPage endCursor } nodes { id openedAt } } }',
        { a: after },
        STEWARD,
      )
      expect(r.errors).toBeUndefined()
      total = r.data.conflicts.totalCount
      seen.push(...r.data.conflicts.nodes)
      if (!r.data.conflicts.pageInfo.hasNextPage) break
      after = r.data.conflicts.pageInfo.endCursor
    }
    expect(new Set(seen.map((c) => c.id)).size).toBe(seen.length)
    expect(seen.length).toBe(total)
    const opened = seen.map((c) => Date.parse(c.openedAt))
    expect(opened).toEqual([...opened].sort((x, y) => x - y))
    const positions = ids.map((id) => seen.findIndex((c) => c.id === id))
    expect(positions.every((p) => p >= 0)).toBe(true)
    expect(positions).toEqual([...positions].sort((x, y) => x - y))
  })

  it('rejects a forged cursor as BAD_USER_INPUT', async () => {
    for (const key of [
      ['2024-13-45T00:00:00.000000Z', '00000000-0000-4000-8000-000000000000'],
      ['00000000-0000-4000-8000-000000000000'],
      ['x', 'y'],
    ]) {
      const r = await server.gql(
        'query($a: String) { conflicts(after: $a) { totalCount } }',
        { a: cursor(key) },
        STEWARD,
      )
      expect(badInputOf(r)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' })
    }
  })
})

describe('conflict inbox filters by department', () => {
  it('matches department codes in any case and refuses an unknown one', async () => {
    const { createTestKey } = await import('../access-helpers.js')
    const auth = await createTestKey(server.knex, { roles: ['STEWARD'] })
    const q = `query($f: ConflictFilter) { conflicts(filter: $f, first: 1) { totalCount } }`
    const upper = await server.gql(q, { f: { department: 'HEALTH' } }, auth)
    const lower = await server.gql(q, { f: { department: 'health' } }, auth)
    expect(upper.errors).toBeUndefined()
    expect(lower.data.conflicts.totalCount).toBe(upper.data.conflicts.totalCount)
    const unknown = await server.gql(q, { f: { authority: 'NOPE' } }, auth)
    expect(unknown.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'filter.authority',
    })
  })
})
