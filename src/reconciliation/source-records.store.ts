import type { Knex } from 'knex'
/** A department's record as submitted, linked to the entity it was resolved to. */
export interface StoredSourceRecord {
  id: string
  departmentCode: string
  entityType: string
  sourceKey: string
  attributes: unknown
  geometry: unknown
  observedAt: Date | null
  receivedAt: Date
  entityId: string | null
}

export function toSourceRecord(r: Record<string, any>): StoredSourceRecord {
  return {
    id: r.id,
    departmentCode: r.department_code,
    entityType: r.entity_type,
    sourceKey: r.source_key,
    attributes: r.attributes,
    geometry: r.geometry,
    observedAt: r.observed_at,
    receivedAt: r.received_at,
    entityId: r.entity_id,
  }
}

/** Source records linked to an entity, by department then key; empty for an unknown entity. */
export async function sourceRecordsOfEntity(knex: Knex, entityId: string): Promise<StoredSourceRecord[]> {
  return (await knex('source_records').where('entity_id', entityId).orderBy(['department_code', 'source_key'])).map(
    toSourceRecord,
  )
}

/** One source record by its department's key; undefined when there is none. */
export async function findSourceRecord(
  knex: Knex,
  department: string,
  sourceKey: string,
  entityType: string,
): Promise<StoredSourceRecord | undefined> {
  const row = await knex('source_records')
    .where({ department_code: department, source_key: sourceKey, entity_type: entityType })
    .first()
  return row ? toSourceRecord(row) : undefined
}
