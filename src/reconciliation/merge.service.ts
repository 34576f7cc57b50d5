import type { Knex } from 'knex'
import { lockEntities, type TxContext } from '../db/transaction.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { badInput, notFound } from '../shared/errors.js'
import type { AuthorityRules } from './authority.store.js'
import { recomputeEntities } from './engine.js'
import { projectEntities, REFERENCE_COLUMNS } from './projection.js'

export interface MergeActor {
  principalId: string
  reason: string
}

interface EntityRow {
  id: string
  entity_type: EntityTypeName
  merged_into: string | null
}

async function loadEntity(trx: Knex.Transaction, id: string, field: string): Promise<EntityRow> {
  const row = await trx('entities').select('id', 'entity_type', 'merged_into').where('id', id).first()
  if (!row) throw notFound(`No entity ${id} (${field})`)
  return row
}

/** Every field either entity has a golden value or a current claim for: what a recompute must revisit. */
async function fieldsOf(trx: Knex.Transaction, ids: string[]): Promise<Set<string>> {
  const { rows } = await trx.raw(
    `SELECT field FROM golden_values WHERE entity_id = ANY(?::uuid[])
      UNION SELECT field FROM claims WHERE entity_id = ANY(?::uuid[]) AND superseded_txid IS NULL`,
    [ids, ids],
  )
  return new Set(rows.map((r: { field: string }) => r.field))
}

/** Removes every golden value of an entity (history rows say so, for the change feed) and its projection row. */
async function clearGolden(tx: TxContext, entityType: EntityTypeName, entityId: string): Promise<void> {
  const { trx, txid, at } = tx
  const golden = await trx('golden_values').select('field', 'value', 'status').where('entity_id', entityId)
  if (golden.length) {
    await trx('field_history').insert(
      golden.map((g: { field: string; value: unknown; status: string }) => ({
        entity_id: entityId,
        entity_type: entityType,
        field: g.field,
        old_value: JSON.stringify(g.value),
        new_value: null,
        status: g.status,
        source_department: null,
        observed_at: null,
        recorded_at: at,
        txid,
      })),
    )
    await trx('golden_values').where('entity_id', entityId).delete()
  }
  await projectEntities(trx, entityType, [entityId], txid)
}

/** Points every reference at `fromId` (by id or by its key) to `toId`, before fromId's row disappears. */
async function repointReferences(
  trx: Knex.Transaction,
  entityType: EntityTypeName,
  fromId: string,
  toId: string,
): Promise<void> {
  for (const ref of REFERENCE_COLUMNS.filter((r) => r.target === entityType)) {
    await trx.raw(`UPDATE ${ref.table} SET ${ref.stem}_id = ? WHERE ${ref.stem}_id = ? OR ${ref.stem}_key = ?`, [
      toId,
      fromId,
      `id:${fromId}`,
    ])
  }
}

/**
 * Merges `mergedId` into `survivorId` inside the caller's transaction: source records and their
 * claims move to the survivor, the merged entity loses its golden values and projection row and
 * points at the survivor, references follow, and the survivor's golden values are re-decided.
 * Throws BAD_USER_INPUT for the same entity, different types or an entity already merged; NOT_FOUND for an unknown id.
 */
