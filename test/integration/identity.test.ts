import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { createKnex } from '../../src/db/knex.js'
import { withTransaction } from '../../src/db/transaction.js'
import { repairSplitIdentities } from '../../src/reconciliation/identity-repair.service.js'
import { applySubmission } from '../../src/reconciliation/submission.service.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, STEWARD, submit } from './scenario.fixtures.js'

// A natural key identifies one entity whoever sends it first and in whatever order (issue: HEALTH,
// then HRSS, then PSB with one ID number made three persons), also when writers run at once.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

/** Surviving entities the source records with this suffix are linked to. */
async function entitiesOf(sfx: string): Promise<string[]> {
  const rows = await server
    .knex('source_records as s')
    .join('entities as e', 'e.id', 's.entity_id')
    .whereLike('s.source_key', `%-${sfx}`)
    .whereNull('e.merged_into')
    .distinct('s.entity_id')
  return rows.map((r: { entity_id: string }) => r.entity_id)
}

describe('natural keys identify one entity whatever the sender and order', () => {
  for (const order of [
    ['HEALTH', 'HRSS', 'PSB'],
    ['HRSS', 'PSB', 'HEALTH'],
    ['PSB', 'HEALTH', 'HRSS'],
  ]) {
    it(`PERSON idNumber sent by ${order.join(' → ')}: one person`, async () => {
      const sfx = uniqueSuffix()
      const idNumber = makeIdNumber('1981-07-07')
      const results = []
      for (const dept of order)
        results.push(
          await submit(server, dept, 'PERSON', [
            { sourceKey: `${dept}-${sfx}`, attributes: { idNumber, name: `Ordered ${sfx}` } },
          ]),
        )
      expect(results.map((r) => [r.created, r.updated, r.possibleDuplicates, r.rejected.length])).toEqual([
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 1, 0, 0],
      ])
      expect(await entitiesOf(sfx)).toHaveLength(1)
      // And the person is found by its ID number (the authority's value is the golden one).
      const r = await server.gql('query($n: String!) { person(idNumber: $n) { id } }', { n: idNumber }, STEWARD)
      expect(r.data.person.id).toBe((await entitiesOf(sfx))[0])
    })
  }

  it('LEGAL_ENTITY creditCode sent by TAX before AMR (its authority): one legal entity', async () => {
    const sfx = uniqueSuffix()
    const creditCode = makeCreditCode()
    const a = await submit(server, 'TAX', 'LEGAL_ENTITY', [
      { sourceKey: `TAX-${sfx}`, attributes: { creditCode, taxStatus: 'NORMAL' } },
    ])
    const b = await submit(server, 'AMR', 'LEGAL_ENTITY', [
      { sourceKey: `AMR-${sfx}`, attributes: { creditCode, name: `Firm ${sfx}` } },
    ])
    expect([a.created, b.created, b.updated, b.possibleDuplicates]).toEqual([1, 0, 1, 0])
    expect(await entitiesOf(sfx)).toHaveLength(1)
  })

  it('ADDRESS full text (normalised) sent by PSB, then CAB: one address', async () => {
    const sfx = uniqueSuffix()
    const a = await submit(server, 'PSB', 'ADDRESS', [
      { sourceKey: `PSB-${sfx}`, attributes: { fullText: `浙江省杭州市西湖区文三路 ${sfx} 号` } },
    ])
    const b = await submit(server, 'CAB', 'ADDRESS', [
      { sourceKey: `CAB-${sfx}`, attributes: { fullText: `杭州市西湖区文三路${sfx}号` } },
    ])
    expect([a.created, b.created, b.updated]).toEqual([1, 0, 1])
    expect(await entitiesOf(sfx)).toHaveLength(1)
  })
})

