import 'reflect-metadata'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeCursor, encodeCursor } from '../../src/graphql/pagination.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, personByIdNumber, prov, STEWARD, submit } from './scenario.fixtures.js'

// CONTRACT.md §2, one rule at a time, through GraphQL over HTTP.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

const openMismatches = (person: { conflicts: { kind: string; status: string; field: string }[] }, field: string) =>
  person.conflicts.filter((c) => c.kind === 'VALUE_MISMATCH' && c.status === 'OPEN' && c.field === field)

describe('merge rules', () => {
  it('1: the authority claim wins; an older one does not replace it; the previous value moves to history', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1980-01-01')
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        observedAt: '2024-01-01T00:00:00Z',
        attributes: { idNumber, name: `Old ${sfx}` },
      },
    ])
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        observedAt: '2024-06-01T00:00:00Z',
        attributes: { idNumber, name: `New ${sfx}` },
      },
    ])
    let person = await personByIdNumber(server, idNumber)
    expect(prov(person, 'name')).toMatchObject({
      value: `New ${sfx}`,
      status: 'AUTHORITATIVE',
      source: { code: 'PSB' },
      authority: { code: 'PSB' },
    })
    // An older observation, by the same record or another PSB record, does not win.
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        observedAt: '2023-01-01T00:00:00Z',
        attributes: { idNumber, name: `Older ${sfx}` },
      },
    ])
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p2-${sfx}`,
        observedAt: '2023-06-01T00:00:00Z',
        attributes: { idNumber, name: `Older2 ${sfx}` },
      },
    ])
    person = await personByIdNumber(server, idNumber)
    expect(person.name).toBe(`New ${sfx}`)
    const h = await server.gql(
      `query($id: ID!) { entity(id: $id) { history(field: "name") { oldValue newValue status source { code } } } }`,
      { id: person.id },
      STEWARD,
    )
    expect(h.data.entity.history).toEqual([
      { oldValue: null, newValue: `Old ${sfx}`, status: 'AUTHORITATIVE', source: { code: 'PSB' } },
      { oldValue: `Old ${sfx}`, newValue: `New ${sfx}`, status: 'AUTHORITATIVE', source: { code: 'PSB' } },
    ])
  })

  it('2: without the authority, the best-ranked fallback present stands in; departments off the list never do', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1981-01-01')
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Fallback ${sfx}` } },
    ])
    await submit(server, 'EDU', 'PERSON', [
      { sourceKey: `e-${sfx}`, attributes: { idNumber, birthDate: '1981-01-03' } },
    ])
    let person = await personByIdNumber(server, idNumber)
    expect(person.birthDate).toBeNull()
    expect(prov(person, 'birthDate')).toBeUndefined()
    await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `h-${sfx}`, attributes: { idNumber, birthDate: '1981-01-02' } },
    ])
    person = await personByIdNumber(server, idNumber)
    expect(prov(person, 'birthDate')).toMatchObject({
      value: '1981-01-02',
      status: 'PROVISIONAL',
      source: { code: 'HEALTH' },
      authority: { code: 'PSB' },
      underInvestigation: false,
    })

    // Ranking: address naming falls back to HOUSING before PSB, whoever came last.
    const fullText = `杭州市西湖区测试路${sfx}号`
    await submit(server, 'PSB', 'ADDRESS', [{ sourceKey: `pa-${sfx}`, attributes: { fullText, road: 'PSB road' } }])
    await submit(server, 'HOUSING', 'ADDRESS', [
      { sourceKey: `ha-${sfx}`, attributes: { fullText, road: 'HOUSING road' } },
    ])
    await submit(server, 'PSB', 'ADDRESS', [
      {
        sourceKey: `pa-${sfx}`,
        observedAt: '2030-01-01T00:00:00Z',
        attributes: { fullText, road: 'PSB road 2' },
      },
    ])
    const a = await server.gql(
      `query($k: String!) { sourceRecord(department: "PSB", sourceKey: $k, entityType: ADDRESS) {
      entity { ... on Address { road provenance(fields: ["road"]) { status source { code } } } } } }`,
      { k: `pa-${sfx}` },
      STEWARD,
    )
    expect(a.data.sourceRecord.entity).toEqual({
      road: 'HOUSING road',
      provenance: [{ status: 'PROVISIONAL', source: { code: 'HOUSING' } }],
    })
  })

  it('3: a non-authority claim equal to the golden value is corroboration: nothing changes', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1982-01-01')
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Same ${sfx}`, birthDate: '1982-01-01' } },
    ])
    const before = await personByIdNumber(server, idNumber)
    const historyBefore = await server.knex('field_history').where('entity_id', before.id).count({ n: '*' }).first()
    const r = await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `h-${sfx}`, attributes: { idNumber, birthDate: '1982-01-01' } },
    ])
    expect(r.conflictsOpened).toBe(0)
    const after = await personByIdNumber(server, idNumber)
    expect(after.provenance).toEqual(before.provenance)
    expect(after.conflicts).toEqual([])
    expect(await server.knex('field_history').where('entity_id', before.id).count({ n: '*' }).first()).toEqual(
      historyBefore,
    )
  })

  it('4: differing non-authority claims keep the golden value and extend one open VALUE_MISMATCH per field', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1983-01-01')
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Mismatch ${sfx}`, birthDate: '1983-01-01' } },
    ])
    expect(
      (
        await submit(server, 'HEALTH', 'PERSON', [
          { sourceKey: `h-${sfx}`, attributes: { idNumber, birthDate: '1983-01-02' } },
        ])
      ).conflictsOpened,
    ).toBe(1)
    expect(
      (
        await submit(server, 'EDU', 'PERSON', [
          { sourceKey: `e-${sfx}`, attributes: { idNumber, birthDate: '1983-01-03' } },
        ])
      ).conflictsOpened,
    ).toBe(0)
    const person = await personByIdNumber(server, idNumber)
    expect(person.birthDate).toBe('1983-01-01')
    const open = openMismatches(person, 'birthDate')
    expect(open).toHaveLength(1)
    expect(
      (open[0] as any).candidates
        .map((c: { department: { code: string }; value: unknown }) => [c.department.code, c.value])
        .sort(),
    ).toEqual([
      ['EDU', '1983-01-03'],
      ['HEALTH', '1983-01-02'],
    ])
    expect(prov(person, 'birthDate')).toMatchObject({ status: 'AUTHORITATIVE', underInvestigation: true })
    expect(prov(person, 'name').underInvestigation).toBe(false)
  })

  it('5: an authority claim arriving after differing non-authority claims wins; they become candidates', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1984-01-01')
    await submit(server, 'PSB', 'PERSON', [{ sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Late ${sfx}` } }])
    await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `h-${sfx}`, attributes: { idNumber, birthDate: '1984-01-02' } },
    ])
    expect(prov(await personByIdNumber(server, idNumber), 'birthDate')).toMatchObject({
      status: 'PROVISIONAL',
      underInvestigation: false,
    })
    const r = await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Late ${sfx}`, birthDate: '1984-01-01' } },
    ])
    expect(r.conflictsOpened).toBe(1)
    const person = await personByIdNumber(server, idNumber)
    expect(prov(person, 'birthDate')).toMatchObject({
      value: '1984-01-01',
      status: 'AUTHORITATIVE',
      source: { code: 'PSB' },
      underInvestigation: true,
    })
    expect((openMismatches(person, 'birthDate')[0] as any).candidates).toEqual([
      { department: { code: 'HEALTH' }, value: '1984-01-02' },
    ])
  })

  it('7: the same record again, or the same batchKey, changes nothing and opens nothing', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1986-01-01')
    const record = {
      sourceKey: `p-${sfx}`,
      observedAt: '2024-01-01T00:00:00Z',
      attributes: { idNumber, name: `Idem ${sfx}` },
    }
    expect(await submit(server, 'PSB', 'PERSON', [record])).toMatchObject({ created: 1 })
    const txBefore = await server.knex('field_history').max({ m: 'id' }).first()
    expect(await submit(server, 'PSB', 'PERSON', [record])).toMatchObject({
      accepted: 1,
      created: 0,
      updated: 0,
      unchanged: 1,
      conflictsOpened: 0,
    })
    expect(await server.knex('field_history').max({ m: 'id' }).first()).toEqual(txBefore)

    const batchKey = `batch-${sfx}`
    const first = await submit(
      server,
      'HEALTH',
      'PERSON',
      [{ sourceKey: `h-${sfx}`, attributes: { idNumber, birthDate: '1986-01-05' } }],
      batchKey,
    )
    expect(first).toMatchObject({ accepted: 1, updated: 1, conflictsOpened: 0 })
    // Different content under the same batchKey: the batch was applied once; nothing new lands.
    const repeat = await submit(
      server,
      'HEALTH',
      'PERSON',
      [{ sourceKey: `h-${sfx}`, attributes: { idNumber, birthDate: '1986-01-09' } }],
      batchKey,
    )
    expect(repeat).toMatchObject({
      batchKey,
      accepted: 1,
      created: 0,
      updated: 0,
      unchanged: 1,
      conflictsOpened: 0,
    })
    expect((await personByIdNumber(server, idNumber)).birthDate).toBe('1986-01-05')
  })

  it('8: a rejected record never blocks the others and is quarantined with its reason', async () => {
    const sfx = uniqueSuffix()
    const batchKey = `atomic-${sfx}`
    const r = await submit(
      server,
      'PSB',
      'PERSON',
      [
        { sourceKey: `ok1-${sfx}`, attributes: { idNumber: makeIdNumber('1987-01-01'), name: `Ok1 ${sfx}` } },
        { sourceKey: `bad-${sfx}`, attributes: { idNumber: '330106198701010000', name: `Bad ${sfx}` } },
        { sourceKey: `nameless-${sfx}`, attributes: { gender: 'FEMALE', birthDate: '1987-02-02' } },
        {
          sourceKey: `ok2-${sfx}`,
          attributes: { idNumber: makeIdNumber('1987-03-03'), name: `Ok2 ${sfx}`, gender: 'FEMALE' },
        },
      ],
      batchKey,
    )
    expect(r).toMatchObject({ accepted: 2, created: 2 })
    expect(r.rejected.map((x) => [x.index, x.sourceKey, x.code, x.field])).toEqual([
      [1, `bad-${sfx}`, 'INVALID_ID_NUMBER', 'idNumber'],
      [2, `nameless-${sfx}`, 'MISSING_FIELD', 'name'],
    ])
    const q = await server.knex('quarantined_records').where({ batch_key: batchKey }).orderBy('record_index')
    expect(q.map((x) => [x.record_index, x.code, x.field, x.payload.sourceKey])).toEqual([
      [1, 'INVALID_ID_NUMBER', 'idNumber', `bad-${sfx}`],
      [2, 'MISSING_FIELD', 'name', `nameless-${sfx}`],
    ])
    // The bad record left nothing behind, not even half of itself.
    expect(await server.knex('source_records').whereIn('source_key', [`bad-${sfx}`, `nameless-${sfx}`])).toEqual([])
  })
})

