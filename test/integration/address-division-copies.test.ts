import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withTransaction } from '../../src/db/transaction.js'
import { applySubmission } from '../../src/reconciliation/submission.service.js'
import type { EntityTypeName } from '../../src/shared/entity-types.js'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, randomInt } from '../support/ids.js'

// persons.residence_division_key, persons.household_division_key and
// legal_entities.registered_division_key (migration 20261208020000) are copies of their addresses'
// division codes, kept by triggers; the division filters of persons and legalEntities read them
// instead of joining the addresses. These tests change what they copy through the engine (an
// address re-coded, a person moving) and check the copies and the filters follow.
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
const creditCode = makeCreditCode(randomInt(1e7))

async function keyOf(idNumber: string): Promise<string | null> {
  const row = await server.knex('persons').where({ id_number: idNumber }).first('residence_division_key')
  return row ? row.residence_division_key : null
}

async function namesIn(code: string, filter = 'residenceDivisionCode'): Promise<string[]> {
  const r = await server.gql(
    `query($code: String!) { persons(first: 50, filter: { ${filter}: $code }) { nodes { name } } }`,
    { code },
    steward,
  )
  expect(r.errors).toBeUndefined()
  return r.data.persons.nodes.map((n: { name: string }) => n.name).sort()
}

async function entitiesIn(code: string): Promise<string[]> {
  const r = await server.gql(
    `query($code: String!) { legalEntities(first: 50, filter: { divisionCode: $code }) { nodes { creditCode } } }`,
    { code },
    steward,
  )
  expect(r.errors).toBeUndefined()
  return r.data.legalEntities.nodes.map((n: { creditCode: string }) => n.creditCode)
}

async function copiesOf(idNumber: string) {
  return server.knex('persons').where({ id_number: idNumber }).first('residence_division_key', 'household_division_key')
}

async function registeredKey(): Promise<string | null> {
  return (await server.knex('legal_entities').where({ credit_code: creditCode }).first('registered_division_key'))
    .registered_division_key
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
      attributes: {
        idNumber,
        name: `住${i}${sfx}`,
        residenceAddressText: i < 2 ? streetA : streetB,
        // The first person's household is registered at the other address.
        ...(i === 0 ? { householdAddressText: streetB } : {}),
      },
    })),
  )
  await submit('AMR', 'LEGAL_ENTITY', [
    {
      sourceKey: `rdk-le-${sfx}`,
      attributes: { creditCode, name: `甲公司${sfx}`, registeredAddressText: streetA },
    },
  ])
})
afterAll(async () => server?.close())

describe("a person's residence division code on the person row", () => {
  it('is the code of the residence address when the person is created, and the filter finds them', async () => {
    expect(await keyOf(idNumbers[0])).toBe(townA)
    expect(await keyOf(idNumbers[1])).toBe(townA)
    expect(await keyOf(idNumbers[2])).toBe(townB)
    expect(await namesIn(townA)).toEqual([`住0${sfx}`, `住1${sfx}`])
    expect(await namesIn(townB)).toEqual([`住2${sfx}`])
    expect(await copiesOf(idNumbers[0])).toEqual({ residence_division_key: townA, household_division_key: townB })
    expect(await namesIn(townB, 'householdDivisionCode')).toEqual([`住0${sfx}`])
    expect(await namesIn(townA, 'householdDivisionCode')).toEqual([])
    expect(await registeredKey()).toBe(townA)
    expect(await entitiesIn(townA)).toEqual([creditCode])
    expect(await entitiesIn(townB)).toEqual([])
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
    // The household registered at that address moves with it too.
    expect(await copiesOf(idNumbers[0])).toEqual({ residence_division_key: townA, household_division_key: townA })
    expect(await namesIn(townA, 'householdDivisionCode')).toEqual([`住0${sfx}`])
  })

  it("follows a legal entity's registered address when it is re-coded", async () => {
    await submit('CAB', 'ADDRESS', [
      { sourceKey: `rdk-addr-a-${sfx}`, attributes: { fullText: streetA, divisionCode: townB } },
    ])
    expect(await registeredKey()).toBe(townB)
    expect(await entitiesIn(townB)).toEqual([creditCode])
    expect(await entitiesIn(townA)).toEqual([])
    expect(await keyOf(idNumbers[0])).toBe(townB)
    await submit('CAB', 'ADDRESS', [
      { sourceKey: `rdk-addr-a-${sfx}`, attributes: { fullText: streetA, divisionCode: townA } },
    ])
    expect(await registeredKey()).toBe(townA)
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
      const entity = await tx('legal_entities')
        .where({ credit_code: creditCode })
        .first('registered_address_id', 'registered_division_key')
      expect(entity).toEqual({ registered_address_id: null, registered_division_key: null })
    } finally {
      await tx.rollback()
    }
    expect(await keyOf(idNumbers[0])).toBe(townA)
  })

  it("equals its address's code on every person and legal entity in the database", async () => {
    for (const [table, copy, address] of [
      ['persons', 'residence_division_key', 'residence_address_id'],
      ['persons', 'household_division_key', 'household_address_id'],
      ['legal_entities', 'registered_division_key', 'registered_address_id'],
    ]) {
      const mismatches = await server.knex.raw(`
        SELECT count(*)::int AS n FROM ${table} t LEFT JOIN addresses a ON a.id = t.${address}
         WHERE t.${copy} IS DISTINCT FROM a.division_key`)
      expect([table, copy, mismatches.rows[0].n]).toEqual([table, copy, 0])
    }
  })

  it('a malformed division code in any of the three filters is a coded 400, not a LIKE pattern or no filter', async () => {
    // A NUL byte is refused by the input-safety check before any filter reads it.
    for (const [bad, reason] of [
      ['12345', 'INVALID_DIVISION_CODE'],
      ["330106' OR '1'='1", 'INVALID_DIVISION_CODE'],
      ['3301%', 'INVALID_DIVISION_CODE'],
      ['', 'INVALID_DIVISION_CODE'],
      ['330106\u0000', 'INVALID_VALUE'],
    ]) {
      for (const [query, field] of [
        ['persons(filter: { residenceDivisionCode: $code })', 'filter.residenceDivisionCode'],
        ['persons(filter: { householdDivisionCode: $code })', 'filter.householdDivisionCode'],
        ['legalEntities(filter: { divisionCode: $code })', 'filter.divisionCode'],
      ]) {
        const r = await server.gql(`query($code: String!) { ${query} { nodes { id } } }`, { code: bad }, steward)
        expect(r.data?.persons ?? r.data?.legalEntities ?? null).toBeNull()
        expect([bad, r.errors?.[0]?.extensions]).toEqual([
          bad,
          expect.objectContaining({ code: 'BAD_USER_INPUT', reason, field }),
        ])
      }
    }
  })

  it('the division filters read no address to decide which rows are in', async () => {
    const statements: string[] = []
    const listener = (q: { sql: string }) => statements.push(q.sql)
    server.knex.on('query', listener)
    try {
      await namesIn(townA)
      await namesIn(townA, 'householdDivisionCode')
      await entitiesIn(townA)
    } finally {
      server.knex.off('query', listener)
    }
    const pages = statements.filter((s) => /from "(persons|legal_entities)" as "(p|le)"/.test(s))
    expect(pages).toHaveLength(3)
    expect(pages[0]).toMatch(/residence_division_key" like/)
    expect(pages[1]).toMatch(/household_division_key" like/)
    expect(pages[2]).toMatch(/registered_division_key" like/)
    for (const page of pages) expect(page).not.toMatch(/join "addresses" as "(ra|ha|la)"/i)
  })
})
