import type { Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { migrations } from '../../migrations/index.js'
import { DEPARTMENTS } from '../../seeds/reference.js'
import { withTransaction } from '../../src/db/transaction.js'
import { testKnex, uniqueSuffix } from '../helpers.js'

// This file starts no server, so it may hold the run's one embedded session itself; it gives it
// back in afterAll for the next file.
let knex: Knex

beforeAll(() => {
  knex = testKnex()
})

afterAll(async () => {
  await knex.destroy()
})

describe('database', () => {
  it('has PostGIS, measuring distances in metres on the spheroid', async () => {
    const { rows } = await knex.raw<{ rows: { version: string }[] }>('SELECT postgis_version() AS version')
    expect(rows[0].version).toMatch(/^3\./)
    // One degree of latitude at Hangzhou (30°N) is 110.85 km on WGS 84.
    const { rows: distance } = await knex.raw<{ rows: { metres: number }[] }>(
      `SELECT ST_Distance(ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography,
                          ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography) AS metres`,
      [120.15, 29.75, 120.15, 30.75],
    )
    expect(distance[0].metres).toBeGreaterThan(110_700)
    expect(distance[0].metres).toBeLessThan(111_000)
  })

  it.runIf(inject('embedded'))(
    'embedded: keeps a small write-ahead log (checkpoints recycle at most 128 MB)',
    async () => {
      const { rows } = await knex.raw(
        `SELECT current_setting('max_wal_size') AS max, current_setting('min_wal_size') AS min`,
      )
      expect(rows[0]).toEqual({ max: '128MB', min: '32MB' })
    },
  )

  it('has every migration applied and none pending', async () => {
    const [completed, pending] = (await knex.migrate.list()) as [{ name: string }[], unknown[]]
    expect(pending).toEqual([])
    expect(completed.map((m) => m.name).sort()).toEqual(Object.keys(migrations).sort())
  })

  it('has a GiST index on every geometry column', async () => {
    const { rows: columns } = await knex.raw<{ rows: { table: string; column: string }[] }>(
      `SELECT f_table_name AS table, f_geometry_column AS column
         FROM geometry_columns WHERE f_table_schema = current_schema() ORDER BY 1, 2`,
    )
    expect(columns).toEqual(
      expect.arrayContaining([
        { table: 'addresses', column: 'location' },
        { table: 'admin_divisions', column: 'geom' },
        { table: 'buildings', column: 'footprint' },
        { table: 'parcels', column: 'geom' },
      ]),
    )
    const gist = await knex('pg_indexes')
      .select('tablename', 'indexdef')
      .whereRaw('schemaname = current_schema()')
      .andWhereILike('indexdef', '%USING gist%')
    // address_counts.location is a copy of addresses.location that areaSummary reads by Morton cell
    // key (btree address_counts_cell_idx); nothing searches it spatially, so a GiST index there
    // would only slow address writes.
    const readByCell = (table: string, column: string) => table === 'address_counts' && column === 'location'
    const unindexed = columns.filter(
      ({ table, column }) =>
        !readByCell(table, column) &&
        !gist.some((i) => i.tablename === table && new RegExp(`USING gist \\("?${column}"?\\)`).test(i.indexdef)),
    )
    expect(unindexed).toEqual([])
  })

  it('holds the ten reference departments', async () => {
    const rows = await knex('departments')
      .select('code', 'name')
      .whereIn(
        'code',
        DEPARTMENTS.map((d) => d.code),
      )
      .orderBy('code')
    expect(rows).toEqual([...DEPARTMENTS].sort((a, b) => a.code.localeCompare(b.code)))
  })
})

describe('withTransaction', () => {
  it('stamps each write with a new, increasing txid and records who made it', async () => {
    const suffix = uniqueSuffix()
    const stamp = {
      operation: `test:stamp:${suffix}`,
      principalId: `tester-${suffix}`,
      departmentCode: 'STATS',
      reason: 'db test',
    }
    const first = await withTransaction(knex, stamp, async (tx) => ({ txid: tx.txid, at: tx.at }))
    const second = await withTransaction(knex, stamp, async (tx) => ({ txid: tx.txid, at: tx.at }))

    expect(second.txid).toBeGreaterThan(first.txid)
    expect(second.at.getTime()).toBeGreaterThanOrEqual(first.at.getTime())
    const rows = await knex('transactions').where({ operation: stamp.operation }).orderBy('txid')
    expect(rows.map((r) => Number(r.txid))).toEqual([first.txid, second.txid])
    expect(rows[0]).toMatchObject({
      principal_id: stamp.principalId,
      department_code: 'STATS',
      reason: 'db test',
    })
  })

  it('writes nothing, not even its transactions row, when the work throws', async () => {
    const suffix = uniqueSuffix()
    const code = `T${suffix}`
    let txid = 0
    await expect(
      withTransaction(knex, { operation: `test:rollback:${suffix}` }, async (tx) => {
        txid = tx.txid
        await tx.trx('departments').insert({ code, name: 'Rolled back' })
        throw new Error('work failed')
      }),
    ).rejects.toThrow('work failed')

    expect(txid).toBeGreaterThan(0)
    expect(await knex('departments').where({ code })).toEqual([])
    expect(await knex('transactions').where({ txid })).toEqual([])
    // The connection is usable afterwards (the failed transaction did not leave it aborted).
    expect((await knex.raw('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }])
  })
})
