import type { Knex } from 'knex'
import type { EntityTypeName } from '../shared/entity-types.js'
import { ENTITY_SPECS, normalizeAddressText } from './fields.js'

/** The natural-key column that references to each entity type resolve against. */
export const REFERENCE_TARGET_KEY: Partial<Record<EntityTypeName, string>> = {
  PERSON: 'id_number',
  LEGAL_ENTITY: 'credit_code',
  ADDRESS: 'normalized_text',
  ADMIN_DIVISION: 'code',
  PARCEL: 'parcel_code',
  INDICATOR: 'code',
}

interface ReferenceColumn {
  table: string
  stem: string
  target: EntityTypeName
}

/** Every reference column pair in the domain tables, read from the field registry. */
export const REFERENCE_COLUMNS: ReferenceColumn[] = Object.values(ENTITY_SPECS).flatMap((spec) =>
  spec.fields.flatMap((f) =>
    f.kind.type === 'reference' ? [{ table: spec.table, stem: f.column, target: f.kind.target }] : [],
  ),
)

const GEOMETRY_SQL: Record<string, string> = {
  // Divisions are stored as MultiPolygon whatever was submitted.
  admin_divisions: 'ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(?), 4326))',
}

/**
 * Rewrites the domain-table rows of the given entities from their golden values, then links
 * references both ways (this row's keys to targets, and waiting rows' keys to this row).
 * An entity without any golden value gets no row.
 */
