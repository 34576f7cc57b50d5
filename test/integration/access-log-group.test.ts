import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import {
  AccessLogWriter,
  accessLogWriter,
  appendAccessLogGroup,
  chainHash,
  verifyAccessLog,
  verifyAccessLogAnchored,
  type DbAccessLogRow,
} from '../../src/access/access-log.store.js'
import { withTransaction } from '../../src/db/transaction.js'
import { applySubmission } from '../../src/reconciliation/submission.service.js'
import { idNumberCheckChar } from '../../src/reconciliation/rules/id-number.js'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { random } from '../support/ids.js'

// The access log commits in groups: requests answered together share one statement and one
// commit, the chain stays whole and in arrival order, and the signed checkpoints of the anchor
// file catch what the chain alone cannot (a removed tail, a rewritten-and-recomputed chain).
let server: TestServer
let steward: Record<string, string>
const dir = mkdtempSync(join(tmpdir(), 'cfd-anchor-'))
const anchor = { file: join(dir, 'anchor.jsonl'), key: randomBytes(32).toString('hex'), intervalMs: 0 }
const sfx = uniqueSuffix()
let personId = ''

beforeAll(async () => {
  server = await startTestServer({ auditAnchor: anchor })
  steward = await createTestKey(server.knex, { roles: ['STEWARD'] })
  const first17 = `33010619900101${String(Math.floor(random() * 1000)).padStart(3, '0')}`
  const idNumber = first17 + idNumberCheckChar(first17)
  const r = await withTransaction(server.knex, { operation: 'test', departmentCode: 'PSB' }, (tx) =>
    applySubmission(
      tx,
      {
        department: 'PSB',
        entityType: 'PERSON',
        records: [{ sourceKey: `p-${sfx}`, attributes: { idNumber, name: `审计${sfx}`, birthDate: '1990-01-01' } }],
      },
      { matchHigh: 0.9, matchLow: 0.7, extent: [118.3, 29.1, 120.8, 30.6] },
    ),
  )
  expect(r.rejected).toEqual([])
  const p = await server.gql(`{ person(idNumber: "${idNumber}") { id } }`, undefined, steward)
  personId = p.data.person.id
})
afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

const rowsOf = (knex: Knex, like: string): Promise<DbAccessLogRow[]> =>
  knex('access_log').where('purpose', 'like', like).orderBy('id')

