/**
 * The benchmarks' synthetic city in a real PostGIS: the 13 Hangzhou districts (through the engine,
 * as CAB and NRP submissions) and N addresses and N persons living at them, inserted directly with
 * generate_series (not through the engine: that is what the import benchmarks measure). Idempotent:
 * a re-run adds only what is missing. Used by bench/spatial.ts and bench/gis.ts.
 */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { Knex } from 'knex'
import { HANGZHOU } from '../seeds/demo.js'
import type { Config } from '../src/config.js'
import { withTransaction } from '../src/db/transaction.js'
import { applySubmission } from '../src/reconciliation/submission.service.js'

// The central districts of Hangzhou: where the synthetic points fall.
export const AREA = { lon: [119.95, 120.35], lat: [30.15, 30.45] }
export const TAG = '基准'

export type Boundaries = GeoJSON.FeatureCollection<GeoJSON.MultiPolygon, { code: string }>

/** Loads what is missing of the city; returns the district boundaries and the addresses now in the table. */
export async function loadBenchCity(
  knex: Knex,
  config: Config,
  N: number,
): Promise<{ boundaries: Boundaries; total: number }> {
  // Divisions with boundaries, through the engine (idempotent on re-runs).
  const boundaries = JSON.parse(
    readFileSync(new URL('../seeds/data/hangzhou-district-boundaries.geojson', import.meta.url), 'utf8'),
  ) as Boundaries
  const opts = { matchHigh: config.matchHigh, matchLow: config.matchLow, extent: config.extent }
  await withTransaction(knex, { operation: 'bench', departmentCode: 'CAB' }, (tx) =>
    applySubmission(
      tx,
      {
        department: 'CAB',
        entityType: 'ADMIN_DIVISION',
        records: [HANGZHOU.province, HANGZHOU.city, ...HANGZHOU.districts].map((d) => ({
          sourceKey: `bench-${d.code}`,
          attributes: { code: d.code, name: d.name },
        })),
      },
      opts,
    ),
  )
  await withTransaction(knex, { operation: 'bench', departmentCode: 'NRP' }, (tx) =>
    applySubmission(
      tx,
      {
        department: 'NRP',
        entityType: 'ADMIN_DIVISION',
        records: boundaries.features.map((f) => ({
          sourceKey: `bench-boundary-${f.properties.code}`,
          attributes: { code: f.properties.code },
          geometry: f.geometry,
        })),
      },
      opts,
    ),
  )

  // Ids are derived from the sequence number (md5), so persons can point at addresses without a lookup.
  const have = Number((await knex('addresses').where('full_text', 'like', `${TAG}%`).count({ n: '*' }).first())?.n ?? 0)
  if (have < N) {
    const started = performance.now()
    for (let from = have + 1; from <= N; from += 50_000) {
      const to = Math.min(N, from + 49_999)
      await withTransaction(knex, { operation: 'bench-addresses' }, async ({ trx, txid }) => {
        await trx.raw(
          `WITH pts AS MATERIALIZED (
             SELECT md5(? || 'addr' || g)::uuid AS id, g,
                    ST_SetSRID(ST_MakePoint(? + random() * ?, ? + random() * ?), 4326) AS loc
               FROM generate_series(?::int, ?::int) g
           ), e AS (INSERT INTO entities (id, entity_type, created_txid) SELECT id, 'ADDRESS', ? FROM pts)
           INSERT INTO addresses (id, full_text, normalized_text, division_key, location, updated_txid)
           SELECT id, ? || '路' || g || '号', ? || '路' || g || '号', '330100', loc, ? FROM pts`,
          [
            TAG,
            AREA.lon[0],
            AREA.lon[1] - AREA.lon[0],
            AREA.lat[0],
            AREA.lat[1] - AREA.lat[0],
            from,
            to,
            txid,
            TAG,
            TAG,
            txid,
          ],
        )
      })
      process.stdout.write(`\r  inserted ${to.toLocaleString()} / ${N.toLocaleString()} addresses`)
    }
    await knex.raw('ANALYZE addresses')
    console.log(`\n  load: ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
  // As many persons as addresses, each living at a pseudo-randomly chosen bench address (hashint4, so
  // some addresses have several residents and some none); 1 % are dead (areaSummary must skip them).
  const havePersons = Number(
    (await knex('persons').where('residence_address_key', 'like', `${TAG}%`).count({ n: '*' }).first())?.n ?? 0,
  )
  if (havePersons < N) {
    const started = performance.now()
    for (let from = havePersons + 1; from <= N; from += 100_000) {
      const to = Math.min(N, from + 99_999)
      await withTransaction(knex, { operation: 'bench-persons' }, async ({ trx, txid }) => {
        await trx.raw(
          `WITH ps AS MATERIALIZED (
             SELECT md5(? || 'person' || i)::uuid AS id, i, 1 + (abs(hashint4(i)::bigint) % ?) AS home
               FROM generate_series(?::int, ?::int) i
           ), e AS (INSERT INTO entities (id, entity_type, created_txid) SELECT id, 'PERSON', ? FROM ps)
           INSERT INTO persons (id, gender, birth_date, death_date, residence_address_key, residence_address_id, updated_txid)
           SELECT id, CASE WHEN i % 2 = 0 THEN 'FEMALE' ELSE 'MALE' END, date '1925-01-01' + ((i::bigint * 7919) % 36500)::int,
                  CASE WHEN i % 100 = 0 THEN date '2024-06-01' END, ? || home, md5(? || 'addr' || home)::uuid, ?
             FROM ps`,
          [TAG, N, from, to, txid, TAG, TAG, txid],
        )
      })
      process.stdout.write(`\r  inserted ${to.toLocaleString()} / ${N.toLocaleString()} persons`)
    }
    await knex.raw('VACUUM ANALYZE addresses, persons, entities')
    console.log(`\n  load: ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
  const total = Number((await knex('addresses').count({ n: '*' }).first())?.n ?? 0)
  return { boundaries, total }
}