export async function projectEntities(
  trx: Knex.Transaction,
  entityType: EntityTypeName,
  entityIds: string[],
  txid: number,
  known?: Map<string, Map<string, unknown>>,
): Promise<void> {
  if (!entityIds.length) return
  const spec = ENTITY_SPECS[entityType]
  // `known`: golden values of entities created in this transaction, all of them (the caller just
  // wrote them); the others are read.
  const stored = known ? entityIds.filter((id) => !known.has(id)) : entityIds
  const golden = stored.length
    ? await trx('golden_values').select('entity_id', 'field', 'value').whereIn('entity_id', stored)
    : []
  const byEntity = new Map<string, Map<string, unknown>>()
  if (known)
    for (const id of entityIds) {
      const m = known.get(id)
      if (m) byEntity.set(id, m)
    }
  for (const g of golden) {
    let m = byEntity.get(g.entity_id)
    if (!m) byEntity.set(g.entity_id, (m = new Map()))
    m.set(g.field, g.value)
  }
  const gone = entityIds.filter((id) => !byEntity.has(id))
  if (gone.length) await trx(spec.table).whereIn('id', gone).delete()

  const rows: Record<string, unknown>[] = []
  for (const [id, values] of byEntity) {
    const row: Record<string, unknown> = { id, updated_txid: txid }
    for (const f of spec.fields) {
      const v = values.get(f.name) ?? null
      if (f.kind.type === 'reference') {
        row[`${f.column}_key`] = v
        row[`${f.column}_id`] = null
      } else if (f.kind.type === 'geometry') {
        row[f.column] =
          v === null
            ? null
            : trx.raw(GEOMETRY_SQL[spec.table] ?? 'ST_SetSRID(ST_GeomFromGeoJSON(?), 4326)', [JSON.stringify(v)])
      } else {
        row[f.column] = v
      }
    }
    if (entityType === 'ADDRESS')
      row.normalized_text = typeof row.full_text === 'string' ? normalizeAddressText(row.full_text) : null
    rows.push(row)
  }
  // References are resolved before the rows are written, so each row is written once (an UPDATE
  // afterwards rewrote every row and all its indexes once per reference column). A target in this
  // same batch is linked by the "rows waiting for this entity" step below.
  for (const ref of REFERENCE_COLUMNS.filter((r) => r.table === spec.table)) {
    const keys = [...new Set(rows.map((r) => r[`${ref.stem}_key`]).filter((k): k is string => typeof k === 'string'))]
    if (!keys.length) continue
    const targetTable = ENTITY_SPECS[ref.target].table
    const targetKey = REFERENCE_TARGET_KEY[ref.target]!
    const idKeys = keys.filter((k) => k.startsWith('id:'))
    const naturalKeys = keys.filter((k) => !k.startsWith('id:'))
    const found = new Map<string, string>()
    if (naturalKeys.length) {
      const { rows: hits } = await trx.raw(
        `SELECT ${targetKey} AS k, id FROM ${targetTable} WHERE ${targetKey} = ANY(?)`,
        [naturalKeys],
      )
      for (const h of hits) if (!found.has(h.k)) found.set(h.k, h.id)
    }
    if (idKeys.length) {
      const { rows: hits } = await trx.raw(`SELECT id FROM ${targetTable} WHERE id = ANY(?::uuid[])`, [
        idKeys.map((k) => k.slice(3)),
      ])
      for (const h of hits) found.set(`id:${h.id}`, h.id)
    }
    for (const row of rows) {
      const k = row[`${ref.stem}_key`]
      if (typeof k === 'string') row[`${ref.stem}_id`] = found.get(k) ?? null
    }
  }

  // Chunks keep the bind-parameter count far below PostgreSQL's 65,535.
  const columns = rows.length ? Object.keys(rows[0]) : []
  for (let i = 0; i < rows.length; i += 500) {
    await trx(spec.table)
      .insert(rows.slice(i, i + 500))
      .onConflict('id')
      .merge(columns.filter((c) => c !== 'id'))
  }
  const ids = [...byEntity.keys()]
  if (!ids.length) return

  // Derived columns.
  if (entityType === 'ADMIN_DIVISION')
    await trx.raw(`UPDATE admin_divisions SET area_sq_km = ST_Area(geom::geography) / 1e6 WHERE id = ANY(?::uuid[])`, [
      ids,
    ])
  if (entityType === 'PARCEL')
    await trx.raw(`UPDATE parcels SET area_sq_m = ST_Area(geom::geography) WHERE id = ANY(?::uuid[])`, [ids])
  // Only rows whose building changes are written: each written row fires the addresses' update
  // triggers (statistics and area counts), ~80 ms per 500 addresses in the embedded demo's seed.
  if (entityType === 'ADDRESS')
    await trx.raw(
      `UPDATE addresses a SET building_id = s.building_id
         FROM (SELECT x.id, (SELECT b.id FROM buildings b WHERE ST_Intersects(b.footprint, x.location) LIMIT 1) AS building_id
                 FROM addresses x WHERE x.id = ANY(?::uuid[])) s
        WHERE a.id = s.id AND a.building_id IS DISTINCT FROM s.building_id`,
      [ids],
    )
  if (entityType === 'BUILDING')
    await trx.raw(
      `UPDATE addresses a SET building_id = b.id FROM buildings b
        WHERE b.id = ANY(?::uuid[]) AND ST_Intersects(b.footprint, a.location) AND a.building_id IS DISTINCT FROM b.id`,
      [ids],
    )

  // Rows waiting for this entity → this entity.
  const targetKey = REFERENCE_TARGET_KEY[entityType]
  if (targetKey) {
    for (const ref of REFERENCE_COLUMNS.filter((r) => r.target === entityType)) {
      await trx.raw(
        `UPDATE ${ref.table} s SET ${ref.stem}_id = t.id FROM ${spec.table} t
          WHERE t.id = ANY(?::uuid[]) AND s.${ref.stem}_key = t.${targetKey} AND s.${ref.stem}_id IS DISTINCT FROM t.id`,
        [ids],
      )
      await trx.raw(
        `UPDATE ${ref.table} s SET ${ref.stem}_id = t.id FROM ${spec.table} t
          WHERE t.id = ANY(?::uuid[]) AND s.${ref.stem}_key = 'id:' || t.id::text AND s.${ref.stem}_id IS DISTINCT FROM t.id`,
        [ids],
      )
    }
  }
}
