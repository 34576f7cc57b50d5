import { fromGeojsonVt } from '@maplibre/vt-pbf'
import type { Knex } from 'knex'
import { namedStatement } from '../db/knex.js'
import type { TileLayer } from './tiles.layers.js'

/** Tile extent in MVT units and the clip buffer around it (the PostGIS defaults). */
export const TILE_EXTENT = 4096
export const TILE_BUFFER = 64

// The whole tile in one statement. The candidate rows come from the GiST index on the 4326 column
// (materialised, so the planner cannot trade the index for a walk in id order to meet the LIMIT;
// `&&` against the tile envelope, grown by the buffer, transformed to 4326: a Mercator rectangle
// stays a rectangle), so a tile costs what it holds, not what the table holds. They are sorted by
// the uuid itself, not its text: the same order (lower-case hex, dashes in fixed places) without a
// text cast and collation compare per row. Polygons are simplified in 3857 to half a pixel first
// (ST_AsMVTGeom would snap them to the grid anyway, this only spares the clipping work). Only the
// layer's public properties are selected. The tile comes back as base64 text: pg 8 has no binary
// results (a binary bytea would be decoded as UTF-8), and base64 is 4/3 of the tile on the wire
// where bytea's hex output is twice it.
const TILE_SQL = `
WITH env AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
         ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS probe
), candidates AS MATERIALIZED (
  SELECT t.id, __PROPS__, t.:geom: AS g
    FROM :table: t, env
   WHERE t.:geom: && env.probe
), kept AS (
  SELECT * FROM candidates ORDER BY id LIMIT :limit
), rows AS (
  SELECT c.*, ST_AsMVTGeom(__GEOM__, env.tile, :extent, :buffer, true) AS geom FROM kept c, env
)
SELECT encode(ST_AsMVT(m.*, :layer, :extent, 'geom'), 'base64') AS mvt, count(*)::int AS n
  FROM (SELECT id::text AS id, __COLS__, geom FROM rows WHERE geom IS NOT NULL) m`

// The same rows without ST_AsMVT/ST_AsMVTGeom, for a PostGIS built without protobuf-c (the
// embedded PGlite build): the geometry is clipped to the buffered tile, moved into tile units
// (y down), snapped to the unit grid and its exterior rings given positive area, as ST_AsMVTGeom
// does, and the protobuf is written in JavaScript (@maplibre/vt-pbf).
const TILE_ROWS_SQL = `
WITH env AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
         ST_TileEnvelope(:z, :x, :y, margin => :margin) AS clip,
         ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS probe
), candidates AS MATERIALIZED (
  SELECT t.id, __PROPS__, t.:geom: AS g
    FROM :table: t, env
   WHERE t.:geom: && env.probe
), kept AS (
  SELECT * FROM candidates ORDER BY id LIMIT :limit
), rows AS (
  SELECT c.*, ST_ForcePolygonCCW(ST_SnapToGrid(ST_Affine(ST_ClipByBox2D(__GEOM__, env.clip),
           env.sx, 0, 0, -env.sy, -env.x0 * env.sx, env.y1 * env.sy), 1)) AS tg
    FROM kept c, (SELECT clip, ST_XMin(tile) AS x0, ST_YMax(tile) AS y1,
                         :extent::float8 / (ST_XMax(tile) - ST_XMin(tile)) AS sx,
                         :extent::float8 / (ST_YMax(tile) - ST_YMin(tile)) AS sy FROM env) env
)
SELECT id::text AS id, __COLS__, ST_AsGeoJSON(tg, 0)::json AS geom FROM rows WHERE NOT ST_IsEmpty(tg)`

/** The values a tile statement binds, by name (the named bindings of TILE_SQL and TILE_ROWS_SQL). */
type TileValues = Record<'z' | 'x' | 'y' | 'margin' | 'extent' | 'buffer' | 'limit' | 'layer' | 'tolerance', Knex.Value>

/** A layer's tile statement with positional bindings, and which named value each `?` takes. */
interface CompiledTileSql {
  sql: string
  order: (keyof TileValues)[]
}

/** Compiled tile statements by mode, layer and property list: a handful, one per layer and mode. */
const compiledTileSql = new Map<string, CompiledTileSql>()

/**
 * TILE_SQL (or TILE_ROWS_SQL) for one layer and property list with its identifiers quoted by
 * knex and every value a positional binding, built on first use only: the statement text is the
 * same for every tile of the layer, so it is compiled once and can be a prepared statement.
 */
function compiledTile(knex: Knex, layer: TileLayer, properties: string[], mode: 'mvt' | 'rows'): CompiledTileSql {
  const key = `${mode}|${layer.id}|${properties.join(',')}`
  let compiled = compiledTileSql.get(key)
  if (compiled) return compiled
  const c = layer.collection
  const ids: Record<string, string> = {}
  const props = properties
    .map((p, i) => {
      ids[`c${i}`] = c.properties[p].column
      ids[`a${i}`] = p
      return `t.:c${i}: AS :a${i}:`
    })
    .join(', ')
  const geom = layer.simplify ? 'ST_Simplify(ST_Transform(c.g, 3857), :tolerance, true)' : 'ST_Transform(c.g, 3857)'
  const cols = properties.map((_, i) => `:a${i}:`).join(', ')
  const template = (mode === 'mvt' ? TILE_SQL : TILE_ROWS_SQL)
    .replace('__PROPS__', props)
    .replace('__GEOM__', geom)
    .replace('__COLS__', cols)
  // Each value binding is given its own name as its value: knex turns the named bindings into
  // `?` in text order, so the bindings it returns say which value each `?` takes.
  const names: TileValues = {
    z: 'z',
    x: 'x',
    y: 'y',
    margin: 'margin',
    extent: 'extent',
    buffer: 'buffer',
    limit: 'limit',
    layer: 'layer',
    tolerance: 'tolerance',
  }
  const { sql, bindings } = knex.raw(template, { ...ids, table: c.table, geom: c.geometryColumn, ...names }).toSQL()
  compiled = { sql, order: bindings as (keyof TileValues)[] }
  compiledTileSql.set(key, compiled)
  return compiled
}