describe('group commit', () => {
  it('logs each of 200 concurrent readers exactly once, in fewer commits than requests, chain intact', async () => {
    const groupsBefore = accessLogWriter(server.knex).groups
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        server.gql(`query Reader { person(id: "${personId}") { name birthDate } }`, undefined, {
          ...steward,
          'x-purpose': `reader-${sfx}-${i}`,
        }),
      ),
    )
    for (const a of answers) {
      expect(a.errors).toBeUndefined()
      expect(a.data.person.name).toBe(`审计${sfx}`)
    }
    // Every answered read is already in the log when its answer arrives.
    const rows = await rowsOf(server.knex, `reader-${sfx}-%`)
    expect(rows.map((r) => r.purpose).sort()).toEqual(
      Array.from({ length: 200 }, (_, i) => `reader-${sfx}-${i}`).sort(),
    )
    for (const r of rows) expect(r).toMatchObject({ person_ids: [personId], fields: ['birthDate', 'name'] })
    const groups = accessLogWriter(server.knex).groups - groupsBefore
    expect(groups).toBeGreaterThanOrEqual(1)
    expect(groups).toBeLessThan(200)
    expect(await verifyAccessLogAnchored(server.knex, anchor)).toMatchObject({ ok: true, unanchoredRows: 0 })
  })

  it('keeps arrival order and returns the hash each entry was stored with', async () => {
    const writer = accessLogWriter(server.knex)
    const at = new Date()
    const hashes = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        writer.append({
          at,
          principalId: 'order-test',
          purpose: `order-${sfx}-${String(i).padStart(3, '0')}`,
          operationName: null,
          personIds: [personId],
          fields: ['name'],
        }),
      ),
    )
    const rows = await rowsOf(server.knex, `order-${sfx}-%`)
    expect(rows.map((r) => r.purpose)).toEqual(
      Array.from({ length: 200 }, (_, i) => `order-${sfx}-${String(i).padStart(3, '0')}`),
    )
    expect(rows.map((r) => r.hash)).toEqual(hashes)
    // No other writer ran meanwhile: consecutive rows, each linked to the one before, whatever group it was in.
    for (let i = 1; i < rows.length; i++) {
      expect(Number(rows[i].id)).toBe(Number(rows[i - 1].id) + 1)
      expect(rows[i].prev_hash).toBe(rows[i - 1].hash)
    }
    expect(rows[0].hash).toBe(chainHash(rows[0].prev_hash, { ...entryOf(rows[0]) }))
  })

  it('one entry the database refuses fails alone; the rest of its group is logged', async () => {
    const writer = accessLogWriter(server.knex)
    const entry = (purpose: string) => ({
      at: new Date(),
      principalId: 'refusal-test',
      purpose,
      operationName: null,
      personIds: [personId],
      fields: ['name'],
    })
    const results = await Promise.allSettled([
      writer.append(entry(`refuse-${sfx}-a`)),
      writer.append(entry(`refuse-${sfx}-\u0000`)),
      writer.append(entry(`refuse-${sfx}-b`)),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((await rowsOf(server.knex, `refuse-${sfx}-%`)).map((r) => r.purpose)).toEqual([
      `refuse-${sfx}-a`,
      `refuse-${sfx}-b`,
    ])
    expect(await verifyAccessLog(server.knex)).toMatchObject({ ok: true })
  })

  it('costs a person read one access-log statement, without BEGIN, lock or head read', async () => {
    const statements: string[] = []
    const listener = (q: { sql: string }) => statements.push(q.sql)
    server.knex.on('query', listener)
    const r = await server.gql(`{ person(id: "${personId}") { name } }`, undefined, steward)
    server.knex.off('query', listener)
    expect(r.errors).toBeUndefined()
    expect(statements.filter((s) => /access_log/.test(s))).toEqual([
      expect.stringMatching(/^SELECT id, hash FROM access_log_append\((\?|\$1)::jsonb\)$/),
    ])
    expect(statements.filter((s) => /^(BEGIN|COMMIT)|advisory/i.test(s))).toEqual([])
  })

  it('finds the chain head by one index probe a group, never by scanning the log, even after planning it empty', async () => {
    // Before migration 20261207230000 the head read had a plan cached per connection: planned on
    // an empty log (a fresh database, or statistics of an empty table after a load with
    // autovacuum off) it was a sequential scan, kept as the log grew. Reproduced here on a
    // temporary, empty access_log that shadows the real one inside a transaction that is rolled
    // back: analysed empty, appended to once (planning the function's statements), then filled,
    // then appended to six more times. pg_stat_xact_user_tables counts this transaction's own
    // accesses to that table only.
    const entry = (i: number) => ({
      at: new Date(),
      principalId: `head-${sfx}`,
      purpose: `head-${sfx}-${i}`,
      operationName: null,
      personIds: [personId],
      fields: ['name'],
    })
    const stats = async (trx: Knex.Transaction) => {
      const { rows } = await trx.raw(
        `SELECT seq_scan, coalesce(idx_tup_fetch, 0) AS fetched, n_tup_ins FROM pg_stat_xact_user_tables
          WHERE relid = 'pg_temp.access_log'::regclass`,
      )
      return {
        seqScans: Number(rows[0].seq_scan),
        fetched: Number(rows[0].fetched),
        inserted: Number(rows[0].n_tup_ins),
      }
    }
    const rolledBack = new Error('rolled back on purpose')
    await expect(
      server.knex.transaction(async (trx) => {
        await trx.raw('CREATE TEMP TABLE access_log (LIKE public.access_log INCLUDING ALL) ON COMMIT DROP')
        await trx.raw(`SELECT set_config('search_path', 'pg_temp, ' || current_setting('search_path'), true)`)
        await trx.raw('ANALYZE pg_temp.access_log')
        await appendAccessLogGroup(trx, [entry(0)])
        await trx.raw(
          `INSERT INTO pg_temp.access_log (at, principal_id, person_ids, fields, prev_hash, hash)
           SELECT now(), 'filler', '{}', '{}', '', md5(g::text) FROM generate_series(1, 5000) g`,
        )
        const before = await stats(trx)
        const rows = []
        for (let i = 1; i <= 6; i++) rows.push(...(await appendAccessLogGroup(trx, [entry(i), entry(i + 10)])))
        const after = await stats(trx)
        expect(after.inserted - before.inserted).toBe(12)
        expect(after.seqScans - before.seqScans).toBe(0)
        // Each group reads one row of the log (its last), however long the log is.
        expect(after.fetched - before.fetched).toBeLessThanOrEqual(6)
        // The entries went into the shadowing table, linked to its head.
        const last = await trx('pg_temp.access_log').orderBy('id', 'desc').first()
        expect(last.hash).toBe(rows.at(-1)?.hash)
        throw rolledBack
      }),
    ).rejects.toBe(rolledBack)
    expect(await verifyAccessLog(server.knex)).toMatchObject({ ok: true })
  })

  it('a writer with several in flight drains them all on close', async () => {
    const w = new AccessLogWriter(server.knex)
    const pending = Array.from({ length: 20 }, (_, i) =>
      w.append({
        at: new Date(),
        principalId: 'drain-test',
        purpose: `drain-${sfx}-${i}`,
        operationName: null,
        personIds: [personId],
        fields: ['name'],
      }),
    )
    await w.close()
    expect(await rowsOf(server.knex, `drain-${sfx}-%`)).toHaveLength(20)
    await Promise.all(pending)
  })
})

