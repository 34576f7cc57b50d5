import type { Knex } from 'knex'
import { decodeCursor, encodeCursor } from '../shared/cursor.js'
import { lookupRows, rowToObject, selectColumns, type EntityObject } from '../reconciliation/entity.store.js'
import { badInput } from '../shared/errors.js'
import { UUID } from '../shared/ids.js'
import { DEFAULT_MAX_GEOMETRY_VERTICES } from '../reconciliation/rules/validate.js'
import { lockNumber } from '../db/transaction.js'
import { AREA_CELL_LEVEL } from '../../migrations/20261203080000_maintain_area_cell_counts.js'
import { ADDRESS_SEARCH_THRESHOLD, normalizeAddressQuery } from './address-search.js'
import {
  checkBbox,
  checkLonLat,
  checkNear,
  divisionCodePrefix,
  polygonParam,
  whereBbox,
  whereIntersects,
  whereNear,
  whereWithin,
} from './spatial-filter.js'
import type { SpatialFilter } from './spatial.types.js'

export type SpatialKind = 'ADDRESS' | 'BUILDING' | 'PARCEL'

interface SpatialTable {
  table: string
  alias: string
  geom: string
}

const TABLES: Record<SpatialKind, SpatialTable> = {
  ADDRESS: { table: 'addresses', alias: 'a', geom: 'a.location' },
  BUILDING: { table: 'buildings', alias: 'b', geom: 'b.footprint' },
  PARCEL: { table: 'parcels', alias: 'pc', geom: 'pc.geom' },
}

/** Any geometry type a caller may intersect with. */
const ANY_GEOMETRY = ['Point', 'MultiPoint', 'LineString', 'Polygon', 'MultiPolygon'] as const

// A building or parcel has no division of its own: it is in a division when one of its addresses
// is (that works for townships, which have no boundary in the demo data) or when it touches the
// boundary of that division or of any division below it.
const BUILDING_IN_DIVISION = `(EXISTS (SELECT 1 FROM addresses x WHERE x.building_id = b.id AND x.division_key LIKE ?)
  OR EXISTS (SELECT 1 FROM admin_divisions d WHERE d.code LIKE ? AND d.geom IS NOT NULL AND ST_Intersects(d.geom, b.footprint)))`
const PARCEL_IN_DIVISION = `(EXISTS (SELECT 1 FROM buildings y JOIN addresses x ON x.building_id = y.id WHERE y.parcel_id = pc.id AND x.division_key LIKE ?)
  OR EXISTS (SELECT 1 FROM admin_divisions d WHERE d.code LIKE ? AND d.geom IS NOT NULL AND ST_Intersects(d.geom, pc.geom)))`

/** Similarity of the query to an address, both in search form (migration 20261127120100). */
const ADDRESS_SCORE = 'word_similarity(address_search_text(?), address_search_text(a.normalized_text))'
const ADDRESS_MATCH = 'address_search_text(?) <% address_search_text(a.normalized_text)'

