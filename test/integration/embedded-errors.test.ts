import type { Knex } from 'knex'
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendAccessLog } from '../../src/access/access-log.store.js'
import { testKnex, uniqueSuffix } from '../helpers.js'

// Failing statements sent WITH BINDINGS (pg's extended protocol) must not disturb the answers of
// the statements after them. On PostgreSQL this holds trivially; the embedded PGlite used to send
// an extra ReadyForQuery after such an error, so pg gave the next queued query an empty result
// and then failed with "unexpected commandComplete" (see src/db/ready-for-query.ts).
//
// This file starts no server, so it may hold the run's one embedded session itself; it gives it
// back in afterAll for the next file.
let knex: Knex

beforeAll(() => {
  knex = testKnex()
})

afterAll(async () => {
  await knex.destroy()
})

type Settled = { ok: unknown } | { error: string }
const settle = (p: Promise<{ rows: Record<string, unknown>[] }>): Promise<Settled> =>
  p.then(
    (r) => ({ ok: r.rows }),
    (e: Error) => ({ error: e.message }),
  )

/** Runs fn on one raw pg connection of the pool, so queries can be queued behind each other. */
async function withConnection<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = (await knex.client.acquireConnection()) as pg.Client
  try {
    return await fn(client)
  } finally {
    await knex.client.releaseConnection(client)
  }
}

describe('failing statements with bindings', () => {
  it('a row refused by the access_log trigger leaves later answers right', async () => {
    const purpose = `embedded errors ${uniqueSuffix()}`
    await appendAccessLog(knex, {
      at: new Date(),
      principalId: 'test',
      purpose,
      operationName: null,
      personIds: ['p-embedded-errors'],
      fields: ['name'],
    })
    const row = await knex('access_log').where({ purpose }).first()
    expect(row).toBeDefined()
    for (let i = 0; i < 20; i++) {
      await expect(
        knex('access_log')
          .where('id', row.id)
          .update({ purpose: `x${i}` }),
      ).rejects.toThrow(/append-only/)
      await expect(knex('access_log').where('id', row.id).del()).rejects.toThrow(/append-only/)
      // Sent the moment the failure is reported, as a caller that retries or moves on would.
      const answer = await knex('access_log')
        .where('id', row.id)
        .update({ purpose: 'y' })
        .then(
          () => 'no error',
          () => knex.raw('SELECT ?::int AS n, ?::text AS t', [i, purpose]).then((r) => r.rows),
        )
      expect(answer).toEqual([{ n: i, t: purpose }])
    }
    expect(await knex('access_log').where('id', row.id).first()).toMatchObject({ purpose, hash: row.hash })
  })

  it('queued behind each other on one connection, every statement gets its own answer', async () => {
    const results = await withConnection((c) =>
      Promise.all([
        settle(c.query('INSERT INTO departments (code, name) VALUES ($1, $2)', ['PSB', 'duplicate'])),
        settle(c.query('SELECT $1::int AS n', [1])),
        settle(c.query('SELECT 1 / $1::int AS n', [0])),
        settle(c.query('SELECT $1::text AS t', ['two'])),
        settle(c.query('SELECT $1::int AS n', ['not a number'])),
        settle(c.query('SELECT 3 AS n')),
        settle(
          c.query({
            name: `embedded_errors_${uniqueSuffix()}`,
            text: 'SELECT 10 / $1::int AS n',
            values: [0],
          }),
        ),
        settle(c.query('SELEC $1', [1])),
        settle(c.query('SELECT $1::int + 1 AS n', [3])),
        settle(c.query('SELECT code FROM departments WHERE code = $1', ['PSB'])),
      ]),
    )
    expect(results).toEqual([
      { error: expect.stringMatching(/duplicate key/) },
      { ok: [{ n: 1 }] },
      { error: 'division by zero' },
      { ok: [{ t: 'two' }] },
      { error: expect.stringMatching(/invalid input syntax for type integer/) },
      { ok: [{ n: 3 }] },
      { error: 'division by zero' },
      { error: expect.stringMatching(/syntax error/) },
      { ok: [{ n: 4 }] },
      { ok: [{ code: 'PSB' }] },
    ])
    expect((await knex.raw('SELECT ?::int AS n', [5])).rows).toEqual([{ n: 5 }])
  })

  it('after a failure in a transaction, a statement already queued is refused, not answered with no rows', async () => {
    const stop = new Error('roll back')
    let second: Settled | undefined
    await expect(
      knex.transaction(async (trx) => {
        const [first, next] = await Promise.all([
          settle(trx.raw('INSERT INTO departments (code, name) VALUES (?, ?)', ['PSB', 'duplicate'])),
          settle(trx.raw('SELECT ?::int AS n', [6])),
        ])
        expect(first).toEqual({ error: expect.stringMatching(/duplicate key/) })
        second = next
        throw stop
      }),
    ).rejects.toBe(stop)
    expect(second).toEqual({ error: expect.stringMatching(/current transaction is aborted/) })
    expect((await knex.raw('SELECT ?::int AS n', [7])).rows).toEqual([{ n: 7 }])
  })

  it('a failure inside a savepoint rolls back only the savepoint, and the transaction goes on', async () => {
    const table = `embedded_errors_${uniqueSuffix().replace(/\W/g, '_')}`
    const counts = await knex.transaction(async (trx) => {
      await trx.raw(`CREATE TEMP TABLE ${table} (id int PRIMARY KEY, n int CHECK (n > 0)) ON COMMIT DROP`)
      await trx(table).insert({ id: 1, n: 1 })
      const outcomes: string[] = []
      for (const row of [
        { id: 1, n: 2 },
        { id: 2, n: -1 },
        { id: 3, n: 3 },
      ]) {
        outcomes.push(
          await trx
            .transaction(async (sp) => {
              // A probe queued right behind the insert: refused when the insert failed, else answered.
              const [insert, probe] = await Promise.all([
                settle(
                  sp(table)
                    .insert(row)
                    .then(() => ({ rows: [] })),
                ),
                settle(sp.raw('SELECT ?::int AS n', [row.id])),
              ])
              if ('error' in insert)
                throw new Error(
                  `${insert.error.replace(/^.* - /, '')} / ${'error' in probe ? probe.error.replace(/^.* - /, '') : 'probe answered'}`,
                )
              return `inserted / ${JSON.stringify(probe)}`
            })
            .then(
              (r) => r,
              (e: Error) => e.message,
            ),
        )
        // Asked straight after each savepoint, with bindings: must see exactly the rows kept so far.
        const { rows } = await trx.raw(`SELECT count(*)::int AS n, ?::text AS tag FROM ${table}`, [`after ${row.id}`])
        outcomes.push(`${rows[0].tag}: ${rows[0].n}`)
      }
      return outcomes
    })
    expect(counts).toEqual([
      expect.stringMatching(/duplicate key.* \/ current transaction is aborted/),
      'after 1: 1',
      expect.stringMatching(/check constraint.* \/ current transaction is aborted/),
      'after 2: 1',
      'inserted / {"ok":[{"n":3}]}',
      'after 3: 2',
    ])
    expect((await knex.raw('SELECT ?::int AS n', [8])).rows).toEqual([{ n: 8 }])
  })
})
