import 'reflect-metadata'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { invalidateSharingGrants } from '../../src/access/sharing.store.js'
import { idNumberCheckChar, maskIdNumber } from '../../src/reconciliation/rules/id-number.js'
import { createTestKey, principalIdOf } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { submit } from './scenario.fixtures.js'
import { random } from '../support/ids.js'

// Lookups by natural key are not an oracle for callers who may not see the key, every person
// lookup is in the access log, and a deceased person is not found by id for callers for whom
// lists hide the deceased (docs/security.md, "Disclosure rules").

let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server?.close()
})

/** A random valid ID number of a made-up region with the given birth date and sequence. */
function idNumberOf(region: string, birth: string, seq: string): string {
  const first17 = `${region}${birth.replaceAll('-', '')}${seq}`
  return first17 + idNumberCheckChar(first17)
}

/** Every ID number that matches the mask 330111********3944 for birth dates in [from, to]: the attacker's candidates. */
function candidates(masked: string, from: string, to: string): string[] {
  const out: string[] = []
  for (let d = new Date(`${from}T00:00:00Z`); d <= new Date(`${to}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
    const first17 = `${masked.slice(0, 6)}${d.toISOString().slice(0, 10).replaceAll('-', '')}${masked.slice(14, 17)}`
    if (idNumberCheckChar(first17) === masked[17]) out.push(first17 + masked[17])
  }
  return out
}

const LOOKUP = `query($ids: [String!]!) { personsByIdNumbers(idNumbers: $ids) { idNumber status } }`

async function accessRows(headers: Record<string, string>) {
  const principal = await principalIdOf(server.knex, headers)
  return server.knex('access_log').where('principal_id', principal).orderBy('id')
}

describe('rebuilding a masked ID number through lookups', () => {
  it('a department without the idNumber grant cannot use lookups as an oracle', async () => {
    const sfx = uniqueSuffix()
    const target = idNumberOf('330111', '1984-07-15', String(Math.floor(random() * 1000)).padStart(3, '0'))
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `oracle-${sfx}`, attributes: { idNumber: target, name: `O ${sfx}` } },
    ])
    const masked = maskIdNumber(target)
    const guesses = candidates(masked, '1983-01-01', '1985-12-31')
    expect(guesses).toContain(target)
    expect(guesses.length).toBeLessThanOrEqual(1000)

    const housing = await createTestKey(server.knex, { department: 'HOUSING' })
    // Precondition: HOUSING sees the ID number masked only.
    // (Other test files share the database and write some persons without an ID number by plain SQL.)
    const shown = await server.gql(`{ persons(first: 50) { nodes { idNumber } } }`, undefined, housing)
    const numbers = shown.data.persons.nodes
      .map((n: { idNumber: string | null }) => n.idNumber)
      .filter((x: unknown) => x !== null)
    expect(numbers.length).toBeGreaterThan(0)
    for (const n of numbers) expect(n).toMatch(/\*{8}/)

    const attack = await server.gql(LOOKUP, { ids: guesses }, housing)
    expect(attack.data).toBeNull()
    expect(attack.errors?.[0].extensions).toMatchObject({
      code: 'FORBIDDEN_FIELD',
      entityType: 'PERSON',
      field: 'idNumber',
      argument: 'idNumbers',
    })
    expect(JSON.stringify(attack)).not.toContain(target)

    // One key at a time fares no better.
    const single = await server.gql(`query($n: String!) { person(idNumber: $n) { id } }`, { n: target }, housing)
    expect(single.errors?.[0].extensions).toMatchObject({
      code: 'FORBIDDEN_FIELD',
      field: 'idNumber',
      argument: 'idNumber',
    })
    expect(single.data?.person ?? null).toBeNull()
  })

  it('a caller who may see ID numbers gets answers, and every lookup is logged, even selecting only status', async () => {
    const sfx = uniqueSuffix()
    const known = idNumberOf('330111', '1990-03-03', '123')
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `logged-${sfx}`, attributes: { idNumber: known, name: `L ${sfx}` } },
    ])
    const steward = await createTestKey(server.knex, { roles: ['STEWARD'] })
    const unknown = idNumberOf('330111', '1990-03-04', '123')

    const found = await server.gql(LOOKUP, { ids: [known, unknown] }, { ...steward, 'X-Purpose': `check ${sfx}` })
    expect(found.data.personsByIdNumbers.map((x: { status: string }) => x.status)).toEqual(['FOUND', 'NOT_FOUND'])
    const nothing = await server.gql(LOOKUP, { ids: [unknown] }, steward)
    expect(nothing.data.personsByIdNumbers[0].status).toBe('NOT_FOUND')

    const rows = await accessRows(steward)
    expect(rows.length).toBe(2)
    const personId = (await server.knex('persons').where('id_number', known).first()).id
    expect(rows[0]).toMatchObject({ purpose: `check ${sfx}`, person_ids: [personId] })
    expect(rows[0].fields).toContain('personsByIdNumbers')
    expect(rows[1]).toMatchObject({ person_ids: [] })
    expect(rows[1].fields).toContain('personsByIdNumbers')
  })
})

describe('a deceased person by id', () => {
  it('is not found for a caller who may not see deathDate, found for one who may', async () => {
    const sfx = uniqueSuffix()
    const dead = idNumberOf('330111', '1930-01-02', '321')
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `dead-${sfx}`, attributes: { idNumber: dead, name: `D ${sfx}`, deathDate: '2020-01-01' } },
    ])
    const personId = (await server.knex('persons').where('id_number', dead).first()).id
    // HOUSING may see ID numbers (a grant, expired again at the end) but not death dates.
    const grantId = randomUUID()
    await server.knex('sharing_grants').insert({
      id: grantId,
      department_code: 'HOUSING',
      entity_type: 'PERSON',
      fields: ['idNumber', 'name'],
      purpose: `test ${sfx}`,
      status: 'APPROVED',
      expires_at: new Date(Date.now() + 3_600_000),
    })
    // Written behind the service: its grant cache would see it within READ_CACHE_MAX_AGE_MS; now at once.
    invalidateSharingGrants()
    try {
      const housing = await createTestKey(server.knex, { department: 'HOUSING' })
      const byId = await server.gql(`query($id: ID!) { person(id: $id) { id } }`, { id: personId }, housing)
      expect(byId.data.person).toBeNull()
      const byNumber = await server.gql(`query($n: String!) { person(idNumber: $n) { id } }`, { n: dead }, housing)
      expect(byNumber.errors).toBeUndefined()
      expect(byNumber.data.person).toBeNull()
      const asEntity = await server.gql(
        `query($id: ID!) { entity(id: $id) { ... on Person { id } } }`,
        { id: personId },
        housing,
      )
      expect(asEntity.errors).toBeUndefined()
      expect(asEntity.data.entity).toBeNull()
      const bulk = await server.gql(LOOKUP, { ids: [dead] }, housing)
      expect(bulk.data.personsByIdNumbers).toEqual([{ idNumber: dead, status: 'NOT_FOUND' }])

      const psb = await createTestKey(server.knex, { department: 'PSB' })
      const owner = await server.gql(`query($id: ID!) { person(id: $id) { id deathDate } }`, { id: personId }, psb)
      expect(owner.data.person).toEqual({ id: personId, deathDate: '2020-01-01' })
      const ownerBulk = await server.gql(LOOKUP, { ids: [dead] }, psb)
      expect(ownerBulk.data.personsByIdNumbers).toEqual([{ idNumber: dead, status: 'FOUND' }])
      const ownerEntity = await server.gql(
        `query($id: ID!) { entity(id: $id) { ... on Person { id } } }`,
        { id: personId },
        psb,
      )
      expect(ownerEntity.data.entity).toEqual({ id: personId })
    } finally {
      await server
        .knex('sharing_grants')
        .where({ id: grantId })
        .update({ expires_at: new Date(Date.now() - 1000) })
      invalidateSharingGrants()
    }
  })
})