/** Checks a lon/lat argument pair; BAD_USER_INPUT (INVALID_GEOMETRY) naming 'lon' or 'lat'. */
export function checkPoint(lon: number, lat: number): void {
  checkLonLat(lon, 0, 'lon')
  checkLonLat(0, lat, 'lat')
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`)
}

interface BuiltQuery {
  /** The filtered query on `<table> <alias>`, no select, order or limit. */
  base: () => Knex.QueryBuilder
  /** Normalised address text when the results are ranked by similarity. */
  search: string | null
}

/** Checks the filter and builds the query; throws BAD_USER_INPUT (with reason and field) for any malformed value. */
export function spatialQuery(
  knex: Knex,
  kind: SpatialKind,
  filter: SpatialFilter | null | undefined,
  maxVertices = DEFAULT_MAX_GEOMETRY_VERTICES,
): BuiltQuery {
  const t = TABLES[kind]
  const f = filter ?? {}
  // Validate everything once, up front, so a bad value fails before any SQL runs.
  const within =
    f.within !== undefined && f.within !== null ? polygonParam(f.within, 'filter.within', maxVertices) : null
  const intersects =
    f.intersects !== undefined && f.intersects !== null
      ? polygonParam(f.intersects, 'filter.intersects', maxVertices, ANY_GEOMETRY)
      : null
  if (f.near) checkNear(f.near, 'filter.near')
  const bbox = f.bbox ? checkBbox(f.bbox, 'filter.bbox') : null
  // `!= null`, not truthiness: an empty code is malformed (INVALID_DIVISION_CODE), not an absent filter.
  const prefix =
    f.divisionCode != null ? `${escapeLike(divisionCodePrefix(f.divisionCode, 'filter.divisionCode'))}%` : null
  let search: string | null = null
  let contains: string | null = null
  if (f.textContains !== undefined && f.textContains !== null) {
    if (kind === 'ADDRESS') search = normalizeAddressQuery(f.textContains, 'filter.textContains')
    else {
      contains = f.textContains.trim()
      if (!contains || contains.length > 200)
        throw badInput('filter.textContains must be 1 to 200 characters', 'filter.textContains')
    }
  }

  const base = () => {
    const q = knex(`${t.table} as ${t.alias}`)
    if (within) whereWithin(q, t.geom, within)
    if (intersects) whereIntersects(q, t.geom, intersects)
    if (f.near) whereNear(q, t.geom, f.near)
    if (bbox) whereBbox(q, t.geom, bbox)
    if (prefix) {
      if (kind === 'ADDRESS') q.where('a.division_key', 'like', prefix)
      else q.whereRaw(kind === 'BUILDING' ? BUILDING_IN_DIVISION : PARCEL_IN_DIVISION, [prefix, prefix])
    }
    if (search) q.whereRaw(ADDRESS_MATCH, [search])
    if (contains) {
      const like = `%${escapeLike(contains)}%`
      if (kind === 'BUILDING') q.where('b.name', 'like', like)
      else q.where((w) => w.where('pc.parcel_code', 'like', like.toUpperCase()).orWhere('pc.land_use', 'like', like))
    }
    return q
  }
  return { base, search }
}

export interface SpatialPage {
  items: EntityObject[]
  hasNextPage: boolean
  cursorOf: (item: EntityObject) => string
  count: () => Promise<number>
}

/** Runs `fn` where pg_trgm's `<%` uses the address-search threshold (a transaction with SET LOCAL). */
function withSearchThreshold<T>(knex: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw(`SELECT set_config('pg_trgm.word_similarity_threshold', ?, true)`, [String(ADDRESS_SEARCH_THRESHOLD)])
    return fn(trx)
  })
}

/**
 * Runs `fn` without parallel workers (a transaction with SET LOCAL). A page is at most 501 rows in
 * id order, usually found after a few hundred index entries; for a large `within` polygon the planner
 * nevertheless picks a parallel scan, and starting the workers (each loads PostGIS) took ~45 ms of the
 * ~50 ms on 1,000,000 addresses, against 0.5 ms for the same plan in one process (bench/RESULTS.md).
 */
function withoutParallelWorkers<T>(knex: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw(`SELECT set_config('max_parallel_workers_per_gather', '0', true)`)
    return fn(trx)
  })
}

/**
 * One keyset page of addresses, buildings or parcels matching the filter. Without textContains the
 * order is by id and the cursor is [id]; with it (addresses) the order is by similarity, best first,
 * then id, and the cursor is [score, id]. An empty page has hasNextPage false; count runs only when called.
 * With `fields` (the request's lookahead) only those columns: an address page that does not select
 * `location` reads no GeoJSON.
 */
export async function spatialPage(
  knex: Knex,
  kind: SpatialKind,
  filter: SpatialFilter | null | undefined,
  first: number,
  after: string | null | undefined,
  maxVertices = DEFAULT_MAX_GEOMETRY_VERTICES,
  fields?: ReadonlySet<string>,
): Promise<SpatialPage> {
  const t = TABLES[kind]
  const { base, search } = spatialQuery(knex, kind, filter, maxVertices)
  const key = decodeCursor(after)
  const badCursor = () => badInput('after is not a cursor this service issued', 'after')
  const columns = selectColumns(knex, kind, t.alias, fields)

  if (!search) {
    if (key && (key.length !== 1 || typeof key[0] !== 'string' || !UUID.test(key[0]))) throw badCursor()
    const rows = await withoutParallelWorkers(knex, async (trx) => {
      const q = base()
        .transacting(trx)
        .select(columns)
        .orderBy(`${t.alias}.id`)
        .limit(first + 1)
      if (key) q.where(`${t.alias}.id`, '>', key[0] as string)
      return (await q) as Record<string, unknown>[]
    })
    return {
      items: rows.slice(0, first).map((r) => rowToObject(kind, r)),
      hasNextPage: rows.length > first,
      cursorOf: (item) => encodeCursor([item.id]),
      count: async () => Number((await base().count({ n: '*' }).first())?.n ?? 0),
    }
  }

  // Ranked: the keyset is (score DESC, id ASC). Scores are float4; the cursor holds the value
  // PostgreSQL printed (shortest exact form), and comparing it as ::real gives it back exactly.
  // word_similarity is in [0, 1]; anything else did not come from here (and may not even fit a real).
  if (
    key &&
    (key.length !== 2 ||
      typeof key[0] !== 'number' ||
      !(key[0] >= 0 && key[0] <= 1) ||
      typeof key[1] !== 'string' ||
      !UUID.test(key[1]))
  )
    throw badCursor()
  const rows = await withSearchThreshold(knex, async (trx) => {
    const q = base()
      .transacting(trx)
      .select([...columns, knex.raw(`${ADDRESS_SCORE} AS score`, [search])])
      .orderByRaw(`score DESC, a.id`)
      .limit(first + 1)
    if (key)
      q.whereRaw(`(${ADDRESS_SCORE} < ?::real OR (${ADDRESS_SCORE} = ?::real AND a.id > ?))`, [
        search,
        key[0],
        search,
        key[0],
        key[1],
      ])
    return (await q) as Record<string, unknown>[]
  })
  const scores = new Map<string, number>(rows.map((r) => [r.id as string, Number(r.score)]))
  return {
    items: rows.slice(0, first).map((r) => ({ ...rowToObject(kind, r), searchScore: Number(r.score) })),
    hasNextPage: rows.length > first,
    cursorOf: (item) => encodeCursor([scores.get(item.id) ?? 0, item.id]),
    count: () =>
      withSearchThreshold(knex, async (trx) =>
        Number((await base().transacting(trx).count({ n: '*' }).first())?.n ?? 0),
      ),
  }
}

/** Largest number of nearest addresses one call returns. */
export const MAX_NEAREST = 100
export const DEFAULT_NEAREST = 5
/** Largest search radius of nearestAddresses, in metres. */
export const MAX_NEAREST_METERS = 100_000

// The index orders candidates by distance on the sphere (`<->` on geography, GiST on
// location::geography); the true spheroidal distance can reorder near-ties, so a few more
// candidates than asked are fetched and re-sorted by ST_Distance on the spheroid.
export const NEAREST_SQL = `
SELECT c.id, c.meters FROM (
  SELECT a.id, ST_Distance(a.location::geography, ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography) AS meters
    FROM addresses a
   WHERE a.location IS NOT NULL
     AND (?::float8 IS NULL OR ST_DWithin(a.location::geography, ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography, ?::float8))
   ORDER BY a.location::geography <-> ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography
   LIMIT ?
) c
ORDER BY c.meters, c.id
LIMIT ?`

/** Checks nearestAddresses arguments; BAD_USER_INPUT naming the field. */
export function checkNearestArgs(
  lon: number,
  lat: number,
  limit: number | null | undefined,
  maxMeters: number | null | undefined,
): { limit: number; maxMeters: number | null } {
  checkPoint(lon, lat)
  const n = limit ?? DEFAULT_NEAREST
  if (!Number.isInteger(n) || n < 1 || n > MAX_NEAREST)
    throw badInput(`limit must be between 1 and ${MAX_NEAREST}`, 'limit')
  if (maxMeters !== null && maxMeters !== undefined && (!(maxMeters > 0) || maxMeters > MAX_NEAREST_METERS))
    throw badInput(
      `maxMeters must be greater than 0 and at most ${MAX_NEAREST_METERS}`,
      'maxMeters',
      'INVALID_GEOMETRY',
    )
  return { limit: n, maxMeters: maxMeters ?? null }
}

/** Ids of the addresses nearest to the point with their spheroidal distance, nearest first; [] when none is within maxMeters. */
export async function nearestAddressIds(
  knex: Knex,
  lon: number,
  lat: number,
  limit: number,
  maxMeters: number | null,
): Promise<{ id: string; meters: number }[]> {
  const { rows } = await knex.raw(NEAREST_SQL, [lon, lat, maxMeters, lon, lat, maxMeters, lon, lat, limit + 20, limit])
  return rows.map((r: { id: string; meters: number }) => ({ id: r.id, meters: Number(r.meters) }))
}

// Only some levels have boundaries (the demo has districts only), so the divisions whose
// boundary holds the point are completed with their ancestors through parent links.
export const DIVISIONS_AT_SQL = `
WITH RECURSIVE hit AS (
  SELECT d.id, d.parent_id FROM admin_divisions d
   WHERE d.geom IS NOT NULL AND ST_Intersects(d.geom, ST_SetSRID(ST_MakePoint(?, ?), 4326))
), up AS (
  SELECT id, parent_id FROM hit
  UNION
  SELECT p.id, p.parent_id FROM admin_divisions p JOIN up ON p.id = up.parent_id
)
SELECT id FROM admin_divisions WHERE id IN (SELECT id FROM up)`

const LEVEL_ORDER = ['PROVINCE', 'CITY', 'DISTRICT', 'TOWNSHIP', 'VILLAGE']

/**
 * Every division containing the point, top-down (province first), ties by code; [] outside all
 * boundaries. Without the boundaries (LAZY_GEOMETRY); with `fields` (the request's lookahead) only
 * those columns and the two the order needs; a prepared statement (lookupRows).
 */
export async function divisionsAt(
  knex: Knex,
  lon: number,
  lat: number,
  fields?: ReadonlySet<string>,
): Promise<EntityObject[]> {
  checkPoint(lon, lat)
  const columns = fields ? new Set([...fields, 'level', 'code']) : undefined
  const rows = await lookupRows(knex, 'ADMIN_DIVISION', columns, `"id" IN (${DIVISIONS_AT_SQL})`, [lon, lat])
  return rows
    .map((r: Record<string, unknown>) => rowToObject('ADMIN_DIVISION', r))
    .sort(
      (a, b) =>
        LEVEL_ORDER.indexOf(a.level as string) - LEVEL_ORDER.indexOf(b.level as string) ||
        String(a.code).localeCompare(String(b.code)),
    )
}

/**
 * Levels of quadtree cells below the first level whose cell is as large as the polygon's bounding
 * box. Deeper: fewer addresses tested point-in-polygon along the boundary, more cells to classify
 * (8 levels: ~1,300 cells, ~700 of them on the boundary, for a 311 km² district at 1,000,000
 * addresses; bench/RESULTS.md "GIS").
 */
export const AREA_CELL_DEPTH = 8

/** One quadtree cell (level z, column x, row y) classified against the polygon: I inside, O outside, B boundary leaf, S split further. */
const classifyCell = (z: string, x: string, y: string) => `(
  SELECT CASE WHEN ST_ContainsProperly((SELECT g FROM g), e) THEN 'I'
              WHEN NOT ST_Intersects((SELECT g FROM g), e) THEN 'O'
              WHEN ${z} >= (SELECT zmax FROM box) THEN 'B' ELSE 'S' END
    FROM ST_MakeEnvelope(${x} * 360 / 2 ^ ${z} - 180 - 1e-9, ${y} * 180 / 2 ^ ${z} - 90 - 1e-9,
                         (${x} + 1) * 360 / 2 ^ ${z} - 180 + 1e-9, (${y} + 1) * 180 / 2 ^ ${z} - 90 + 1e-9, 4326) e)`

/** The buildings whose enclosing cell lies within cell (r.z, r.k): a range of buildings_cell_idx. */
const WITHIN_CELL = `b.cell_lo >= r.k << (2 * (20 - r.z)) AND b.cell_lo < (r.k + 1) << (2 * (20 - r.z)) AND b.cell_level >= r.z`

// Buildings by enclosing cell. b_coarse: cells inside at level ≤ 16, the buildings coarser than
// level 16 (the rest are coarse.b); b_fine: cells inside finer than level 16; b_boundary: boundary
// cells, tested; b_split: enclosing cell equal to a split cell or to an ancestor of a top cell
// (one row per distinct cell), tested. The tests sit outside an OFFSET 0 subquery: otherwise the
// planner combines the few rows of the cell's range with buildings_footprint_idx (footprint && g,
// every building in the polygon's bounding box) once per cell — 0.9 s instead of 3 ms for a
// district's 717 boundary cells among 20,000 buildings.
const BUILDING_CTES = `,
splits AS MATERIALIZED (
  SELECT z, morton_spread(x) | (morton_spread(y) << 1) AS k FROM cells WHERE state = 'S'
  UNION
  SELECT l, morton_spread(c.x >> (c.z - l)) | (morton_spread(c.y >> (c.z - l)) << 1)
    FROM box b JOIN cells c ON c.z = b.z CROSS JOIN generate_series(0, b.z - 1) l),
b_coarse AS (
  SELECT coalesce(sum(s.n), 0) AS n FROM ranges r CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM buildings b WHERE ${WITHIN_CELL} AND b.cell_level < ${AREA_CELL_LEVEL}) s
   WHERE r.state = 'I' AND r.z <= ${AREA_CELL_LEVEL}),