/**
 * The parameterised tile statement for a layer (`mvt`: ST_AsMVT, the tile as base64; `rows`:
 * features in tile units); identifiers quoted by knex, every value bound. On a knex that prepares
 * statements it runs as a named prepared statement (one per layer and mode).
 */
export function tileStatement(
  knex: Knex,
  layer: TileLayer,
  properties: string[],
  z: number,
  x: number,
  y: number,
  mode: 'mvt' | 'rows' = 'mvt',
): Knex.Raw {
  const { sql, order } = compiledTile(knex, layer, properties, mode)
  const values: TileValues = {
    z,
    x,
    y,
    margin: TILE_BUFFER / TILE_EXTENT,
    extent: TILE_EXTENT,
    buffer: TILE_BUFFER,
    limit: layer.maxFeatures,
    layer: layer.id,
    // One tile unit in metres (Web Mercator world width / 2^z / extent); half of it is the tolerance.
    tolerance: 40075016.68557849 / 2 ** z / TILE_EXTENT / 2,
  }
  const raw = knex.raw(
    sql,
    order.map((name) => values[name]),
  )
  const named = namedStatement(knex, sql)
  return named ? raw.options(named) : raw
}

type TileGeometry =
  | { type: 'Point' | 'LineString'; coordinates: number[] | number[][] }
  | { type: 'MultiPoint' | 'Polygon' | 'MultiLineString'; coordinates: number[][] | number[][][] }
  | { type: 'MultiPolygon'; coordinates: number[][][][] }
  | { type: string; coordinates?: unknown }

/** A tile-unit GeoJSON geometry as a geojson-vt feature (type 1 point, 2 line, 3 polygon); null for anything else. */
function vtGeometry(g: TileGeometry): { type: 1 | 2 | 3; geometry: unknown } | null {
  const c = g.coordinates as never
  switch (g.type) {
    case 'Point':
      return { type: 1, geometry: [c] }
    case 'MultiPoint':
      return { type: 1, geometry: c }
    case 'LineString':
      return { type: 2, geometry: [c] }
    case 'MultiLineString':
      return { type: 2, geometry: c }
    case 'Polygon':
      return { type: 3, geometry: c }
    case 'MultiPolygon':
      return { type: 3, geometry: (c as number[][][][]).flat() }
    default:
      return null
  }
}

/** Whether this PostGIS can write MVT itself (built with protobuf-c); the embedded PGlite build cannot. */
export async function supportsAsMvt(knex: Knex): Promise<boolean> {
  try {
    await knex.raw('SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(0, 0), 3857), ST_TileEnvelope(0, 0, 0))')
    return true
  } catch (e) {
    if (/protobuf/i.test(String((e as Error).message))) return false
    throw e
  }
}

/** The tile as MVT bytes and its feature count; an empty Buffer and 0 when nothing is in it. */
export async function renderTile(
  knex: Knex,
  layer: TileLayer,
  properties: string[],
  z: number,
  x: number,
  y: number,
  useAsMvt = true,
): Promise<{ mvt: Buffer; features: number }> {
  if (useAsMvt) {
    const { rows } = await tileStatement(knex, layer, properties, z, x, y)
    const r = rows[0]
    return { mvt: r?.mvt ? Buffer.from(r.mvt, 'base64') : Buffer.alloc(0), features: Number(r?.n ?? 0) }
  }
  const { rows } = await tileStatement(knex, layer, properties, z, x, y, 'rows')
  const features = []
  for (const r of rows as Record<string, unknown>[]) {
    const g = vtGeometry(r.geom as TileGeometry)
    if (!g) continue
    const tags: Record<string, string | number> = { id: String(r.id) }
    for (const p of properties) if (r[p] !== null && r[p] !== undefined) tags[p] = r[p] as string | number
    features.push({ ...g, tags })
  }
  if (!features.length) return { mvt: Buffer.alloc(0), features: 0 }
  const bytes = fromGeojsonVt({ [layer.id]: { features } as never }, { version: 2, extent: TILE_EXTENT })
  return { mvt: Buffer.from(bytes), features: features.length }
}

/** The newest transaction id: every write is stamped with one, so a new value means data may have changed. 0 when none. */
export async function dataVersion(knex: Knex): Promise<number> {
  const { rows } = await knex.raw('SELECT coalesce(max(txid), 0)::bigint AS v FROM transactions')
  return Number(rows[0].v)
}

/** [minLon, minLat, maxLon, maxLat] of a layer's table; null when empty. */
export async function layerBounds(knex: Knex, layer: TileLayer): Promise<[number, number, number, number] | null> {
  const c = layer.collection
  const { rows } = await knex.raw(
    'SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM (SELECT ST_Extent(??)::geometry AS e FROM ??) s',
    [c.geometryColumn, c.table],
  )
  const r = rows[0]
  return r && r.x0 !== null ? [Number(r.x0), Number(r.y0), Number(r.x1), Number(r.y1)] : null
}