describe('authority by legal-entity kind', () => {
  it('a SOCIAL_ORGANIZATION is owned by CAB, an ENTERPRISE by AMR', async () => {
    const sfx = uniqueSuffix()
    const social = makeCreditCode('51')
    await submit(server, 'CAB', 'LEGAL_ENTITY', [
      {
        sourceKey: `c-${sfx}`,
        attributes: { creditCode: social, name: `Society ${sfx}`, kind: 'SOCIAL_ORGANIZATION' },
      },
    ])
    const amr = await submit(server, 'AMR', 'LEGAL_ENTITY', [
      { sourceKey: `a-${sfx}`, attributes: { creditCode: social, name: `Society AMR ${sfx}` } },
    ])
    expect(amr.conflictsOpened).toBe(1)
    const q = `query($c: String!) { legalEntity(creditCode: $c) { name kind provenance(fields: ["name", "kind"]) { field status source { code } authority { code } underInvestigation } } }`
    const s = (await server.gql(q, { c: social }, STEWARD)).data.legalEntity
    expect(s.name).toBe(`Society ${sfx}`)
    expect(s.kind).toBe('SOCIAL_ORGANIZATION')
    expect(s.provenance).toEqual([
      {
        field: 'name',
        status: 'AUTHORITATIVE',
        source: { code: 'CAB' },
        authority: { code: 'CAB' },
        underInvestigation: true,
      },
      {
        field: 'kind',
        status: 'AUTHORITATIVE',
        source: { code: 'CAB' },
        authority: { code: 'CAB' },
        underInvestigation: false,
      },
    ])

    const enterprise = makeCreditCode('91')
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      {
        sourceKey: `e-${sfx}`,
        attributes: { creditCode: enterprise, name: `Firm ${sfx}`, kind: 'ENTERPRISE' },
      },
    ])
    await submit(server, 'CAB', 'LEGAL_ENTITY', [
      { sourceKey: `ce-${sfx}`, attributes: { creditCode: enterprise, name: `Firm CAB ${sfx}` } },
    ])
    const e = (await server.gql(q, { c: enterprise }, STEWARD)).data.legalEntity
    expect(e.name).toBe(`Firm ${sfx}`)
    expect(e.provenance[0]).toMatchObject({
      field: 'name',
      source: { code: 'AMR' },
      authority: { code: 'AMR' },
      underInvestigation: true,
    })
  })
})