b_fine AS (
  SELECT coalesce(sum(s.n), 0) AS n FROM ranges r CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM buildings b WHERE ${WITHIN_CELL}) s
   WHERE r.state = 'I' AND r.z > ${AREA_CELL_LEVEL}),
b_boundary AS (
  SELECT coalesce(sum(s.n), 0) AS n FROM ranges r CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM (SELECT b.footprint FROM buildings b WHERE ${WITHIN_CELL} OFFSET 0) b
     WHERE ST_Intersects(b.footprint, (SELECT g FROM g))) s
   WHERE r.state = 'B'),
b_split AS (
  SELECT coalesce(sum(s.n), 0) AS n FROM splits r CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM (
      SELECT b.footprint FROM buildings b WHERE b.cell_lo = r.k << (2 * (20 - r.z)) AND b.cell_level = r.z OFFSET 0) b
     WHERE ST_Intersects(b.footprint, (SELECT g FROM g))) s)`

// Counts from area_cell_counts (per level-16 cell, appended deltas; migrations 20261203080000 and
// 20261204100000) and address_counts (one row per address: point, Morton cell key on the 2^20
// grid, living residents, registered legal entities; migration 20261202190000), both kept by
// triggers. The polygon is covered by quadtree cells: the recursion splits cells that cross the
// boundary down to AREA_CELL_DEPTH levels below the bounding box's level. A cell is a contiguous
// range of Morton keys at every finer level. A cell inside (ST_ContainsProperly: every point of it
// is in the interior, as ST_Within requires) at level ≤ AREA_CELL_LEVEL is summed from
// area_cell_counts (a range of level-16 keys; a few rows per level-16 cell, whatever the heap order
// of address_counts); a cell inside finer than that is summed from address_counts through its cell
// index; a boundary cell's addresses are tested with ST_Within one by one; cells outside are
// skipped. Cell envelopes are widened by 1e-9° so that float rounding of a point's cell cannot put
// it outside its cell. Area on the spheroid. The last columns say how many area_cell_counts rows and
// distinct cells the interior read, and their key range, for the compaction decision (areaSummary).
// Buildings count when their footprint intersects the area (ST_Intersects), by their enclosing
// cell (buildings.cell_level, cell_lo: the smallest cell holding the footprint; migration
// 20261204100000 reasons the count through): untested when it lies within a cell inside (from
// area_cell_counts for its level ≥ 16 part, through buildings_coarse_cell_idx for the rest, or
// through buildings_cell_idx for cells inside finer than level 16); tested with ST_Intersects when
// it lies within a boundary cell, or equals a split cell or an ancestor of the top cells.
const areaSummarySql = (countBuildings: boolean) => `
WITH RECURSIVE g AS MATERIALIZED (SELECT checked_query_geometry(?, ?) AS g),
box AS MATERIALIZED (
  SELECT ST_XMin(g) AS x0, ST_YMin(g) AS y0, ST_XMax(g) AS x1, ST_YMax(g) AS y1, z, least(20, z + ${AREA_CELL_DEPTH}) AS zmax
    FROM g, LATERAL (SELECT greatest(0, least(20, floor(ln(360 / greatest(ST_XMax(g) - ST_XMin(g), 2 * (ST_YMax(g) - ST_YMin(g)), 1e-9)) / ln(2))))::int AS z) l),
