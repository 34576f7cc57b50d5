import type { Knex } from 'knex'
import { MAX_NAMED_STATEMENTS, namedStatement } from '../db/knex.js'
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

export const EXTRA_COLUMNS: Partial<Record<EntityTypeName, Record<string, string>>> = {
  ADMIN_DIVISION: { areaSqKm: 'area_sq_km' },
  PARCEL: { areaSqM: 'area_sq_m' },
  ADDRESS: { buildingId: 'building_id' },
}

/**
 * The select list of a domain table, geometry as GeoJSON; `alias` prefixes each column. With
 * `fields` (registry field names and EXTRA_COLUMNS names, from the query's lookahead: see
 * src/graphql/lookahead.ts) only their columns and the id; without, every column. `eager` leaves
 * out the LAZY_GEOMETRY column (its resolver loads it when it is selected).
 */
export function selectColumns(
  knex: Knex,
  entityType: EntityTypeName,
  alias = ENTITY_SPECS[entityType].table,
  fields?: ReadonlySet<string>,
  eager = false,
): (string | Knex.Raw)[] {
  const spec = ENTITY_SPECS[entityType]
  const lazy = eager ? LAZY_GEOMETRY[entityType] : undefined
  const cols: (string | Knex.Raw)[] = [`${alias}.id`]
  for (const f of spec.fields) {
    if ((fields && !fields.has(f.name)) || f.name === lazy) continue
    if (f.kind.type === 'reference') cols.push(`${alias}.${f.column}_id`, `${alias}.${f.column}_key`)
    else if (f.kind.type === 'geometry')
      cols.push(knex.raw(`ST_AsGeoJSON(??, 7)::json AS ??`, [`${alias}.${f.column}`, f.column]))
    else cols.push(`${alias}.${f.column}`)
  }
  for (const [name, c] of Object.entries(EXTRA_COLUMNS[entityType] ?? {}))
    if (!fields || fields.has(name)) cols.push(`${alias}.${c}`)
  return cols
}

/**
 * Per entity type, each column rowToObject maps and the property it becomes (a reference's
 * `<column>_id` and `<column>_key` become `<name>Id` and `<name>Key`), computed once.
 */
const columnPropertiesByType = new Map<EntityTypeName, ReadonlyMap<string, string>>()
function columnProperties(entityType: EntityTypeName): ReadonlyMap<string, string> {
  let map = columnPropertiesByType.get(entityType)
  if (!map) {
    const m = new Map<string, string>()
    for (const f of ENTITY_SPECS[entityType].fields) {
      if (f.kind.type === 'reference') {
        m.set(`${f.column}_id`, `${f.name}Id`)
        m.set(`${f.column}_key`, `${f.name}Key`)
      } else m.set(f.column, f.name)
    }
    for (const [name, col] of Object.entries(EXTRA_COLUMNS[entityType] ?? {})) m.set(col, name)
    map = m
    columnPropertiesByType.set(entityType, map)
  }
  return map
}

/**
 * Maps a domain-table row to the GraphQL shape. Columns the row does not carry (a lean select)
 * are left out of the object, not set to null.
 */
export function rowToObject(entityType: EntityTypeName, row: Record<string, unknown>): EntityObject {
  const obj: EntityObject = { id: row.id as string, entityType }
  for (const [col, prop] of columnProperties(entityType)) {
    const v = row[col]
    if (v !== undefined) obj[prop] = v
  }
  return obj
}

/** Compiled loader statements by entity type and column set (knex builds each text once). */
const loaderSql = new Map<string, string>()

/**
 * `SELECT <columns> FROM <table> WHERE <condition>`, compiled once per type, column set and
 * condition; `condition` holds the `?`s of its values. Boundaries of LAZY_GEOMETRY types are left out.
 */
function lookupStatement(
  knex: Knex,
  entityType: EntityTypeName,
  fields: ReadonlySet<string> | undefined,
  condition: string,
): string {
  const key = `${entityType}|${condition}|${fields ? [...fields].sort().join(',') : '*'}`
  let sql = loaderSql.get(key)
  if (sql === undefined) {
    const select = knex(ENTITY_SPECS[entityType].table)
      .select(selectColumns(knex, entityType, ENTITY_SPECS[entityType].table, fields, true))
      .toSQL().sql
    sql = `${select} where ${condition}`
    if (loaderSql.size < MAX_NAMED_STATEMENTS) loaderSql.set(key, sql)
  }
  return sql
}

