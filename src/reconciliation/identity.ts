import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import type { EntityTypeName } from '../shared/entity-types.js'
import { normalizeAddressText } from './fields.js'
import type { ValidatedRecord } from './rules/validate.js'

/**
 * Identity by natural key, independent of golden values and of who sent the key first: the
 * entity_natural_keys table says which entity a key identifies. Its primary key is what keeps one
 * key on one entity when writers run at the same time (no reliance on a global write lock).
 */

/** What the identity steps read and set on a record being applied (the engine's plan). */
export interface IdentityPlan {
  record: ValidatedRecord
  entityId?: string
  created?: boolean
}

/** Natural key of a record as stored in the projection table: [column, value], or null when absent. */
export function naturalKeyOf(entityType: EntityTypeName, values: Record<string, unknown>): [string, string] | null {
  switch (entityType) {
    case 'PERSON':
      return typeof values.idNumber === 'string' ? ['id_number', values.idNumber] : null
    case 'LEGAL_ENTITY':
      return typeof values.creditCode === 'string' ? ['credit_code', values.creditCode] : null
    case 'ADMIN_DIVISION':
      return typeof values.code === 'string' ? ['code', values.code] : null
    case 'PARCEL':
      return typeof values.parcelCode === 'string' ? ['parcel_code', values.parcelCode] : null
    case 'INDICATOR':
      return typeof values.code === 'string' ? ['code', values.code] : null
    case 'ADDRESS':
      return typeof values.fullText === 'string' ? ['normalized_text', normalizeAddressText(values.fullText)] : null
    case 'OBSERVATION':
      return ['natural_key', `${values.indicator}|${values.region}|${values.period}`]
    case 'BUILDING':
      return null
  }
}

/** The entity an id now stands for, following merges (merged_into chains end at a survivor); unknown ids are absent. */
export async function survivors(trx: Knex.Transaction, ids: string[]): Promise<Map<string, string>> {
  const map = new Map<string, string>()
  if (!ids.length) return map
  const { rows } = await trx.raw(
    `WITH RECURSIVE chain(start, id, merged_into) AS (
        SELECT e.id, e.id, e.merged_into FROM entities e WHERE e.id = ANY(?::uuid[])
        UNION ALL SELECT c.start, e.id, e.merged_into FROM chain c JOIN entities e ON e.id = c.merged_into)
      SELECT start, id FROM chain WHERE merged_into IS NULL`,
    [[...new Set(ids)]],
  )
  for (const r of rows) map.set(r.start, r.id)
  return map
}

/** The surviving entity each key identifies; keys nobody holds are absent. */
export async function holdersOf(
  trx: Knex.Transaction,
  entityType: EntityTypeName,
  keys: string[],
): Promise<Map<string, string>> {
  const held = new Map<string, string>()
  if (!keys.length) return held
  const { rows } = await trx.raw(
    'SELECT natural_key, entity_id FROM entity_natural_keys WHERE entity_type = ? AND natural_key = ANY(?::text[])',
    [entityType, [...new Set(keys)]],
  )
  const alive = await survivors(
    trx,
    rows.map((r: { entity_id: string }) => r.entity_id),
  )
  for (const r of rows) {
    const id = alive.get(r.entity_id)
    if (id) held.set(r.natural_key, id)
  }
  return held
}

function keyed<P extends IdentityPlan>(entityType: EntityTypeName, plans: P[]): [P, string][] {
  return plans.flatMap((p) => {
    const k = naturalKeyOf(entityType, p.record.values)
    return k ? [[p, k[1]] as [P, string]] : []
  })
}

/** Links records that no own key linked to the entity their natural key identifies. */
export async function linkByNaturalKey(
  trx: Knex.Transaction,
  entityType: EntityTypeName,
  plans: IdentityPlan[],
): Promise<void> {
  const wanted = keyed(
    entityType,
    plans.filter((p) => !p.entityId),
  )
  const held = await holdersOf(
    trx,
    entityType,
    wanted.map(([, k]) => k),
  )
  for (const [p, k] of wanted) {
    const id = held.get(k)
    if (id) p.entityId = id
  }
}

/**
 * For records that will found a new entity: gives each a new entity id and reserves its natural
 * key for that id (insert … on conflict do nothing, keys in sorted order). A key another writer
 * took meanwhile (it waited for that writer to commit) links the record to that writer's entity
 * instead. Sets entityId on every plan; `created` on those whose entity the caller must insert.
 */
export async function reserveNaturalKeys(
  trx: Knex.Transaction,
  entityType: EntityTypeName,
  toCreate: IdentityPlan[],
): Promise<void> {
  for (const p of toCreate) {
    p.entityId = randomUUID()
    p.created = true
  }
  const wanted = keyed(entityType, toCreate).sort(([, a], [, b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (!wanted.length) return
  const { rows } = await trx.raw(
    `INSERT INTO entity_natural_keys (entity_type, natural_key, entity_id)
       SELECT ?, k, id FROM unnest(?::text[], ?::uuid[]) AS u(k, id)
     ON CONFLICT (entity_type, natural_key) DO NOTHING RETURNING natural_key`,
    [entityType, wanted.map(([, k]) => k), wanted.map(([p]) => p.entityId!)],
  )
  const won = new Set(rows.map((r: { natural_key: string }) => r.natural_key))
  const lost = wanted.filter(([, k]) => !won.has(k))
  if (!lost.length) return
  const held = await holdersOf(
    trx,
    entityType,
    lost.map(([, k]) => k),
  )
  for (const [p, k] of lost) {
    const id = held.get(k)
    // Held by an entity that has since been deleted (cascade removes the row, so only a race): keep the new one.
    if (!id) continue
    p.entityId = id
    p.created = false
  }
}

/**
 * Records the natural keys of records linked to existing entities (by own key or match) that no
 * entity holds yet, so the next record with that key finds the entity whoever sends it. A key
 * held by another entity stays there (openNaturalKeyCollisions reports the pair).
 */
export async function registerNaturalKeys(
  trx: Knex.Transaction,
  entityType: EntityTypeName,
  plans: IdentityPlan[],
): Promise<void> {
  const wanted = keyed(
    entityType,
    plans.filter((p) => p.entityId && !p.created),
  ).sort(([, a], [, b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (!wanted.length) return
  await trx.raw(
    `INSERT INTO entity_natural_keys (entity_type, natural_key, entity_id)
       SELECT ?, k, id FROM unnest(?::text[], ?::uuid[]) AS u(k, id)
     ON CONFLICT (entity_type, natural_key) DO NOTHING`,
    [entityType, wanted.map(([, k]) => k), wanted.map(([p]) => p.entityId!)],
  )
}