// Writers run at once (per-entity locks only, no global write lock): 12 transactions on separate
// connections found the same 40 persons, and the key table must keep each ID number on one
// entity. PGlite has one session, so there is nothing concurrent to test on it.
describe.skipIf(inject('embedded'))('natural keys under concurrent writers', () => {
  it('40 ID numbers sent at once by three departments, in different orders: 40 persons', async () => {
    const sfx = uniqueSuffix()
    const ids = Array.from({ length: 40 }, (_, i) => makeIdNumber(`1970-01-${String((i % 28) + 1).padStart(2, '0')}`))
    const config = loadConfig({ ...process.env, DATABASE_URL: inject('databaseUrl') })
    const knex = createKnex({ url: inject('databaseUrl'), poolMax: 12 })
    try {
      const opts = { matchHigh: config.matchHigh, matchLow: config.matchLow, extent: config.extent }
      const departments = ['HEALTH', 'HRSS', 'PSB']
      const jobs = departments.flatMap((dept, d) =>
        // Each department sends every key, in small batches, rotated so the orders differ.
        Array.from({ length: 4 }, (_, b) =>
          withTransaction(knex, { operation: 'test', departmentCode: dept }, (tx) => {
            const keys = [...ids.slice(d * 13), ...ids.slice(0, d * 13)].slice(b * 10, b * 10 + 10)
            return applySubmission(
              tx,
              {
                department: dept,
                entityType: 'PERSON',
                records: keys.map((idNumber) => ({
                  sourceKey: `${dept}-${idNumber}-${sfx}`,
                  attributes: { idNumber },
                })),
              },
              opts,
            )
          }),
        ),
      )
      const results = await Promise.all(jobs)
      expect(results.flatMap((r) => r.rejected)).toEqual([])
      expect(results.reduce((n, r) => n + r.created, 0)).toBe(40)
      const rows = await knex('source_records as s')
        .join('entities as e', 'e.id', 's.entity_id')
        .whereLike('s.source_key', `%-${sfx}`)
        .select(
          knex.raw(`split_part(s.source_key, '-', 2) AS id_number`),
          knex.raw('count(DISTINCT s.entity_id)::int AS n'),
        )
        .groupByRaw(`split_part(s.source_key, '-', 2)`)
      expect(rows).toHaveLength(40)
      expect(rows.filter((r: { n: number }) => r.n !== 1)).toEqual([])
    } finally {
      await knex.destroy()
    }
  })
})

describe('repair of identities split before keys were registered', () => {
  it('merges entities sharing an ID number (audited), and unmergeEntity undoes it', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1979-09-09')
    await submit(server, 'HEALTH', 'PERSON', [{ sourceKey: `HEALTH-${sfx}`, attributes: { idNumber } }])
    // The old behaviour: nothing registered the key, so the next sender founded another person.
    await server.knex('entity_natural_keys').where({ entity_type: 'PERSON', natural_key: idNumber }).delete()
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `PSB-${sfx}`, attributes: { idNumber, name: `Split ${sfx}`, birthDate: '1979-09-09' } },
    ])
    const before = await entitiesOf(sfx)
    expect(before).toHaveLength(2)

    const dry = await repairSplitIdentities(server.knex, { dryRun: true })
    expect(dry.splits.find((s) => s.naturalKey === idNumber)?.entityIds.sort()).toEqual([...before].sort())
    expect(await entitiesOf(sfx)).toHaveLength(2)

    const done = await repairSplitIdentities(server.knex)
    const pair = done.merged.find(([a, b]) => before.includes(a) && before.includes(b))!
    expect(pair).toBeDefined()
    expect(await entitiesOf(sfx)).toEqual([pair[0]])
    const merge = await server.knex('merges').where({ survivor_id: pair[0], merged_id: pair[1] }).first()
    expect(merge.principal_id).toBe('repair:identities')
    expect(merge.reason).toContain(idNumber)
    const tx = await server.knex('transactions').where('txid', merge.txid).first()
    expect(tx.operation).toBe('repairIdentities')
    // A second run finds nothing left for this key.
    expect((await repairSplitIdentities(server.knex, { dryRun: true })).splits.map((s) => s.naturalKey)).not.toContain(
      idNumber,
    )

    const r = await server.gql(
      'mutation($e: ID!, $s: [ID!]!) { unmergeEntity(entityId: $e, sourceRecordIds: $s, reason: "not the same") { id } }',
      { e: pair[0], s: merge.source_record_ids },
      STEWARD,
    )
    expect(r.errors).toBeUndefined()
    expect((await entitiesOf(sfx)).sort()).toEqual([...before].sort())
  })
})
