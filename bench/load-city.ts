/**
 * The benchmarks' synthetic city in a real PostGIS: the 13 Hangzhou districts (through the engine,
 * as CAB and NRP submissions), N addresses and N persons living at them, a fixed grid of parcels
 * over the area and one building footprint per four addresses, inserted directly with
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
/** The parcel grid: cells of 0.0015° (about 145 × 165 m), so 267 × 200 = 53,400 parcels whatever N is. */
export const PARCEL_CELL = 0.0015
const PARCEL_COLUMNS = Math.ceil((AREA.lon[1] - AREA.lon[0]) / PARCEL_CELL)
const PARCEL_ROWS = Math.ceil((AREA.lat[1] - AREA.lat[0]) / PARCEL_CELL)

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
  await loadParcelsAndBuildings(knex, N)
  const total = Number((await knex('addresses').count({ n: '*' }).first())?.n ?? 0)
  return { boundaries, total }
}

/**
 * Parcels as a grid of squares over AREA (each inset by a tenth of the cell, so neighbours do not
 * touch) and one building per four addresses: a rectangle of 16–30 × 12–24 m around address
 * 4b − 3, on the parcel of the cell it falls in. Ids are md5 of the sequence number, as for
 * addresses; the tables and columns are the ones the tile layers serve.
 */
async function loadParcelsAndBuildings(knex: Knex, N: number): Promise<void> {
  const parcels = PARCEL_COLUMNS * PARCEL_ROWS
  const haveParcels = Number(
    (await knex('parcels').where('parcel_code', 'like', `${TAG}%`).count({ n: '*' }).first())?.n ?? 0,
  )
  const started = performance.now()
  if (haveParcels < parcels)
    await withTransaction(knex, { operation: 'bench-parcels' }, async ({ trx, txid }) => {
      await trx.raw(
        `WITH cells AS MATERIALIZED (
           SELECT md5(:tag || 'parcel' || k)::uuid AS id, k, (k - 1) % :columns AS i, (k - 1) / :columns AS j
             FROM generate_series(:from::int, :to::int) k
         ), ps AS MATERIALIZED (
           SELECT id, k, ST_MakeEnvelope(:lon0 + (i + 0.1) * :cell, :lat0 + (j + 0.1) * :cell,
                                         :lon0 + (i + 0.9) * :cell, :lat0 + (j + 0.9) * :cell, 4326) AS geom
             FROM cells
         ), e AS (INSERT INTO entities (id, entity_type, created_txid) SELECT id, 'PARCEL', :txid FROM ps)
         INSERT INTO parcels (id, parcel_code, land_use, geom, area_sq_m, updated_txid)
         SELECT id, :tag || '-P-' || k, (ARRAY['RESIDENTIAL', 'COMMERCIAL', 'INDUSTRIAL', 'PUBLIC'])[1 + k % 4],
                geom, ST_Area(geom::geography), :txid
           FROM ps`,
        {
          tag: TAG,
          columns: PARCEL_COLUMNS,
          from: haveParcels + 1,
          to: parcels,
          lon0: AREA.lon[0],
          lat0: AREA.lat[0],
          cell: PARCEL_CELL,
          txid,
        },
      )
    })
  const buildings = Math.ceil(N / 4)
  const haveBuildings = Number(
    (await knex('buildings').where('name', 'like', `${TAG}%`).count({ n: '*' }).first())?.n ?? 0,
  )
  for (let from = haveBuildings + 1; from <= buildings; from += 50_000) {
    const to = Math.min(buildings, from + 49_999)
    await withTransaction(knex, { operation: 'bench-buildings' }, async ({ trx, txid }) => {
      await trx.raw(
        `WITH bs AS MATERIALIZED (
           SELECT md5(:tag || 'building' || b)::uuid AS id, b, a.location AS at,
                  (8 + abs(hashint4(b)::bigint) % 7) * 0.00001 AS hx, (6 + abs(hashint4(-b)::bigint) % 6) * 0.00001 AS hy,
                  1 + floor((ST_X(a.location) - :lon0) / :cell)::int
                    + floor((ST_Y(a.location) - :lat0) / :cell)::int * :columns AS parcel
             FROM generate_series(:from::int, :to::int) b
             JOIN addresses a ON a.id = md5(:tag || 'addr' || (4 * b - 3))::uuid
         ), e AS (INSERT INTO entities (id, entity_type, created_txid) SELECT id, 'BUILDING', :txid FROM bs)
         INSERT INTO buildings (id, name, footprint, floors, use_type, parcel_key, parcel_id, updated_txid)
         SELECT id, :tag || '楼' || b,
                ST_MakeEnvelope(ST_X(at) - hx, ST_Y(at) - hy, ST_X(at) + hx, ST_Y(at) + hy, 4326),
                1 + b % 30, (ARRAY['RESIDENTIAL', 'OFFICE', 'RETAIL', 'INDUSTRIAL'])[1 + b % 4],
                :tag || '-P-' || parcel, md5(:tag || 'parcel' || parcel)::uuid, :txid
           FROM bs`,
        { tag: TAG, lon0: AREA.lon[0], lat0: AREA.lat[0], cell: PARCEL_CELL, columns: PARCEL_COLUMNS, from, to, txid },
      )
    })
    process.stdout.write(`\r  inserted ${to.toLocaleString()} / ${buildings.toLocaleString()} buildings`)
  }
  if (haveParcels < parcels || haveBuildings < buildings) {
    await knex.raw('VACUUM ANALYZE parcels, buildings')
    console.log(`\n  parcels and buildings: ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
}