cells(z, x, y, state) AS (
  SELECT b.z, x, y, ${classifyCell('b.z', 'x', 'y')}
    FROM box b, generate_series(floor((b.x0 + 180) * 2 ^ b.z / 360)::int, least(2 ^ b.z - 1, floor((b.x1 + 180) * 2 ^ b.z / 360))::int) x,
         generate_series(floor((b.y0 + 90) * 2 ^ b.z / 180)::int, least(2 ^ b.z - 1, floor((b.y1 + 90) * 2 ^ b.z / 180))::int) y
  UNION ALL
  SELECT c.z + 1, 2 * c.x + d.dx, 2 * c.y + d.dy, ${classifyCell('(c.z + 1)', '(2 * c.x + d.dx)', '(2 * c.y + d.dy)')}
    FROM cells c CROSS JOIN (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) d(dx, dy)
   WHERE c.state = 'S'),
ranges AS MATERIALIZED (
  SELECT state, z, k FROM cells, LATERAL (SELECT morton_spread(x) | (morton_spread(y) << 1) AS k) m
   WHERE state IN ('I', 'B')),
fine AS (
  SELECT coalesce(sum(s.n), 0) AS n, coalesce(sum(s.r), 0) AS r, coalesce(sum(s.l), 0) AS l
    FROM ranges r CROSS JOIN LATERAL (
      SELECT count(*) AS n, sum(c.residents) AS r, sum(c.legal_entities) AS l FROM address_counts c
       WHERE c.cell >= r.k << (2 * (20 - r.z)) AND c.cell < (r.k + 1) << (2 * (20 - r.z))
         AND (r.state = 'I' OR ST_Within(c.location, (SELECT g FROM g)))) s
   WHERE r.state = 'B' OR r.z > ${AREA_CELL_LEVEL}),
