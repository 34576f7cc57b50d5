import type { Knex } from 'knex'
import type { FieldChange } from '../graphql/common.types.js'

function toChange(r: Record<string, any>): FieldChange {
  return {
    seq: Number(r.id),
    entityId: r.entity_id,
    entityType: r.entity_type,
    field: r.field,
    oldValue: r.old_value,
    newValue: r.new_value,
    status: r.status,
    sourceCode: r.source_department,
    observedAt: r.observed_at,
    recordedAt: r.recorded_at,
  }
}

/** Golden-value changes of one entity, oldest first; empty for an unknown entity. */
export async function fieldHistory(
  knex: Knex,
  entityId: string,
  field?: string | null,
  asOf?: Date,
): Promise<FieldChange[]> {
  const q = knex('field_history').where('entity_id', entityId).orderBy('id')
  if (field) q.where('field', field)
  if (asOf) q.where('recorded_at', '<=', asOf)
  return (await q).map(toChange)
}

/**
 * The change feed: golden-value changes after the cursor (a sequence number), in commit order.
 * Writers hold one lock while writing history, so no lower number can appear later.
 */
export async function changesAfter(
  knex: Knex,
  after: number,
  entityTypes: string[] | null,
  first: number,
): Promise<FieldChange[]> {
  const q = knex('field_history').where('id', '>', after).orderBy('id').limit(first)
  if (entityTypes?.length) q.whereIn('entity_type', entityTypes)
  return (await q).map(toChange)
}

/** Latest history row per field at or before asOf (what provenance looked like then). */
export async function goldenAsOf(knex: Knex, entityId: string, asOf: Date): Promise<FieldChange[]> {
  const { rows } = await knex.raw(
    `SELECT DISTINCT ON (field) * FROM field_history WHERE entity_id = ? AND recorded_at <= ? ORDER BY field, id DESC`,
    [entityId, asOf],
  )
  return rows.filter((r: { new_value: unknown }) => r.new_value !== null).map(toChange)
}
