import type { Knex } from 'knex'
import { type EntityObject, rowToObject, selectColumns } from '../reconciliation/entity.store.js'

// Divisions are read without their boundary (LAZY_GEOMETRY: hundreds of vertices of GeoJSON a
// district); the geometry resolver loads it when it is selected. `fields` (the request's
// lookahead, fieldsNeeded) narrows the columns further; without, every other column.
const divisionColumns = (knex: Knex, fields?: ReadonlySet<string>) =>
  selectColumns(knex, 'ADMIN_DIVISION', 'admin_divisions', fields, true)

/** One division by its code; undefined when there is none. */
export async function divisionByCode(
  knex: Knex,
  code: string,
  fields?: ReadonlySet<string>,
): Promise<EntityObject | undefined> {
  const row = await knex('admin_divisions').select(divisionColumns(knex, fields)).where('code', code).first()
  return row ? rowToObject('ADMIN_DIVISION', row) : undefined
}

/** Divisions by level and/or parent code (either may be null), ordered by code. */
export async function listDivisions(
  knex: Knex,
  filter: { level?: string | null; parentCode?: string | null },
  fields?: ReadonlySet<string>,
): Promise<EntityObject[]> {
  const q = knex('admin_divisions').select(divisionColumns(knex, fields)).orderBy('code')
  if (filter.level) q.where('level', filter.level)
  if (filter.parentCode) q.where('parent_key', filter.parentCode)
  return (await q).map((r: Record<string, unknown>) => rowToObject('ADMIN_DIVISION', r))
}

/** The divisions directly under one division, ordered by code. */
export async function childDivisions(
  knex: Knex,
  parentId: string,
  fields?: ReadonlySet<string>,
): Promise<EntityObject[]> {
  const rows = await knex('admin_divisions')
    .select(divisionColumns(knex, fields))
    .where('parent_id', parentId)
    .orderBy('code')
  return rows.map((r: Record<string, unknown>) => rowToObject('ADMIN_DIVISION', r))
}

/**
 * A division's boundary simplified to a tolerance in metres, as GeoJSON; null without a boundary.
 * Simplified in the UTM zone of the boundary (northern hemisphere) so the tolerance is in metres,
 * preserving topology, then back to WGS 84.
 */
export async function simplifiedBoundary(knex: Knex, divisionId: string, toleranceMeters: number): Promise<unknown> {
  const { rows } = await knex.raw(
    `SELECT ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(ST_Transform(geom, z.srid), ?), 4326), 7)::json AS g
       FROM admin_divisions, LATERAL (SELECT 32600 + floor((ST_X(ST_Centroid(geom)) + 180) / 6)::int + 1 AS srid) z
      WHERE id = ?`,
    [toleranceMeters, divisionId],
  )
  return rows[0]?.g ?? null
}
