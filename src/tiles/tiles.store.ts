import type { Knex } from 'knex'
import type { TileLayer } from './tiles.layers.js'

/** Tile extent in MVT units and the clip buffer around it (the PostGIS defaults). */
export const TILE_EXTENT = 4096
export const TILE_BUFFER = 64

// The whole tile in one statement. The candidate rows come from the GiST index on the 4326 column
// (materialised, so the planner cannot trade the index for a walk in id order to meet the LIMIT;
// `&&` against the tile envelope, grown by the buffer, transformed to 4326: a Mercator rectangle
// stays a rectangle), so a tile costs what it holds, not what the table holds. Polygons are
// simplified in 3857 to half a pixel first (ST_AsMVTGeom would snap them to the grid anyway, this
// only spares the clipping work). Only the layer's public properties are selected.
const TILE_SQL = `
WITH env AS (
  SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
         ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS probe
), candidates AS MATERIALIZED (
  SELECT t.id::text AS id, __PROPS__, t.:geom: AS g
    FROM :table: t, env
   WHERE t.:geom: && env.probe
), kept AS (
  SELECT * FROM candidates ORDER BY id LIMIT :limit
), rows AS (
  SELECT c.*, ST_AsMVTGeom(__GEOM__, env.tile, :extent, :buffer, true) AS geom FROM kept c, env
)
SELECT ST_AsMVT(m.*, :layer, :extent, 'geom') AS mvt, count(*)::int AS n
  FROM (SELECT id, __COLS__, geom FROM rows WHERE geom IS NOT NULL) m`

/** The parameterised tile statement for a layer: identifiers quoted by knex, every value bound. */
export function tileStatement(knex: Knex, layer: TileLayer, properties: string[], z: number, x: number, y: number) {
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
  // One tile unit in metres (Web Mercator world width / 2^z / extent); half of it is the tolerance.
  const tolerance = 40075016.68557849 / 2 ** z / TILE_EXTENT / 2
  const cols = properties.map((_, i) => `:a${i}:`).join(', ')
  return knex.raw(TILE_SQL.replace('__PROPS__', props).replace('__GEOM__', geom).replace('__COLS__', cols), {
    ...ids,
    table: c.table,
    geom: c.geometryColumn,
    z,
    x,
    y,
    margin: TILE_BUFFER / TILE_EXTENT,
    extent: TILE_EXTENT,
    buffer: TILE_BUFFER,
    limit: layer.maxFeatures,
    layer: layer.id,
    tolerance,
  })
}

/** The tile as MVT bytes and its feature count; an empty Buffer and 0 when nothing is in it. */
export async function renderTile(
  knex: Knex,
  layer: TileLayer,
  properties: string[],
  z: number,
  x: number,
  y: number,
): Promise<{ mvt: Buffer; features: number }> {
  const { rows } = await tileStatement(knex, layer, properties, z, x, y)
  const r = rows[0]
  return { mvt: r?.mvt ? Buffer.from(r.mvt) : Buffer.alloc(0), features: Number(r?.n ?? 0) }
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