function entryOf(r: DbAccessLogRow) {
  return {
    at: r.at,
    principalId: r.principal_id,
    purpose: r.purpose,
    operationName: r.operation_name,
    personIds: r.person_ids,
    fields: r.fields,
  }
}

/** Runs fn with the append-only triggers off (as a database superuser could), then puts them back. */
async function behindTheTriggers(fn: () => Promise<void>): Promise<void> {
  await server.knex.raw('ALTER TABLE access_log DISABLE TRIGGER USER')
  try {
    await fn()
  } finally {
    await server.knex.raw('ALTER TABLE access_log ENABLE TRIGGER USER')
  }
}

/** `npm run audit:verify` against the run's database (a second connection: real PostgreSQL only). */
function auditVerifyCli(env: Record<string, string>) {
  return spawnSync('npx', ['tsx', 'src/cli/audit-verify.ts'], {
    env: { ...process.env, DATABASE_URL: inject('databaseUrl'), LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
}

describe('anchor', () => {
  const read = (purpose: string) =>
    server.gql(`{ person(id: "${personId}") { name } }`, undefined, { ...steward, 'x-purpose': purpose })

  it('finds the last rows deleted, which the chain alone cannot', async () => {
    for (let i = 0; i < 3; i++) expect((await read(`tail-${sfx}-${i}`)).errors).toBeUndefined()
    const tail = await rowsOf(server.knex, `tail-${sfx}-%`)
    const last = tail.at(-1)!
    expect(Number((await server.knex('access_log').max('id as m'))[0].m)).toBe(Number(last.id))
    await behindTheTriggers(async () => {
      await server.knex('access_log').where('id', '>=', tail[1].id).del()
      try {
        expect(await verifyAccessLog(server.knex)).toMatchObject({ ok: true })
        expect(await verifyAccessLogAnchored(server.knex, anchor)).toMatchObject({
          ok: false,
          brokenId: Number(tail[1].id),
          reason: expect.stringMatching(/removed/),
        })
      } finally {
        await server.knex('access_log').insert(tail.slice(1))
      }
    })
    expect(await verifyAccessLogAnchored(server.knex, anchor)).toMatchObject({ ok: true })
  })

  it('finds a row rewritten with the rest of the chain recomputed, which the chain alone cannot', async () => {
    for (let i = 0; i < 3; i++) expect((await read(`rewrite-${sfx}-${i}`)).errors).toBeUndefined()
    const target = (await rowsOf(server.knex, `rewrite-${sfx}-0`))[0]
    const after: DbAccessLogRow[] = await server.knex('access_log').where('id', '>=', target.id).orderBy('id')
    await behindTheTriggers(async () => {
      try {
        // The attacker hides who read: another principal, every later hash recomputed and linked.
        let prev = target.prev_hash
        for (const r of after) {
          const changed = r.id === target.id ? { ...r, principal_id: 'someone-else' } : r
          const hash = chainHash(prev, entryOf(changed))
          await server
            .knex('access_log')
            .where('id', r.id)
            .update({ principal_id: changed.principal_id, prev_hash: prev, hash })
          prev = hash
        }
        expect(await verifyAccessLog(server.knex)).toMatchObject({ ok: true })
        const verdict = await verifyAccessLogAnchored(server.knex, anchor)
        expect(verdict).toMatchObject({ ok: false, reason: expect.stringMatching(/signed checkpoint/) })
        expect(verdict.ok === false && verdict.brokenId).toBeGreaterThanOrEqual(Number(target.id))
        if (!inject('embedded')) {
          const cli = auditVerifyCli({ AUDIT_ANCHOR_FILE: anchor.file, AUDIT_ANCHOR_KEY: anchor.key })
          expect(cli.stderr).toMatch(/BROKEN at row id \d+: hash differs from its signed checkpoint/)
          expect(cli.status).toBe(1)
        }
      } finally {
        for (const r of after)
          await server
            .knex('access_log')
            .where('id', r.id)
            .update({ principal_id: r.principal_id, prev_hash: r.prev_hash, hash: r.hash })
      }
    })
    expect(await verifyAccessLogAnchored(server.knex, anchor)).toMatchObject({ ok: true })
  })

  it('refuses an anchor file that was edited, signed with another key, or is missing', async () => {
    const original = readFileSync(anchor.file, 'utf8')
    const lines = original.trimEnd().split('\n')
    const forged = JSON.parse(lines[lines.length - 1])
    forged.id -= 1
    try {
      writeFileSync(anchor.file, `${[...lines.slice(0, -1), JSON.stringify(forged)].join('\n')}\n`)
      expect(await verifyAccessLogAnchored(server.knex, anchor)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(new RegExp(`anchor line ${lines.length} has a bad signature`)),
      })
    } finally {
      writeFileSync(anchor.file, original)
    }
    expect(await verifyAccessLogAnchored(server.knex, { ...anchor, key: 'k'.repeat(64) })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/line 1 has a bad signature/),
    })
    expect(await verifyAccessLogAnchored(server.knex, { ...anchor, file: join(dir, 'nope') })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/cannot be read \(ENOENT\)/),
    })
    const empty = join(dir, 'empty.jsonl')
    writeFileSync(empty, '')
    expect(await verifyAccessLogAnchored(server.knex, { ...anchor, file: empty })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no checkpoint/),
    })
  })

  it('ignores a torn last line (a crash mid-write) but not a torn line in the middle', async () => {
    const original = readFileSync(anchor.file, 'utf8')
    try {
      appendFileSync(anchor.file, '{"v":1,"id":12')
      expect(await verifyAccessLogAnchored(server.knex, anchor)).toMatchObject({ ok: true })
      writeFileSync(anchor.file, `{"v":1,"id":12\n${original}`)
      expect(await verifyAccessLogAnchored(server.knex, anchor)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/line 1 is not JSON/),
      })
    } finally {
      writeFileSync(anchor.file, original)
    }
  })

  it.skipIf(inject('embedded'))(
    'npm run audit:verify passes an intact chain with its anchor (real PostgreSQL: second connection)',
    () => {
      const cli = auditVerifyCli({ AUDIT_ANCHOR_FILE: anchor.file, AUDIT_ANCHOR_KEY: anchor.key })
      expect(cli.stdout).toMatch(/access log intact: \d+ rows, every hash verified, \d+ signed checkpoints match/)
      expect(cli.status).toBe(0)
      const bad = auditVerifyCli({ AUDIT_ANCHOR_FILE: anchor.file, AUDIT_ANCHOR_KEY: 'short' })
      expect(bad.stderr).toMatch(/AUDIT_ANCHOR_KEY must be at least 32 characters/)
      expect(bad.status).toBe(2)
    },
  )
})
