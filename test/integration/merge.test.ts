import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import {
  asDept,
  errorOf,
  makeCreditCode,
  makeIdNumber,
  RESOLVE,
  STEWARD,
  submit,
  principalIdOf,
} from './scenario.fixtures.js'
import { random } from '../support/ids.js'

// Identity resolution (CONTRACT.md §2, "Identity resolution") and reversible merges.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

/** A random birth date 1950..1999, so look-alikes from other tests and runs do not share it. */
function randomBirth(): string {
  const d = new Date(Date.UTC(1950, 0, 1) + Math.floor(random() * 18_000) * 86_400_000)
  return d.toISOString().slice(0, 10)
}

async function entityOfRecord(department: string, sourceKey: string): Promise<string> {
  const r = await server.gql(
    `query($d: String!, $k: String!) { sourceRecord(department: $d, sourceKey: $k, entityType: PERSON) { entity { id } } }`,
    { d: department, k: sourceKey },
    STEWARD,
  )
  return r.data.sourceRecord.entity.id
}

async function golden(entityId: string): Promise<Record<string, unknown>> {
  const rows = await server
    .knex('golden_values')
    .select('field', 'value', 'status', 'source_department')
    .where('entity_id', entityId)
    .orderBy('field')
  return Object.fromEntries(rows.map((r) => [r.field, [r.value, r.status, r.source_department]]))
}

