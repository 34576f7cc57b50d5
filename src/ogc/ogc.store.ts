import type { Knex } from 'knex'
import type { OgcCollection } from './ogc.collections.js'
import type { OgcCrs } from './ogc.crs.js'

export type Bbox = [number, number, number, number]

/** A bbox in a CRS's own x/y (easting/northing or lon/lat) order, with that CRS's SRID. */
export interface CrsBbox {
  box: Bbox
  srid: number
}

/** [minLon, minLat, maxLon, maxLat] of every geometry of the collection; null when it has none. */
export async function collectionExtent(knex: Knex, c: OgcCollection): Promise<Bbox | null> {
  const { rows } = await knex.raw(
    `SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM (SELECT ST_Extent(??)::geometry AS e FROM ??) s`,
    [c.geometryColumn, c.table],
  )
  const r = rows[0]
  return r && r.x0 !== null ? [Number(r.x0), Number(r.y0), Number(r.x1), Number(r.y1)] : null
}

// The envelope is transformed to the storage SRID (4326), never the column to the envelope's, so
// the GiST index on the column serves every CRS. A Mercator rectangle is a lon/lat rectangle.
function base(knex: Knex, c: OgcCollection, bbox: CrsBbox | null, where: Knex.Raw[] = []): Knex.QueryBuilder {
  const q = knex(c.table).whereNotNull(c.geometryColumn)
  if (bbox)
    q.whereRaw('ST_Intersects(??, ST_Transform(ST_MakeEnvelope(?, ?, ?, ?, ?::int), 4326))', [
      c.geometryColumn,
      ...bbox.box,
      bbox.srid,
    ])
  for (const w of where) q.where(w)
  return q
}

function select(knex: Knex, c: OgcCollection, properties: string[], crs: OgcCrs): (string | Knex.Raw)[] {
  const geometry =
    crs.srid === 4326 && !crs.latLon
      ? knex.raw('ST_AsGeoJSON(??, ?::int)::json AS geometry', [c.geometryColumn, crs.precision])
      : crs.latLon
        ? knex.raw('ST_AsGeoJSON(ST_FlipCoordinates(ST_Transform(??, ?::int)), ?::int)::json AS geometry', [
            c.geometryColumn,
            crs.srid,
            crs.precision,
          ])
        : knex.raw('ST_AsGeoJSON(ST_Transform(??, ?::int), ?::int)::json AS geometry', [
            c.geometryColumn,
            crs.srid,
            crs.precision,
          ])
  return ['id', ...properties.map((p) => knex.raw('?? AS ??', [c.properties[p].column, p])), geometry]
}

export interface FeatureRow {
  id: string
  geometry: unknown
  [property: string]: unknown
}

/** A page of features (by id) intersecting the bbox and matching every `where`, in `crs`, and how many match in all. */
export async function featurePage(
  knex: Knex,
  c: OgcCollection,
  properties: string[],
  query: { bbox: CrsBbox | null; where?: Knex.Raw[]; crs: OgcCrs },
  limit: number,
  offset: number,
): Promise<{ rows: FeatureRow[]; matched: number }> {
  const { bbox, where, crs } = query
  const rows = await base(knex, c, bbox, where)
    .select(select(knex, c, properties, crs))
    .orderBy('id')
    .limit(limit)
    .offset(offset)
  const count = await base(knex, c, bbox, where).count({ n: '*' }).first()
  return { rows: rows as FeatureRow[], matched: Number(count?.n ?? 0) }
}

/** One feature by id, or by the collection's natural key (division code, parcel code); null when unknown or without geometry. */
export async function featureById(
  knex: Knex,
  c: OgcCollection,
  properties: string[],
  key: { id: string } | { natural: string },
  crs: OgcCrs,
): Promise<FeatureRow | null> {
  const q = base(knex, c, null).select(select(knex, c, properties, crs))
  if ('id' in key) q.where('id', key.id)
  else if (c.naturalKey) q.where(c.naturalKey, key.natural)
  else return null
  const row = await q.first()
  return (row as FeatureRow | undefined) ?? null
}

/**
 * Why a filter geometry literal (GeoJSON text in its SRID) is unusable: 'malformed' when PostGIS
 * cannot read it, ST_IsValidReason when it is invalid (self-intersection…); null when valid.
 */
export async function geometryProblem(knex: Knex, geojson: string, srid: number): Promise<string | null> {
  try {
    const { rows } = await knex.raw(
      'SELECT ST_IsValid(g) AS ok, ST_IsValidReason(g) AS reason FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(?::text), ?::int) AS g) s',
      [geojson, srid],
    )
    return rows[0].ok ? null : String(rows[0].reason)
  } catch {
    return 'malformed (PostGIS cannot read it: unclosed ring or too few points?)'
  }
}
