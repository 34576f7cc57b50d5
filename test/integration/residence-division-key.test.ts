import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withTransaction } from '../../src/db/transaction.js'
import { applySubmission } from '../../src/reconciliation/submission.service.js'
import type { EntityTypeName } from '../../src/shared/entity-types.js'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeIdNumber, randomInt } from '../support/ids.js'

// persons.residence_division_key (migration 20261208020000) is a copy of the residence address's
// division code, kept by triggers; persons(filter: { residenceDivisionCode }) reads it instead of
// joining the addresses. These tests change what it copies through the engine (an address
// re-coded, a person moving) and check the copy and the filter follow.
let server: TestServer
let steward: Record<string, string>
const sfx = uniqueSuffix()
const opts = { matchHigh: 0.9, matchLow: 0.7, extent: [118.3, 29.1, 120.8, 30.6] as [number, number, number, number] }

async function submit(department: string, entityType: EntityTypeName, records: unknown[]) {
  const r = await withTransaction(server.knex, { operation: 'test', departmentCode: department }, (tx) =>
    applySubmission(tx, { department, entityType, records: records as never }, opts),
  )
  expect(r.rejected).toEqual([])
}

/** A township code under 330106 that no division in the (shared) test database has yet. */
async function freshTownship(taken: string[]): Promise<string> {
  for (;;) {
    const code = `330106${String(randomInt(100, 1000))}`
    if (taken.includes(code)) continue
    if (!(await server.knex('admin_divisions').where({ code }).first('id'))) return code
  }
}

let townA: string
let townB: string
const idNumbers = [0, 1, 2].map((i) => makeIdNumber('1979-06-0' + (i + 1), randomInt(900), '330106'))
const streetA = `杭州市西湖区甲巷${sfx}号`
const streetB = `杭州市西湖区乙巷${sfx}号`

async function keyOf(idNumber: string): Promise<string | null> {
  const row = await server.knex('persons').where({ id_number: idNumber }).first('residence_division_key')
  return row ? row.residence_division_key : null
}

async function namesIn(code: string): Promise<string[]> {
  const r = await server.gql(
    `query($code: String!) { persons(first: 50, filter: { residenceDivisionCode: $code }) { nodes { name } } }`,
    { code },
    steward,
  )
  expect(r.errors).toBeUndefined()
  return r.data.persons.nodes.map((n: { name: string }) => n.name).sort()
}

beforeAll(async () => {
  server = await startTestServer()
  steward = await createTestKey(server.knex, { roles: ['STEWARD'] })
  townA = await freshTownship([])
  townB = await freshTownship([townA])
  await submit('CAB', 'ADMIN_DIVISION', [
    { sourceKey: `rdk-a-${sfx}`, attributes: { code: townA, name: `甲街道${sfx}` } },
    { sourceKey: `rdk-b-${sfx}`, attributes: { code: townB, name: `乙街道${sfx}` } },
  ])
  await submit('CAB', 'ADDRESS', [
    { sourceKey: `rdk-addr-a-${sfx}`, attributes: { fullText: streetA, divisionCode: townA } },
    { sourceKey: `rdk-addr-b-${sfx}`, attributes: { fullText: streetB, divisionCode: townB } },
  ])
  await submit(
    'PSB',
    'PERSON',
    idNumbers.map((idNumber, i) => ({
      sourceKey: `rdk-p${i}-${sfx}`,
      attributes: { idNumber, name: `住${i}${sfx}`, residenceAddressText: i < 2 ? streetA : streetB },
    })),
  )
})
afterAll(async () => server?.close())

describe("a person's residence division code on the person row", () => {
  it('is the code of the residence address when the person is created, and the filter finds them', async () => {
    expect(await keyOf(idNumbers[0])).toBe(townA)
    expect(await keyOf(idNumbers[1])).toBe(townA)
    expect(await keyOf(idNumbers[2])).toBe(townB)
    expect(await namesIn(townA)).toEqual([`住0${sfx}`, `住1${sfx}`])
    expect(await namesIn(townB)).toEqual([`住2${sfx}`])
    // A district prefix covers both townships: the filter counts what the address join counts.
    const r = await server.gql(
      `{ persons(first: 1, filter: { residenceDivisionCode: "330106" }) { totalCount } }`,
      undefined,
      steward,
    )
    expect(r.errors).toBeUndefined()
    const joined = await server.knex.raw(`
      SELECT count(*)::int AS n FROM persons p JOIN addresses a ON a.id = p.residence_address_id
       WHERE a.division_key LIKE '330106%' AND p.death_date IS NULL`)
    expect(r.data.persons.totalCount).toBe(joined.rows[0].n)
    expect(joined.rows[0].n).toBeGreaterThanOrEqual(3)
  })

  it('follows the person when they move to an address of another township', async () => {
    await submit('PSB', 'PERSON', [
      { sourceKey: `rdk-p1-${sfx}`, attributes: { idNumber: idNumbers[1], residenceAddressText: streetB } },
    ])
    expect(await keyOf(idNumbers[1])).toBe(townB)
    expect(await namesIn(townA)).toEqual([`住0${sfx}`])
    expect(await namesIn(townB)).toEqual([`住1${sfx}`, `住2${sfx}`])
  })

  it('follows the address when its division changes (every resident moves with it)', async () => {
    await submit('CAB', 'ADDRESS', [
      { sourceKey: `rdk-addr-b-${sfx}`, attributes: { fullText: streetB, divisionCode: townA } },
    ])
    expect(await keyOf(idNumbers[1])).toBe(townA)
    expect(await keyOf(idNumbers[2])).toBe(townA)
    expect(await namesIn(townA)).toEqual([`住0${sfx}`, `住1${sfx}`, `住2${sfx}`])
    expect(await namesIn(townB)).toEqual([])
  })

  it('is cleared when the address goes (the foreign key sets the residence to null)', async () => {
    const address = await server.knex('addresses').where({ full_text: streetA }).first('id')
    const tx = await server.knex.transaction()
    try {
      await tx('addresses').where({ id: address.id }).delete()
      const row = await tx('persons')
        .where({ id_number: idNumbers[0] })
        .first('residence_address_id', 'residence_division_key')
      expect(row).toEqual({ residence_address_id: null, residence_division_key: null })
    } finally {
      await tx.rollback()
    }
    expect(await keyOf(idNumbers[0])).toBe(townA)
  })

  it('equals the residence address code for every person in the database', async () => {
    const mismatches = await server.knex.raw(`
      SELECT count(*)::int AS n FROM persons p LEFT JOIN addresses a ON a.id = p.residence_address_id
       WHERE p.residence_division_key IS DISTINCT FROM a.division_key`)
    expect(mismatches.rows[0].n).toBe(0)
  })

  it('the district filter reads no address to decide which persons are in', async () => {
    const statements: string[] = []
    const listener = (q: { sql: string }) => statements.push(q.sql)
    server.knex.on('query', listener)
    try {
      await namesIn(townA)
    } finally {
      server.knex.off('query', listener)
    }
    const page = statements.find((s) => /from "persons" as "p"/.test(s))
    expect(page).toMatch(/residence_division_key" like/)
    expect(page).not.toMatch(/join "addresses" as "ra"/i)
  })
})
