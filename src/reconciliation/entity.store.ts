import type { Knex } from 'knex'
import type { EntityTypeName } from '../shared/entity-types.js'
import { ENTITY_SPECS } from './fields.js'
import { REFERENCE_TARGET_KEY } from './projection.js'

/** An entity as the GraphQL layer sees it: golden values by field name, references as `<field>Id`/`<field>Key`. */
export interface EntityObject {
  id: string
  entityType: EntityTypeName
  /** Set when the object was rebuilt as of an earlier instant. */
  asOf?: Date
  [field: string]: unknown
}

const EXTRA_COLUMNS: Partial<Record<EntityTypeName, Record<string, string>>> = {
  ADMIN_DIVISION: { areaSqKm: 'area_sq_km' },
  PARCEL: { areaSqM: 'area_sq_m' },
  ADDRESS: { buildingId: 'building_id' },
}

/** The select list of a domain table, geometry as GeoJSON; `alias` prefixes each column. */
export function selectColumns(
  knex: Knex,
  entityType: EntityTypeName,
  alias = ENTITY_SPECS[entityType].table,
): (string | Knex.Raw)[] {
  const spec = ENTITY_SPECS[entityType]
  const cols: (string | Knex.Raw)[] = [`${alias}.id`]
  for (const f of spec.fields) {
    if (f.kind.type === 'reference') cols.push(`${alias}.${f.column}_id`, `${alias}.${f.column}_key`)
    else if (f.kind.type === 'geometry')
      cols.push(knex.raw(`ST_AsGeoJSON(??, 7)::json AS ??`, [`${alias}.${f.column}`, f.column]))
    else cols.push(`${alias}.${f.column}`)
  }
  for (const c of Object.values(EXTRA_COLUMNS[entityType] ?? {})) cols.push(`${alias}.${c}`)
  return cols
}

/** Maps a domain-table row to the GraphQL shape. */
export function rowToObject(entityType: EntityTypeName, row: Record<string, unknown>): EntityObject {
  const obj: EntityObject = { id: row.id as string, entityType }
  for (const f of ENTITY_SPECS[entityType].fields) {
    if (f.kind.type === 'reference') {
      obj[`${f.name}Id`] = row[`${f.column}_id`] ?? null
      obj[`${f.name}Key`] = row[`${f.column}_key`] ?? null
    } else obj[f.name] = row[f.column] ?? null
  }
  for (const [name, col] of Object.entries(EXTRA_COLUMNS[entityType] ?? {})) obj[name] = row[col] ?? null
  return obj
}

/** Entities of one type by id, in the order asked; null where none exists. */
export async function loadEntities(
  knex: Knex,
  entityType: EntityTypeName,
  ids: readonly string[],
): Promise<(EntityObject | null)[]> {
  const table = ENTITY_SPECS[entityType].table
  const lazy = LAZY_GEOMETRY[entityType]
  const columns = selectColumns(knex, entityType)
  const rows = await knex(table)
    .select(lazy ? columns.filter((c) => typeof c === 'string') : columns)
    .whereIn('id', ids as string[])
  const byId = new Map(
    rows.map((r: Record<string, unknown>) => {
      const obj = rowToObject(entityType, r)
      // undefined (not null): "not loaded"; the field's resolver loads it when it is selected.
      if (lazy) delete obj[lazy]
      return [r.id as string, obj]
    }),
  )
  return ids.map((id) => byId.get(id) ?? null)
}

/**
 * Geometry fields the entity loader leaves out: a district's boundary is thousands of vertices,
 * turned into GeoJSON for every person whose address names the district, though few queries
 * select it. Their resolvers load them on demand (divisionGeometry in src/graphql/context.ts).
 */
export const LAZY_GEOMETRY: Partial<Record<EntityTypeName, string>> = { ADMIN_DIVISION: 'geometry' }

/** GeoJSON of divisions' boundaries by id, in the order asked (null: none). */
export async function loadDivisionGeometries(knex: Knex, ids: readonly string[]): Promise<unknown[]> {
  const rows: { id: string; g: unknown }[] = await knex('admin_divisions')
    .select('id', knex.raw('ST_AsGeoJSON(geom, 7)::json AS g'))
    .whereIn('id', ids as string[])
  const byId = new Map(rows.map((r) => [r.id, r.g]))
  return ids.map((id) => byId.get(id) ?? null)
}

/** An entity's type and the survivor it was merged into (null if it was not); undefined for an unknown id. */
export async function entityHead(
  knex: Knex,
  id: string,
): Promise<{ entityType: EntityTypeName; mergedInto: string | null } | undefined> {
  const row = await knex('entities').select('entity_type', 'merged_into').where('id', id).first()
  return row ? { entityType: row.entity_type, mergedInto: row.merged_into } : undefined
}

/** The type of each id (following no merges); undefined for unknown ids. */
export async function loadEntityTypes(knex: Knex, ids: readonly string[]): Promise<(EntityTypeName | undefined)[]> {
  const rows = await knex('entities')
    .select('id', 'entity_type')
    .whereIn('id', ids as string[])
  const byId = new Map(rows.map((r: { id: string; entity_type: EntityTypeName }) => [r.id, r.entity_type]))
  return ids.map((id) => byId.get(id))
}

/**
 * Rebuilds an entity as the service knew it at `asOf` (transaction time) from field history;
 * null when it did not exist yet or had been merged away. References resolve to today's targets of the key then held.
 */
export async function loadEntityAsOf(
  knex: Knex,
  entityType: EntityTypeName,
  id: string,
  asOf: Date,
): Promise<EntityObject | null> {
  const rows = await knex.raw(
    `SELECT DISTINCT ON (field) field, new_value FROM field_history
      WHERE entity_id = ? AND entity_type = ? AND recorded_at <= ? ORDER BY field, id DESC`,
    [id, entityType, asOf],
  )
  // No value at all then: not created yet, or merged away (a merge clears every golden value).
  const held = rows.rows.filter((r: { new_value: unknown }) => r.new_value !== null)
  if (!held.length) return null
  const values = new Map<string, unknown>(
    held.map((r: { field: string; new_value: unknown }) => [r.field, r.new_value]),
  )
  const obj: EntityObject = { id, entityType, asOf }
  for (const f of ENTITY_SPECS[entityType].fields) {
    const v = values.get(f.name) ?? null
    if (f.kind.type === 'reference') {
      obj[`${f.name}Key`] = v
      obj[`${f.name}Id`] = null
      if (typeof v === 'string') {
        const target = ENTITY_SPECS[f.kind.target].table
        const keyColumn = REFERENCE_TARGET_KEY[f.kind.target]
        const hit = v.startsWith('id:')
          ? await knex(target).select('id').where('id', v.slice(3)).first()
          : keyColumn
            ? await knex(target).select('id').where(keyColumn, v).first()
            : undefined
        obj[`${f.name}Id`] = hit?.id ?? null
      }
    } else obj[f.name] = v
  }
  return obj
}
