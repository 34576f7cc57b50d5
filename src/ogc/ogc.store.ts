import type { Knex } from 'knex'
import type { OgcCollection } from './ogc.collections.js'

export type Bbox = [number, number, number, number]

/** [minLon, minLat, maxLon, maxLat] of every geometry of the collection; null when it has none. */
export async function collectionExtent(knex: Knex, c: OgcCollection): Promise<Bbox | null> {
  const { rows } = await knex.raw(
    `SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM (SELECT ST_Extent(??)::geometry AS e FROM ??) s`,
    [c.geometryColumn, c.table],
  )
  const r = rows[0]
  return r && r.x0 !== null ? [Number(r.x0), Number(r.y0), Number(r.x1), Number(r.y1)] : null
}

function base(knex: Knex, c: OgcCollection, bbox: Bbox | null): Knex.QueryBuilder {
  const q = knex(c.table).whereNotNull(c.geometryColumn)
  if (bbox) q.whereRaw(`ST_Intersects(??, ST_MakeEnvelope(?, ?, ?, ?, 4326))`, [c.geometryColumn, ...bbox])
  return q
}

function select(knex: Knex, c: OgcCollection, properties: string[]): (string | Knex.Raw)[] {
  return [
    'id',
    ...properties.map((p) => knex.raw('?? AS ??', [c.properties[p].column, p])),
    knex.raw('ST_AsGeoJSON(??, 7)::json AS geometry', [c.geometryColumn]),
  ]
}

export interface FeatureRow {
  id: string
  geometry: unknown
  [property: string]: unknown
}

/** A page of features (by id) intersecting the bbox, and how many match in all. */
export async function featurePage(
  knex: Knex,
  c: OgcCollection,
  properties: string[],
  bbox: Bbox | null,
  limit: number,
  offset: number,
): Promise<{ rows: FeatureRow[]; matched: number }> {
  const rows = await base(knex, c, bbox)
    .select(select(knex, c, properties))
    .orderBy('id')
    .limit(limit)
    .offset(offset)
  const count = await base(knex, c, bbox).count({ n: '*' }).first()
  return { rows: rows as FeatureRow[], matched: Number(count?.n ?? 0) }
}

/** One feature by id; null when the id is unknown or has no geometry. */
export async function featureById(
  knex: Knex,
  c: OgcCollection,
  properties: string[],
  id: string,
): Promise<FeatureRow | null> {
  const row = await base(knex, c, null)
    .select(select(knex, c, properties))
    .where('id', id)
    .first()
  return (row as FeatureRow | undefined) ?? null
}
