import type { Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { lockEntities, type TxContext, withTransaction } from '../../src/db/transaction.js'
import { changesAfter, type FeedPosition } from '../../src/reconciliation/history.store.js'
import { testKnex, uniqueSuffix } from '../helpers.js'
import { random } from '../support/ids.js'

// Writers lock only the entities they touch, and the change feed is ordered by a position taken
// at commit. These tests run real transactions on separate connections at the same moment; the
// embedded PGlite has one connection, so there the interleavings cannot happen and the tests that
// need two at once are skipped (said in their titles); the sequential feed test runs on both.

let knex: Knex
beforeAll(() => {
  knex = testKnex()
})
afterAll(async () => {
  await knex?.destroy()
})

const embedded = inject('embedded')
const concurrently = embedded ? it.skip : it
const why = embedded ? ' — skipped: the embedded database has one connection, so writers cannot overlap' : ''

/** A promise and its resolve function, to hold a transaction open at a chosen point. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((r) => {
    open = r
  })
  return { wait, open }
}

/** Writes one field_history row per field for an entity tagged with the test's suffix. */
async function writeChanges(tx: TxContext, entityId: string, tag: string, n: number): Promise<void> {
  await tx.trx('field_history').insert(
    Array.from({ length: n }, (_, i) => ({
      entity_id: entityId,
      entity_type: 'PERSON',
      field: `f${i}`,
      new_value: JSON.stringify(tag),
      status: 'AUTHORITATIVE',
      recorded_at: tx.at,
      txid: tx.txid,
    })),
  )
}

/** Creates entities in their own committed transaction; returns their ids, sorted. */
async function makeEntities(n: number): Promise<string[]> {
  return withTransaction(knex, { operation: 'test' }, async (tx) => {
    const { rows } = await tx.trx.raw(
      `INSERT INTO entities (entity_type, created_txid, created_at) SELECT 'PERSON', ?, ? FROM generate_series(1, ?) RETURNING id`,
      [tx.txid, tx.at, n],
    )
    return rows.map((r: { id: string }) => r.id).sort()
  })
}

/** Reads the whole feed after a position; returns the changes of entities in `ids` and the end position. */
async function drain(from: FeedPosition, ids: Set<string>) {
  const seen: { id: number; entityId: string; value: unknown }[] = []
  let at = from
  for (;;) {
    const page = await changesAfter(knex, at, ['PERSON'], 200)
    for (const c of page) if (ids.has(c.entityId)) seen.push({ id: c.id, entityId: c.entityId, value: c.newValue })
    if (!page.length) return { seen, at }
    at = { position: page[page.length - 1].position, id: page[page.length - 1].id }
  }
}

/** The feed position now (after the last change any reader can see). */
async function feedEnd(): Promise<FeedPosition> {
  const row = await knex('field_history as h')
    .join('transactions as t', 't.txid', 'h.txid')
    .whereNotNull('t.feed_position')
    .orderBy([
      { column: 't.feed_position', order: 'desc' },
      { column: 'h.id', order: 'desc' },
    ])
    .first('t.feed_position', 'h.id')
  return row ? { position: Number(row.feed_position), id: Number(row.id) } : { position: 0, id: 0 }
}

describe('change feed under concurrent writers', () => {
  concurrently(`a change that commits after a later-numbered one is still read, after it${why}`, async () => {
    const [a, b] = await makeEntities(2)
    const start = await feedEnd()
    const written = gate()
    const release = gate()
    // A writes first (lower ids) and stays open; B writes later ids and commits first.
    const first = withTransaction(knex, { operation: 'test' }, async (tx) => {
      await writeChanges(tx, a, 'A', 3)
      written.open()
      await release.wait
    })
    await written.wait
    await withTransaction(knex, { operation: 'test' }, (tx) => writeChanges(tx, b, 'B', 3))

    const early = await drain(start, new Set([a, b]))
    expect(early.seen.map((s) => s.value)).toEqual(['B', 'B', 'B'])
    release.open()
    await first
    const late = await drain(early.at, new Set([a, b]))
    // An id-ordered feed would have skipped these: their ids are below B's.
    expect(late.seen.map((s) => s.value)).toEqual(['A', 'A', 'A'])
    expect(Math.max(...late.seen.map((s) => s.id))).toBeLessThan(Math.min(...early.seen.map((s) => s.id)))
  })

  it('concurrent writers and a reader: every committed change read exactly once, per entity in commit order', async () => {
    const entities = await makeEntities(6)
    const ids = new Set(entities)
    const start = await feedEnd()
    const sfx = uniqueSuffix()
    let writing = true
    const read: { id: number; entityId: string; value: unknown }[] = []
    const reader = (async () => {
      let at = start
      // Reads while writers run, then once more after they all committed.
      for (let last = false; ; ) {
        const r = await drain(at, ids)
        read.push(...r.seen)
        at = r.at
        if (last) return
        if (!writing) last = true
        await new Promise((res) => setTimeout(res, 5))
      }
    })()
    // 8 writers × 6 transactions; each touches 1–3 entities (some shared), in a random order.
    const commitOrder = new Map<string, string[]>()
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let t = 0; t < 6; t++) {
        const mine = entities.filter(() => random() < 0.35)
        const touched = mine.length ? mine : [entities[(w + t) % entities.length]]
        const tag = `${sfx}-${w}-${t}`
        await withTransaction(knex, { operation: 'test' }, async (tx) => {
          await lockEntities(tx, [...touched].reverse())
          for (const e of touched) await writeChanges(tx, e, tag, 2)
          await new Promise((res) => setTimeout(res, random() * 15))
        })
        // Under the entity lock, commit order per entity is the order writers finished.
        for (const e of touched) commitOrder.set(e, [...(commitOrder.get(e) ?? []), tag])
      }
    })
    await Promise.all(writers)
    writing = false
    await reader

    const all = await knex('field_history').whereIn('entity_id', entities).select('id')
    expect(read.length).toBe(all.length)
    expect(new Set(read.map((r) => r.id)).size).toBe(all.length)
    expect(new Set(read.map((r) => r.id))).toEqual(new Set(all.map((r: { id: number }) => Number(r.id))))
    for (const e of entities) {
      const tags = read.filter((r) => r.entityId === e).map((r) => r.value as string)
      const order = tags.filter((t, i) => i === 0 || tags[i - 1] !== t)
      expect(order).toEqual(commitOrder.get(e) ?? [])
    }
  })
})