describe('references', () => {
  it('an employer named before it exists links when it arrives', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1988-08-08')
    const creditCode = makeCreditCode()
    await submit(server, 'PSB', 'PERSON', [{ sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Worker ${sfx}` } }])
    await submit(server, 'HRSS', 'PERSON', [
      {
        sourceKey: `h-${sfx}`,
        attributes: { idNumber, employmentStatus: 'EMPLOYED', employerCreditCode: creditCode },
      },
    ])
    let person = await personByIdNumber(server, idNumber)
    expect(person.employer).toBeNull()
    expect(prov(person, 'employer')).toMatchObject({ value: creditCode, status: 'AUTHORITATIVE' })
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      { sourceKey: `a-${sfx}`, attributes: { creditCode, name: `Employer ${sfx}` } },
    ])
    person = await personByIdNumber(server, idNumber)
    expect(person.employer).toMatchObject({ creditCode })
    const staff = await server.gql(
      `query($c: String!) { legalEntity(creditCode: $c) { employees { nodes { id } } } }`,
      { c: creditCode },
      STEWARD,
    )
    expect(staff.data.legalEntity.employees.nodes).toEqual([{ id: person.id }])
  })
})

describe('time travel and the change feed', () => {
  it('asOf shows a person and a legal entity as the service knew them then', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1989-09-09')
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        observedAt: '2024-01-01T00:00:00Z',
        attributes: { idNumber, name: `Then ${sfx}` },
      },
    ])
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        observedAt: '2024-02-01T00:00:00Z',
        attributes: { idNumber, name: `Now ${sfx}` },
      },
    ])
    const { id } = await personByIdNumber(server, idNumber)
    const h = await server.gql(
      `query($id: ID!) { entity(id: $id) { history(field: "name") { recordedAt } } }`,
      { id },
      STEWARD,
    )
    const [t1] = h.data.entity.history.map((x: { recordedAt: string }) => x.recordedAt)
    const q = `query($id: ID!, $at: DateTime) { person(id: $id, asOf: $at) { name } }`
    expect((await server.gql(q, { id, at: t1 }, STEWARD)).data.person).toEqual({ name: `Then ${sfx}` })
    expect((await server.gql(q, { id, at: null }, STEWARD)).data.person).toEqual({ name: `Now ${sfx}` })
    expect((await server.gql(q, { id, at: '2000-01-01T00:00:00Z' }, STEWARD)).data.person).toBeNull()

    const creditCode = makeCreditCode()
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      {
        sourceKey: `a-${sfx}`,
        observedAt: '2024-01-01T00:00:00Z',
        attributes: { creditCode, name: `Co Then ${sfx}`, status: 'ACTIVE' },
      },
    ])
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      {
        sourceKey: `a-${sfx}`,
        observedAt: '2024-03-01T00:00:00Z',
        attributes: { creditCode, name: `Co Then ${sfx}`, status: 'CANCELLED' },
      },
    ])
    const le = await server.gql(
      `query($c: String!) { legalEntity(creditCode: $c) { id history(field: "status") { recordedAt } } }`,
      { c: creditCode },
      STEWARD,
    )
    const at = le.data.legalEntity.history[0].recordedAt
    const then = await server.gql(
      `query($id: ID!, $at: DateTime) { legalEntity(id: $id, asOf: $at) { name status } }`,
      { id: le.data.legalEntity.id, at },
      STEWARD,
    )
    expect(then.data.legalEntity).toEqual({ name: `Co Then ${sfx}`, status: 'ACTIVE' })
  })

  it('changes(after:) pages in commit order with stable cursors; a replica built from it equals the golden values', async () => {
    const max = await server.knex('field_history').max({ m: 'id' }).first()
    const start = encodeCursor([Number(max?.m ?? 0)])
    const sfx = uniqueSuffix()
    const ids = [makeIdNumber('1970-07-07'), makeIdNumber('1971-07-07')]
    await submit(
      server,
      'PSB',
      'PERSON',
      ids.map((n, i) => ({
        sourceKey: `p${i}-${sfx}`,
        attributes: { idNumber: n, name: `Feed ${i} ${sfx}`, gender: 'MALE' },
      })),
    )
    await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `h-${sfx}`, attributes: { idNumber: ids[0], birthDate: '1970-07-07' } },
    ])
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p0-${sfx}`,
        attributes: {
          idNumber: ids[0],
          name: `Feed renamed ${sfx}`,
          gender: 'MALE',
          birthDate: '1970-07-08',
        },
      },
    ])

    const page = `query($after: String) { changes(after: $after, first: 3, entityTypes: [PERSON]) { nodes { cursor entityId field newValue status } pageInfo { hasNextPage endCursor } } }`
    const replica = new Map<string, unknown>()
    // A cursor is [feed position of the commit, change id]; pages follow it in order.
    const seqs: [number, number][] = []
    let after: string | null = start
    for (let guard = 0; guard < 50; guard++) {
      const r: any = await server.gql(page, { after }, STEWARD)
      expect(r.errors).toBeUndefined()
      // The same cursor answers the same page.
      expect((await server.gql(page, { after }, STEWARD)).data).toEqual(r.data)
      for (const n of r.data.changes.nodes) {
        seqs.push(decodeCursor(n.cursor) as [number, number])
        if (n.newValue === null) replica.delete(`${n.entityId}|${n.field}`)
        else replica.set(`${n.entityId}|${n.field}`, n.newValue)
      }
      after = r.data.changes.pageInfo.endCursor
      if (!r.data.changes.pageInfo.hasNextPage) break
    }
    expect(seqs).toEqual([...seqs].sort((a, b) => a[0] - b[0] || a[1] - b[1]))
    expect(new Set(seqs.map((s) => s[1])).size).toBe(seqs.length)
    const entityIds = [...new Set([...replica.keys()].map((k) => k.split('|')[0]))]
    expect(entityIds).toHaveLength(2)
    const golden = await server
      .knex('golden_values')
      .select('entity_id', 'field', 'value')
      .whereIn('entity_id', entityIds)
    expect(Object.fromEntries(replica)).toEqual(
      Object.fromEntries(golden.map((g) => [`${g.entity_id}|${g.field}`, g.value])),
    )
    // Asking past the end returns nothing and keeps the cursor.
    const end: any = await server.gql(page, { after }, STEWARD)
    expect(end.data.changes).toEqual({ nodes: [], pageInfo: { hasNextPage: false, endCursor: after } })
  })
})