export async function mergeEntitiesTx(
  tx: TxContext,
  rules: AuthorityRules,
  actor: MergeActor,
  survivorId: string,
  mergedId: string,
): Promise<EntityRow> {
  const { trx, txid } = tx
  if (survivorId === mergedId) throw badInput('survivorId and mergedId are the same entity', 'mergedId')
  await lockEntities(tx, [survivorId, mergedId])
  const survivor = await loadEntity(trx, survivorId, 'survivorId')
  const merged = await loadEntity(trx, mergedId, 'mergedId')
  if (survivor.entity_type !== merged.entity_type)
    throw badInput(`cannot merge a ${merged.entity_type} into a ${survivor.entity_type}`, 'mergedId')
  if (survivor.merged_into)
    throw badInput('survivorId was itself merged away; use the entity it was merged into', 'survivorId')
  if (merged.merged_into) throw badInput('mergedId is already merged into another entity', 'mergedId')
  const entityType = survivor.entity_type

  const fields = await fieldsOf(trx, [survivorId, mergedId])
  const recordIds = (await trx('source_records').where('entity_id', mergedId).pluck('id')) as string[]

  // Conflicts: the merged entity's value disagreements are re-decided on the survivor; a
  // duplicate suspicion between the two is settled; anything else open follows the entity.
  await trx('conflicts')
    .where({ entity_id: mergedId, status: 'OPEN', kind: 'VALUE_MISMATCH' })
    .update({
      status: 'RESOLVED',
      resolved_at: tx.at,
      resolved_by: actor.principalId,
      reason: `Merged into ${survivorId}: ${actor.reason}`,
    })
  await trx('conflicts')
    .where({ status: 'OPEN', kind: 'POSSIBLE_DUPLICATE' })
    .where((w) =>
      w
        .where({ entity_id: mergedId, other_entity_id: survivorId })
        .orWhere({ entity_id: survivorId, other_entity_id: mergedId }),
    )
    .update({
      status: 'RESOLVED',
      resolved_at: tx.at,
      resolved_by: actor.principalId,
      decision: 'MERGE',
      reason: actor.reason,
    })
  await trx('conflicts').where({ entity_id: mergedId, status: 'OPEN' }).update({ entity_id: survivorId })
  await trx('conflicts').where({ other_entity_id: mergedId, status: 'OPEN' }).update({ other_entity_id: survivorId })

  await repointReferences(trx, entityType, mergedId, survivorId)
  await clearGolden(tx, entityType, mergedId)
  await trx('source_records').where('entity_id', mergedId).update({ entity_id: survivorId, txid })
  await trx('claims').where('entity_id', mergedId).update({ entity_id: survivorId })
  await trx('entities').where('id', mergedId).update({ merged_into: survivorId })
  await recomputeEntities(tx, entityType, [survivorId], fields, rules)

  await trx('merges').insert({
    survivor_id: survivorId,
    merged_id: mergedId,
    source_record_ids: recordIds,
    txid,
    reason: actor.reason,
    principal_id: actor.principalId,
  })
  return survivor
}

/**
 * Moves the given source records (and their claims) off `entityId` to the entity they were merged
 * away from when they all came with one merge (re-activated), else to a new entity, and
 * re-decides both. Returns [entityId, the other id]. Throws BAD_USER_INPUT when a record is not
 * linked to the entity or when every record of it would leave.
 */
export async function unmergeEntityTx(
  tx: TxContext,
  rules: AuthorityRules,
  _actor: MergeActor,
  entityId: string,
  sourceRecordIds: string[],
): Promise<[string, string]> {
  const { trx, txid, at } = tx
  await lockEntities(tx, [entityId])
  const entity = await loadEntity(trx, entityId, 'entityId')
  if (entity.merged_into)
    throw badInput('entityId was merged away; unmerge from the entity it was merged into', 'entityId')
  const ids = [...new Set(sourceRecordIds)]
  if (!ids.length) throw badInput('name at least one source record to move', 'sourceRecordIds', 'MISSING_FIELD')
  const linked = (await trx('source_records').where('entity_id', entityId).pluck('id')) as string[]
  const notLinked = ids.filter((id) => !linked.includes(id))
  if (notLinked.length)
    throw badInput(`source record ${notLinked[0]} is not linked to entity ${entityId}`, 'sourceRecordIds')
  if (ids.length === linked.length)
    throw badInput('every source record of the entity would leave it; keep at least one', 'sourceRecordIds')

  // The merge these records came with, if one merge brought them all (newest first).
  const merges = await trx('merges').where({ survivor_id: entityId }).whereNull('unmerged_txid').orderBy('id', 'desc')
  const origin = merges.find((m: { source_record_ids: string[] }) =>
    ids.every((id) => m.source_record_ids.includes(id)),
  )
  let targetId: string
  if (origin) {
    targetId = origin.merged_id
    await trx('entities').where('id', targetId).update({ merged_into: null })
    // Undone once every record it moved has gone back.
    const stillHere = origin.source_record_ids.filter((id: string) => !ids.includes(id) && linked.includes(id))
    if (!stillHere.length) await trx('merges').where('id', origin.id).update({ unmerged_txid: txid })
  } else {
    const [row] = await trx('entities')
      .insert({ entity_type: entity.entity_type, created_txid: txid, created_at: at })
      .returning('id')
    targetId = row.id
  }

  const fields = await fieldsOf(trx, [entityId])
  await trx('source_records').whereIn('id', ids).update({ entity_id: targetId, txid })
  await trx('claims').whereIn('source_record_id', ids).update({ entity_id: targetId })
  await recomputeEntities(tx, entity.entity_type, [entityId], fields, rules)
  await recomputeEntities(tx, entity.entity_type, [targetId], await fieldsOf(trx, [targetId]), rules)
  return [entityId, targetId]
}