coarse AS (
  SELECT coalesce(sum(s.n), 0) AS n, coalesce(sum(s.r), 0) AS r, coalesce(sum(s.l), 0) AS l, coalesce(sum(s.b), 0) AS b,
         coalesce(sum(s.rows), 0) AS rows_read, coalesce(sum(s.cells), 0) AS cells_read,
         min(r.k << (2 * (${AREA_CELL_LEVEL} - r.z))) AS lo, max((r.k + 1) << (2 * (${AREA_CELL_LEVEL} - r.z))) AS hi
    FROM ranges r CROSS JOIN LATERAL (
      SELECT sum(a.addresses) AS n, sum(a.residents) AS r, sum(a.legal_entities) AS l, sum(a.buildings) AS b,
             count(*) AS rows, count(DISTINCT a.cell) AS cells FROM area_cell_counts a
       WHERE a.cell >= r.k << (2 * (${AREA_CELL_LEVEL} - r.z)) AND a.cell < (r.k + 1) << (2 * (${AREA_CELL_LEVEL} - r.z))) s
   WHERE r.state = 'I' AND r.z <= ${AREA_CELL_LEVEL})${countBuildings ? BUILDING_CTES : ''}
SELECT ST_Area((SELECT g FROM g)::geography) / 1e6 AS area_sq_km,
  fine.n + coarse.n AS address_count, fine.r + coarse.r AS resident_count, fine.l + coarse.l AS legal_entity_count,
  ${countBuildings ? 'coarse.b + b_coarse.n + b_fine.n + b_boundary.n + b_split.n' : 'NULL::bigint'} AS building_count,
  coarse.rows_read, coarse.cells_read, coarse.lo, coarse.hi
  FROM fine, coarse${countBuildings ? ', b_coarse, b_fine, b_boundary, b_split' : ''}`

/** Buildings count when their footprint intersects the area at all (by their maintained enclosing cells). */
export const AREA_SUMMARY_SQL = areaSummarySql(true)

/**
 * The same without counting buildings, for a caller who does not ask for buildingCount (the
 * buildings coarser than level 16 inside, and those on the boundary, are read and tested one by one).
 */
export const AREA_SUMMARY_NO_BUILDINGS_SQL = areaSummarySql(false)

export interface AreaSummaryRow {
  areaSqKm: number
  residentCount: number
  legalEntityCount: number
  addressCount: number
  /** null when not counted (opts.countBuildings false). */
  buildingCount: number | null
}

/**
 * A summary compacts the area_cell_counts rows it read when they were more than this many per
 * cell: reads then stay at about one row per cell, and compaction runs where, and as often as,
 * the deltas slow someone down. Writers never wait for it (migration 20261203080000).
 */
export const AREA_COMPACT_ROWS_PER_CELL = 2

/**
 * Area and counts inside a Polygon/MultiPolygon; BAD_USER_INPUT (INVALID_GEOMETRY, field 'geometry')
 * for anything else. `knex` may be a read replica: the compaction that may follow goes to
 * `opts.primary` (default `knex`), and a compaction that fails is reported to `opts.onCompactionError`,
 * never to the caller — the answer was exact without it.
 */
export async function areaSummary(
  knex: Knex,
  geometry: unknown,
  maxVertices = DEFAULT_MAX_GEOMETRY_VERTICES,
  opts: { primary?: Knex; onCompactionError?: (err: unknown) => void; countBuildings?: boolean } = {},
): Promise<AreaSummaryRow> {
  const g = polygonParam(geometry, 'geometry', maxVertices)
  // Without JIT: the recursive cover's row estimates are far off, and compiling the plan they
  // suggest took ~1 s on 1,000,000 addresses for a statement that runs in 50–150 ms. Without parallel
  // workers: the work is hundreds of short index range scans.
  const r = await knex.transaction(async (trx) => {
    await trx.raw(`SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)`)
    const sql = opts.countBuildings === false ? AREA_SUMMARY_NO_BUILDINGS_SQL : AREA_SUMMARY_SQL
    return (await trx.raw(sql, [g.geojson, g.field])).rows[0]
  })
  // After the answer (computed from the deltas as they are: exact either way).
  if (Number(r.rows_read) > AREA_COMPACT_ROWS_PER_CELL * Number(r.cells_read))
    await compactAreaCellCounts(opts.primary ?? knex, { lo: String(r.lo), hi: String(r.hi) }).catch((err: unknown) =>
      opts.onCompactionError?.(err),
    )
  return {
    areaSqKm: Number(r.area_sq_km),
    residentCount: Number(r.resident_count),
    legalEntityCount: Number(r.legal_entity_count),
    addressCount: Number(r.address_count),
    buildingCount: r.building_count === null ? null : Number(r.building_count),
  }
}

// One statement: the DELETE removes the rows of the range its snapshot sees, the INSERT writes
// their sums per cell (cells summing to nothing are dropped), in cell order. Rows appended
// concurrently are outside the snapshot and stay (migration 20261203080000 reasons it through).
const COMPACT_AREA_CELL_COUNTS_SQL = `
WITH gone AS (DELETE FROM area_cell_counts WHERE cell >= ?::bigint AND cell < ?::bigint RETURNING *),
kept AS (
  INSERT INTO area_cell_counts (cell, addresses, residents, legal_entities, buildings)
  SELECT cell, sum(addresses), sum(residents), sum(legal_entities), sum(buildings) FROM gone
   GROUP BY cell HAVING sum(addresses) <> 0 OR sum(residents) <> 0 OR sum(legal_entities) <> 0 OR sum(buildings) <> 0
   ORDER BY cell
  RETURNING 1)
SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept) AS removed`

/** The advisory lock that lets one compaction run at a time. */
export const AREA_COMPACTION_LOCK = lockNumber('area_cell_counts:compaction')

/** The whole key range of area_cell_counts (level-16 Morton keys). */
const ALL_CELLS = { lo: '0', hi: String(4n ** BigInt(AREA_CELL_LEVEL)) }

/**
 * Replaces the area_cell_counts rows of the level-16 key range [lo, hi) (default: all) by one row
 * per cell, in its own transaction; returns the number of rows removed, or null when another
 * compaction holds the lock (it then skips: the next read tries again) — unless `wait`, which
 * waits for that one to end (maintenance and tests).
 */
export async function compactAreaCellCounts(
  knex: Knex,
  range = ALL_CELLS,
  opts: { wait?: boolean } = {},
): Promise<number | null> {
  return knex.transaction(async (trx) => {
    const lock = [String(AREA_COMPACTION_LOCK)]
    if (opts.wait) await trx.raw('SELECT pg_advisory_xact_lock(?::bigint)', lock)
    else if (!(await trx.raw('SELECT pg_try_advisory_xact_lock(?::bigint) AS ok', lock)).rows[0].ok) return null
    const r = await trx.raw(COMPACT_AREA_CELL_COUNTS_SQL, [range.lo, range.hi])
    return Number(r.rows[0].removed)
  })
}

/** Addresses whose point lies in the building, by full text; [] for none. */
export async function buildingAddresses(knex: Knex, buildingId: string): Promise<EntityObject[]> {
  const rows = await knex('addresses as a')
    .select(selectColumns(knex, 'ADDRESS', 'a'))
    .where('a.building_id', buildingId)
    .orderBy('a.full_text')
    .orderBy('a.id')
  return rows.map((r: Record<string, unknown>) => rowToObject('ADDRESS', r))
}

/** Buildings on the parcel, by id; [] for none. */
export async function parcelBuildings(knex: Knex, parcelId: string): Promise<EntityObject[]> {
  const rows = await knex('buildings as b')
    .select(selectColumns(knex, 'BUILDING', 'b'))
    .where('b.parcel_id', parcelId)
    .orderBy('b.id')
  return rows.map((r: Record<string, unknown>) => rowToObject('BUILDING', r))
}