describe('per-entity write locks', () => {
  concurrently(`writers about disjoint entities hold their locks at the same time${why}`, async () => {
    const [a, b] = await makeEntities(2)
    const aHeld = gate()
    const bHeld = gate()
    const one = withTransaction(knex, { operation: 'test' }, async (tx) => {
      await lockEntities(tx, [a])
      aHeld.open()
      await bHeld.wait
    })
    const two = withTransaction(knex, { operation: 'test' }, async (tx) => {
      await lockEntities(tx, [b])
      bHeld.open()
      await aHeld.wait
    })
    // With one global lock this would never finish: each waits for the other to hold its lock.
    await expect(Promise.all([one, two])).resolves.toBeDefined()
  })

  concurrently(
    `a writer waiting past the lock timeout gets a coded retryable error, nothing applied${why}`,
    async () => {
      const [e] = await makeEntities(1)
      const held = gate()
      const done = gate()
      const holder = withTransaction(knex, { operation: 'test' }, async (tx) => {
        await lockEntities(tx, [e])
        held.open()
        await done.wait
      })
      await held.wait
      const reason = `waiter-${uniqueSuffix()}`
      const error = await withTransaction(
        knex,
        { operation: 'test', reason },
        async (tx) => {
          await lockEntities(tx, [e])
        },
        { lockTimeoutMs: 200 },
      ).catch((x) => x)
      done.open()
      await holder
      expect(error.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'WRITE_BUSY', retryable: true })
      expect(error.message).not.toMatch(/lock|SQL|pg_/i)
      expect(await knex('transactions').where({ reason }).count('* as n').first()).toEqual({ n: 0 })
    },
  )

  concurrently(`two writers locking in opposite orders both commit, without a deadlock error${why}`, async () => {
    const [low, high] = await makeEntities(2)
    const highHeld = gate()
    const lowHeld = gate()
    let attemptsOfFirst = 0
    // First holds the higher id and then asks for the lower one; second holds the lower and waits for the higher.
    const first = withTransaction(knex, { operation: 'test' }, async (tx) => {
      attemptsOfFirst++
      await lockEntities(tx, [high])
      if (attemptsOfFirst === 1) {
        highHeld.open()
        await lowHeld.wait
        // Give the second writer time to start waiting for `high`.
        await new Promise((r) => setTimeout(r, 100))
      }
      await lockEntities(tx, [low])
      await writeChanges(tx, low, 'first', 1)
    })
    await highHeld.wait
    const second = withTransaction(knex, { operation: 'test' }, async (tx) => {
      await lockEntities(tx, [low])
      lowHeld.open()
      await lockEntities(tx, [high])
      await writeChanges(tx, low, 'second', 1)
    })
    await Promise.all([first, second])
    // The first gave way (ran again) instead of waiting out of order.
    expect(attemptsOfFirst).toBe(2)
    const values = await knex('field_history').where('entity_id', low).orderBy('id').pluck('new_value')
    expect(values).toEqual(['second', 'first'])
  })
})