/** Runs a lookupStatement as a prepared statement. */
async function runLookup(knex: Knex, sql: string, values: unknown[]): Promise<Record<string, unknown>[]> {
  const q = knex.raw(sql, values as Knex.Value[])
  const named = namedStatement(knex, sql)
  return ((await (named ? q.options(named) : q)) as { rows: Record<string, unknown>[] }).rows
}

/**
 * Rows of one type matching `condition` (its `?`s bound to `values`) with the columns of `fields`
 * (all without), the LAZY_GEOMETRY boundary left out: a prepared statement compiled once per
 * type, column set and condition.
 */
export function lookupRows(
  knex: Knex,
  entityType: EntityTypeName,
  fields: ReadonlySet<string> | undefined,
  condition: string,
  values: unknown[],
): Promise<Record<string, unknown>[]> {
  return runLookup(knex, lookupStatement(knex, entityType, fields, condition), values)
}

/**
 * Entities of one type by id, in the order asked; null where none exists. With `fields` only
 * those (see selectColumns); one prepared statement per type and column set, whatever the
 * number of ids (`id = ANY($1)`).
 */
export async function loadEntities(
  knex: Knex,
  entityType: EntityTypeName,
  ids: readonly string[],
  fields?: ReadonlySet<string>,
): Promise<(EntityObject | null)[]> {
  const rows = await runLookup(knex, lookupStatement(knex, entityType, fields, '"id" = ANY(?::uuid[])'), [ids])
  // A lazy boundary is not read, so it stays undefined ("not loaded"): its resolver loads it when selected.
  const byId = new Map(rows.map((r: Record<string, unknown>) => [r.id as string, rowToObject(entityType, r)]))
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

/** What one lookup reads: a type's columns and, joined to it, the entities its selected references name. */
export interface JoinPlan {
  entityType: EntityTypeName
  /** As in selectColumns; undefined: every column. */
  fields?: ReadonlySet<string>
  /** Reference fields of this type whose targets are read in the same statement. */
  joins: { field: string; plan: JoinPlan }[]
}

function planKey(p: JoinPlan): string {
  const fields = p.fields ? [...p.fields].sort().join(',') : '*'
  return `${p.entityType}[${fields}]{${p.joins.map((j) => `${j.field}:${planKey(j.plan)}`).join(';')}}`
}

interface CompiledJoin {
  sql: string
  /**
   * Per alias: its entity type, the output name of its id, and each other output name with the
   * property it becomes (as rowToObject maps the column).
   */
  parts: { entityType: EntityTypeName; id: string; properties: [string, string][] }[]
}

/** A join plan as select-list and LEFT JOIN text over a root table already aliased `root`. */
interface JoinedColumns {
  select: string
  joins: string
  parts: CompiledJoin['parts']
}

const joinSql = new Map<string, CompiledJoin>()
const joinedColumnsByPlan = new Map<string, JoinedColumns>()

/**
 * The select list and LEFT JOINs (by primary key) of a join plan whose root table is aliased
 * `root`; the joined entities get aliases t1, t2, … Output names are `<alias>__<column>`.
 */
function compileJoinedColumns(plan: JoinPlan, root: string): JoinedColumns {
  const key = `${root}|${planKey(plan)}`
  const known = joinedColumnsByPlan.get(key)
  if (known) return known
  const parts: CompiledJoin['parts'] = []
  const select: string[] = []
  const joins: string[] = []
  const visit = (p: JoinPlan, on?: { parent: string; column: string }) => {
    const alias = on ? `t${parts.length}` : root
    const spec = ENTITY_SPECS[p.entityType]
    const lazy = LAZY_GEOMETRY[p.entityType]
    const properties: [string, string][] = []
    const byColumn = columnProperties(p.entityType)
    const add = (col: string, expr = `${alias}."${col}"`) => {
      const prop = byColumn.get(col)
      if (prop) properties.push([`${alias}__${col}`, prop])
      select.push(`${expr} AS "${alias}__${col}"`)
    }
    parts.push({ entityType: p.entityType, id: `${alias}__id`, properties })
    add('id')
    for (const f of spec.fields) {
      if (p.fields && !p.fields.has(f.name)) continue
      if (f.kind.type === 'reference') {
        add(`${f.column}_id`)
        add(`${f.column}_key`)
      } else if (f.kind.type === 'geometry') {
        if (f.name !== lazy) add(f.column, `ST_AsGeoJSON(${alias}."${f.column}", 7)::json`)
      } else add(f.column)
    }
    for (const [name, c] of Object.entries(EXTRA_COLUMNS[p.entityType] ?? {}))
      if (!p.fields || p.fields.has(name)) add(c)
    if (on) joins.push(`LEFT JOIN "${spec.table}" ${alias} ON ${alias}.id = ${on.parent}."${on.column}_id"`)
    for (const j of p.joins) {
      const f = spec.fields.find((x) => x.name === j.field)
      if (f?.kind.type === 'reference') visit(j.plan, { parent: alias, column: f.column })
    }
  }
  visit(plan)
  const compiled = { select: select.join(', '), joins: joins.join(' '), parts }
  if (joinedColumnsByPlan.size < MAX_NAMED_STATEMENTS) joinedColumnsByPlan.set(key, compiled)
  return compiled
}

function compileJoin(plan: JoinPlan, column: string): CompiledJoin {
  const key = `${column}|${planKey(plan)}`
  const known = joinSql.get(key)
  if (known) return known
  const { select, joins, parts } = compileJoinedColumns(plan, 't0')
  const table = ENTITY_SPECS[plan.entityType].table
  const compiled = { sql: `SELECT ${select} FROM "${table}" t0 ${joins} WHERE t0."${column}" = ?`, parts }
  if (joinSql.size < MAX_NAMED_STATEMENTS) joinSql.set(key, compiled)
  return compiled
}

/** One result row of a joined statement as its entities: [the root, then the referenced ones found]. */
function joinedRowEntities(parts: CompiledJoin['parts'], r: Record<string, unknown>): EntityObject[] {
  const out: EntityObject[] = []
  for (const part of parts) {
    const id = r[part.id]
    if (id === null || id === undefined) continue
    // Boundaries of LAZY_GEOMETRY types are never selected here (compileJoinedColumns).
    const obj: EntityObject = { id: id as string, entityType: part.entityType }
    for (const [name, prop] of part.properties) obj[prop] = r[name]
    out.push(obj)
  }
  return out
}

/**
 * Adds a join plan's columns and LEFT JOINs to a query over the plan's root table aliased `root`
 * (a page of a filtered list); `entitiesOf` turns each row it returns into [the root entity, the
 * referenced entities found], to prime the loaders with (primeRows).
 */
export function selectJoined(
  query: Knex.QueryBuilder,
  plan: JoinPlan,
  root: string,
): { query: Knex.QueryBuilder; entitiesOf: (row: Record<string, unknown>) => EntityObject[] } {
  if (!/^[a-z]+$/.test(root)) throw new Error(`not an alias: ${root}`)
  const { select, joins, parts } = compileJoinedColumns(plan, root)
  query.select(query.client.raw(select))
  if (joins) query.joinRaw(joins)
  return { query, entitiesOf: (row) => joinedRowEntities(parts, row) }
}

/**
 * The entities whose `column` equals `value`, each with the entities its planned references name,
 * in ONE prepared statement (LEFT JOINs by primary key): rows[i][0] is a match, the rest are the
 * referenced entities found (to prime the loaders with). Boundaries of LAZY_GEOMETRY types are not read.
 * No ORDER BY id LIMIT 1 to pick one of several holders (a data error): without planner statistics
 * PostgreSQL plans that as a primary-key walk (38 ms instead of 0.3 ms on 30,000 persons); callers
 * pick the lowest id (primeJoined).
 */
export async function joinedRowsWhere(
  knex: Knex,
  plan: JoinPlan,
  column: string,
  value: string,
): Promise<EntityObject[][]> {
  if (!/^[a-z_]+$/.test(column)) throw new Error(`not a column name: ${column}`)
  const { sql, parts } = compileJoin(plan, column)
  const rows = await runLookup(knex, sql, [value])
  return rows.map((r) => joinedRowEntities(parts, r))
}