describe('identity resolution', () => {
  it('links by own source key, then by natural key', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1970-02-02')
    const first = await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Key ${sfx}` } },
    ])
    expect(first.created).toBe(1)
    const id = await entityOfRecord('PSB', `p-${sfx}`)
    // Own key, even without the natural key.
    const again = await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `p-${sfx}`, attributes: { name: `Key Renamed ${sfx}` } },
    ])
    expect(again).toMatchObject({ created: 0, updated: 1 })
    expect(await entityOfRecord('PSB', `p-${sfx}`)).toBe(id)
    // Another department's record with the ID number.
    const hrss = await submit(server, 'HRSS', 'PERSON', [
      { sourceKey: `h-${sfx}`, attributes: { idNumber, employmentStatus: 'EMPLOYED' } },
    ])
    expect(hrss).toMatchObject({ created: 0, updated: 1 })
    expect(await entityOfRecord('HRSS', `h-${sfx}`)).toBe(id)
  })

  it('weighted match: high links, between creates a POSSIBLE_DUPLICATE with its score, below creates', async () => {
    const sfx = uniqueSuffix()
    const birthDate = randomBirth()
    const name = `Ma ${sfx} Qiang`
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        attributes: { idNumber: makeIdNumber(birthDate), name, birthDate, gender: 'MALE' },
      },
    ])
    const original = await entityOfRecord('PSB', `p-${sfx}`)

    const high = await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `hi-${sfx}`, attributes: { name, birthDate, gender: 'MALE' } },
    ])
    expect(high).toMatchObject({ created: 0, updated: 1, possibleDuplicates: 0 })
    expect(await entityOfRecord('HEALTH', `hi-${sfx}`)).toBe(original)

    const between = await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `mid-${sfx}`, attributes: { name, birthDate, gender: 'FEMALE' } },
    ])
    expect(between).toMatchObject({ created: 1, possibleDuplicates: 1 })
    const created = await entityOfRecord('HEALTH', `mid-${sfx}`)
    expect(created).not.toBe(original)
    const dup = await server.knex('conflicts').where({ kind: 'POSSIBLE_DUPLICATE', entity_id: created }).first()
    expect(dup).toMatchObject({ status: 'OPEN', other_entity_id: original })
    expect(dup.match_score).toBeGreaterThanOrEqual(0.7)
    expect(dup.match_score).toBeLessThan(0.9)
    const viaApi = await server.gql(
      `query($id: ID!) { conflict(id: $id) { kind matchScore entity { id } otherEntity { id } } }`,
      { id: dup.id },
      STEWARD,
    )
    expect(viaApi.data.conflict).toMatchObject({
      kind: 'POSSIBLE_DUPLICATE',
      matchScore: dup.match_score,
      entity: { id: created },
      otherEntity: { id: original },
    })

    // Nothing like either person so far (HEALTH's names stand in provisionally, so the look-alike counts too).
    const below = await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `lo-${sfx}`, attributes: { name: 'Ouyang Zixuan', birthDate, gender: 'FEMALE' } },
    ])
    expect(below).toMatchObject({ created: 1, possibleDuplicates: 0 })
  })

  it('a record with an ID number matches only persons without one', async () => {
    const sfx = uniqueSuffix()
    const birthDate = randomBirth()
    const name = `Lin ${sfx} Hua`
    // HEALTH knows the person without an ID number; PSB's record with one links to it.
    await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `h-${sfx}`, attributes: { name, birthDate, gender: 'FEMALE' } },
    ])
    const keyless = await entityOfRecord('HEALTH', `h-${sfx}`)
    const psb = await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${sfx}`,
        attributes: { idNumber: makeIdNumber(birthDate), name, birthDate, gender: 'FEMALE' },
      },
    ])
    expect(psb).toMatchObject({ created: 0, updated: 1 })
    expect(await entityOfRecord('PSB', `p-${sfx}`)).toBe(keyless)
    // The same name and birth date under another ID number is another person.
    const other = await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p2-${sfx}`,
        attributes: { idNumber: makeIdNumber(birthDate), name, birthDate, gender: 'FEMALE' },
      },
    ])
    expect(other).toMatchObject({ created: 1, possibleDuplicates: 0 })
    expect(await entityOfRecord('PSB', `p2-${sfx}`)).not.toBe(keyless)
  })
})

/** Two look-alike persons and the POSSIBLE_DUPLICATE between them. */
async function duplicatePair() {
  const sfx = uniqueSuffix()
  const birthDate = randomBirth()
  const name = `Dup ${sfx}`
  await submit(server, 'PSB', 'PERSON', [
    {
      sourceKey: `p-${sfx}`,
      attributes: { idNumber: makeIdNumber(birthDate), name, birthDate, gender: 'MALE' },
    },
  ])
  await submit(server, 'HEALTH', 'PERSON', [
    { sourceKey: `h-${sfx}`, attributes: { name, birthDate, gender: 'FEMALE', deathDate: '2020-01-01' } },
  ])
  const original = await entityOfRecord('PSB', `p-${sfx}`)
  const created = await entityOfRecord('HEALTH', `h-${sfx}`)
  const conflict = await server.knex('conflicts').where({ kind: 'POSSIBLE_DUPLICATE', entity_id: created }).first()
  return { sfx, name, birthDate, original, created, conflictId: conflict.id as string }
}

describe('POSSIBLE_DUPLICATE decisions', () => {
  it('MERGE moves the look-alike into the entity that was there first', async () => {
    const { original, created, conflictId, sfx } = await duplicatePair()
    const r = await server.gql(
      RESOLVE,
      { id: conflictId, decision: 'MERGE', reason: 'same person per hospital' },
      STEWARD,
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.resolveConflict).toMatchObject({ status: 'RESOLVED', decision: 'MERGE' })
    expect(await entityOfRecord('HEALTH', `h-${sfx}`)).toBe(original)
    const e = await server.gql(
      `query($id: ID!) { entity(id: $id) { id ... on Person { deathDate } } }`,
      { id: created },
      STEWARD,
    )
    expect(e.data.entity).toEqual({ id: original, deathDate: '2020-01-01' })
    expect(await server.knex('persons').where('id', created).first()).toBeUndefined()
  })

  it('NOT_DUPLICATE closes it, remembers the pair and does not raise it again', async () => {
    const { original, created, conflictId, sfx, name, birthDate } = await duplicatePair()
    const r = await server.gql(RESOLVE, { id: conflictId, decision: 'NOT_DUPLICATE', reason: 'twins' }, STEWARD)
    expect(r.data.resolveConflict).toMatchObject({ status: 'RESOLVED', decision: 'NOT_DUPLICATE' })
    const [a, b] = [original, created].sort()
    expect(await server.knex('identity_exclusions').where({ entity_a: a, entity_b: b }).first()).toBeTruthy()
    const again = await submit(server, 'HEALTH', 'PERSON', [
      { sourceKey: `h-${sfx}`, attributes: { name, birthDate, gender: 'FEMALE', deathDate: '2020-01-02' } },
    ])
    expect(again).toMatchObject({ updated: 1, possibleDuplicates: 0 })
    expect(
      await server.knex('conflicts').where({ kind: 'POSSIBLE_DUPLICATE', entity_id: created, status: 'OPEN' }),
    ).toEqual([])
  })
})

const MERGE = `mutation($s: ID!, $m: ID!, $r: String!) { mergeEntities(survivorId: $s, mergedId: $m, reason: $r) { id entityType } }`
const UNMERGE = `mutation($e: ID!, $ids: [ID!]!, $r: String!) { unmergeEntity(entityId: $e, sourceRecordIds: $ids, reason: $r) { id } }`

describe('mergeEntities / unmergeEntity', () => {
  it('merge then unmerge restores both entities, their golden values and the references to them', async () => {
    const sfx = uniqueSuffix()
    const idA = makeIdNumber('1960-01-01')
    const idB = makeIdNumber('1961-01-01')
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `a-${sfx}`,
        observedAt: '2024-05-01T00:00:00Z',
        attributes: { idNumber: idA, name: `A ${sfx}`, birthDate: '1960-01-01', gender: 'MALE' },
      },
      {
        sourceKey: `b-${sfx}`,
        observedAt: '2023-05-01T00:00:00Z',
        attributes: { idNumber: idB, name: `B ${sfx}`, birthDate: '1961-01-01', gender: 'FEMALE' },
      },
    ])
    await submit(server, 'EDU', 'PERSON', [
      { sourceKey: `eb-${sfx}`, attributes: { idNumber: idB, educationLevel: 'BACHELOR' } },
    ])
    const creditCode = makeCreditCode()
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      {
        sourceKey: `le-${sfx}`,
        attributes: { creditCode, name: `Rep Co ${sfx}`, legalRepresentativeIdNumber: idB },
      },
    ])
    const a = await entityOfRecord('PSB', `a-${sfx}`)
    const b = await entityOfRecord('PSB', `b-${sfx}`)
    const before = { a: await golden(a), b: await golden(b) }
    const rep = async () =>
      (
        await server.gql(
          `query($c: String!) { legalEntity(creditCode: $c) { legalRepresentative { id } } }`,
          { c: creditCode },
          STEWARD,
        )
      ).data.legalEntity.legalRepresentative?.id
    expect(await rep()).toBe(b)

    const m = await server.gql(MERGE, { s: a, m: b, r: `one person, two registrations ${sfx}` }, STEWARD)
    expect(m.errors).toBeUndefined()
    expect(m.data.mergeEntities).toEqual({ id: a, entityType: 'PERSON' })
    const merged = await golden(a)
    expect(merged.name).toEqual([`A ${sfx}`, 'AUTHORITATIVE', 'PSB'])
    expect(merged.educationLevel).toEqual(['BACHELOR', 'AUTHORITATIVE', 'EDU'])
    expect(await golden(b)).toEqual({})
    expect(await rep()).toBe(a)
    const row = await server.knex('merges').where({ survivor_id: a, merged_id: b }).first()
    expect(row).toMatchObject({
      reason: `one person, two registrations ${sfx}`,
      principal_id: await principalIdOf(server, STEWARD),
    })
    expect(row.source_record_ids).toHaveLength(2)

    const u = await server.gql(
      UNMERGE,
      { e: a, ids: row.source_record_ids, r: `registrations were different people ${sfx}` },
      STEWARD,
    )
    expect(u.errors).toBeUndefined()
    expect(u.data.unmergeEntity.map((x: { id: string }) => x.id)).toEqual([a, b])
    expect({ a: await golden(a), b: await golden(b) }).toEqual(before)
    expect(await rep()).toBe(b)
    expect(await entityOfRecord('EDU', `eb-${sfx}`)).toBe(b)
    expect((await server.knex('merges').where('id', row.id).first()).unmerged_txid).not.toBeNull()
    const audited = await server
      .knex('transactions')
      .whereIn('operation', ['mergeEntities', 'unmergeEntity'])
      .where('principal_id', await principalIdOf(server, STEWARD))
      .whereIn('reason', [`one person, two registrations ${sfx}`, `registrations were different people ${sfx}`])
    expect(audited).toHaveLength(2)
  })

  it('refuses the same entity, different types, an entity already merged, non-stewards and stray records', async () => {
    const sfx = uniqueSuffix()
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `x-${sfx}`, attributes: { idNumber: makeIdNumber('1962-01-01'), name: `X ${sfx}` } },
      { sourceKey: `y-${sfx}`, attributes: { idNumber: makeIdNumber('1963-01-01'), name: `Y ${sfx}` } },
      { sourceKey: `z-${sfx}`, attributes: { idNumber: makeIdNumber('1964-01-01'), name: `Z ${sfx}` } },
    ])
    const creditCode = makeCreditCode()
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      { sourceKey: `le-${sfx}`, attributes: { creditCode, name: `Other ${sfx}` } },
    ])
    const [x, y, z] = [
      await entityOfRecord('PSB', `x-${sfx}`),
      await entityOfRecord('PSB', `y-${sfx}`),
      await entityOfRecord('PSB', `z-${sfx}`),
    ]
    const le = (
      await server.gql(`query($c: String!) { legalEntity(creditCode: $c) { id } }`, { c: creditCode }, STEWARD)
    ).data.legalEntity.id

    expect(errorOf(await server.gql(MERGE, { s: x, m: x, r: 'r' }, STEWARD))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'mergedId',
    })
    expect(errorOf(await server.gql(MERGE, { s: x, m: le, r: 'r' }, STEWARD))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'mergedId',
    })
    expect(errorOf(await server.gql(MERGE, { s: x, m: y, r: '' }, STEWARD))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'reason',
    })
    expect(errorOf(await server.gql(MERGE, { s: x, m: y, r: 'r' }, asDept('PSB')))).toMatchObject({
      code: 'FORBIDDEN',
    })
    expect(
      errorOf(await server.gql(MERGE, { s: x, m: '00000000-0000-4000-8000-000000000000', r: 'r' }, STEWARD)),
    ).toMatchObject({ code: 'NOT_FOUND' })
    expect((await server.gql(MERGE, { s: x, m: y, r: 'r' }, STEWARD)).errors).toBeUndefined()
    expect(errorOf(await server.gql(MERGE, { s: z, m: y, r: 'r' }, STEWARD))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'mergedId',
    })
    expect(errorOf(await server.gql(MERGE, { s: y, m: z, r: 'r' }, STEWARD))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'survivorId',
    })

    const zRecord = (await server.knex('source_records').where('entity_id', z).first()).id
    expect(errorOf(await server.gql(UNMERGE, { e: x, ids: [zRecord], r: 'r' }, STEWARD))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'sourceRecordIds',
    })
    expect(errorOf(await server.gql(UNMERGE, { e: z, ids: [zRecord], r: 'r' }, STEWARD))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'sourceRecordIds',
    })
    expect(errorOf(await server.gql(UNMERGE, { e: x, ids: [], r: 'r' }, STEWARD))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'sourceRecordIds',
    })
  })

  it('unmerging records that came with no merge puts them on a new entity', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1965-06-06')
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Split ${sfx}`, gender: 'MALE' } },
    ])
    await submit(server, 'CAB', 'PERSON', [
      { sourceKey: `c-${sfx}`, attributes: { idNumber, maritalStatus: 'MARRIED' } },
    ])
    const id = await entityOfRecord('PSB', `p-${sfx}`)
    const cab = (
      await server
        .knex('source_records')
        .where({ department_code: 'CAB', source_key: `c-${sfx}` })
        .first()
    ).id
    const u = await server.gql(UNMERGE, { e: id, ids: [cab], r: 'CAB linked the wrong person' }, STEWARD)
    expect(u.errors).toBeUndefined()
    const [kept, other] = u.data.unmergeEntity.map((x: { id: string }) => x.id)
    expect(kept).toBe(id)
    expect(other).not.toBe(id)
    expect((await golden(id)).maritalStatus).toBeUndefined()
    // The moved record carried the ID number too: the new entity holds CAB's claims only.
    expect(await golden(other)).toEqual({ maritalStatus: ['MARRIED', 'AUTHORITATIVE', 'CAB'] })
  })
})
