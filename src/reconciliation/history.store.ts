import type { Knex } from 'knex'
/** One change of a golden value, as the field history (and the change feed) store it. */
export interface FieldChangeRecord {
  /** Change-feed sequence number. */
  seq: number
  entityId: string
  entityType: string
  field: string
  oldValue: unknown
  newValue: unknown
  status: string
  sourceCode: string | null
  observedAt: Date | null
  recordedAt: Date
}

function toChange(r: Record<string, any>): FieldChangeRecord {
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
): Promise<FieldChangeRecord[]> {
  const q = knex('field_history').where('entity_id', entityId).orderBy('id')
  if (field) q.where('field', field)
  if (asOf) q.where('recorded_at', '<=', asOf)
  return (await q).map(toChange)
}

/** A position in the change feed: the commit's feed position, then the change's id within it. */
export interface FeedPosition {
  position: number
  id: number
}

/**
 * The change feed: golden-value changes after the given position, in commit order (a
 * transaction's feed position is taken at commit, so no change can later appear before one
 * already read). Changes of transactions still in flight are not visible and come later.
 */
export async function changesAfter(
  knex: Knex,
  after: FeedPosition,
  entityTypes: string[] | null,
  first: number,
): Promise<(FieldChangeRecord & FeedPosition)[]> {
  const q = knex('field_history as h')
    .join('transactions as t', 't.txid', 'h.txid')
    .select('h.*', 't.feed_position')
    .whereNotNull('t.feed_position')
    .whereRaw('(t.feed_position, h.id) > (?, ?)', [after.position, after.id])
    .orderBy([{ column: 't.feed_position' }, { column: 'h.id' }])
    .limit(first)
  if (entityTypes?.length) q.whereIn('h.entity_type', entityTypes)
  return (await q).map((r: Record<string, any>) => ({
    ...toChange(r),
    position: Number(r.feed_position),
    id: Number(r.id),
  }))
}

/**
 * The feed position of a cursor from before positions existed (a bare change id): the position
 * of that change, or of the last change before it; the start of the feed when there is none.
 */
export async function positionOfChange(knex: Knex, id: number): Promise<FeedPosition> {
  const row = await knex('field_history as h')
    .join('transactions as t', 't.txid', 'h.txid')
    .select('t.feed_position', 'h.id')
    .where('h.id', '<=', id)
    .whereNotNull('t.feed_position')
    .orderBy('h.id', 'desc')
    .first()
  return row ? { position: Number(row.feed_position), id: Number(row.id) } : { position: 0, id: 0 }
}

/** Latest history row per field at or before asOf (what provenance looked like then). */
export async function goldenAsOf(knex: Knex, entityId: string, asOf: Date): Promise<FieldChangeRecord[]> {
  const { rows } = await knex.raw(
    `SELECT DISTINCT ON (field) * FROM field_history WHERE entity_id = ? AND recorded_at <= ? ORDER BY field, id DESC`,
    [entityId, asOf],
  )
  return rows.filter((r: { new_value: unknown }) => r.new_value !== null).map(toChange)
}

/**
 * The end of the feed now: the last feed position with the largest change id, so every event of
 * a committed transaction lies at or before it and every later one after it.
 */
export async function feedEnd(knex: Knex): Promise<{ position: number; id: number }> {
  const { rows } = await knex.raw(
    `SELECT (SELECT coalesce(max(feed_position), 0) FROM transactions) AS position,
            (SELECT coalesce(max(id), 0) FROM field_history) AS id`,
  )
  return { position: Number(rows[0].position), id: Number(rows[0].id) }
}
