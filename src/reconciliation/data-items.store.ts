import type { Knex } from 'knex'
import type { TxContext } from '../db/transaction.js'
import { invalidateAuthorityRules } from './authority.store.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import type { CodeLabel, DataItemDefinition, DataItemTypeName } from './rules/data-item.js'

/** One row of data_items (an extended item; owner, fallback and sharing class are in authority_rules). */
export interface DbDataItemRow {
  entity_type: EntityTypeName
  name: string
  title: string
  description: string | null
  data_type: DataItemTypeName
  code_list: CodeLabel[] | null
  pattern: string | null
  min_value: number | null
  max_value: number | null
  update_cycle: string | null
  created_at: Date
  txid: number | string
}

/** Every extended item, ordered by entity type and name (empty when none is defined). */
export async function listDataItemRows(db: Knex | Knex.Transaction): Promise<DbDataItemRow[]> {
  return db<DbDataItemRow>('data_items').select('*').orderBy(['entity_type', 'name'])
}

/** Inserts the items and their authority rules in the caller's transaction; returns the stored rows. */
export async function insertDataItems(tx: TxContext, defs: DataItemDefinition[]): Promise<DbDataItemRow[]> {
  if (!defs.length) return []
  const { trx, txid, at } = tx
  const rows: DbDataItemRow[] = []
  for (let i = 0; i < defs.length; i += 500) {
    const part = defs.slice(i, i + 500)
    rows.push(
      ...(await trx('data_items')
        .insert(
          part.map((d) => ({
            entity_type: d.entityType,
            name: d.name,
            title: d.title,
            description: d.description ?? null,
            data_type: d.dataType,
            code_list: d.codeList ? JSON.stringify(d.codeList) : null,
            pattern: d.pattern ?? null,
            min_value: d.min ?? null,
            max_value: d.max ?? null,
            update_cycle: d.updateCycle ?? null,
            created_at: at,
            txid,
          })),
        )
        .returning('*')),
    )
    await trx('authority_rules')
      .insert(
        part.map((d) => ({
          entity_type: d.entityType,
          field: d.name,
          entity_kind: '',
          authority: d.authority,
          fallbacks: d.fallback ?? [],
          sharing_class: d.sharingClass,
          txid,
        })),
      )
      .onConflict(['entity_type', 'field', 'entity_kind'])
      .merge(['authority', 'fallbacks', 'sharing_class', 'txid'])
  }
  // The read path caches the authority table: the new items' owners and sharing classes apply at once.
  invalidateAuthorityRules(trx)
  return rows
}

/** Golden-value counts by `ENTITY_TYPE|field` for the given pairs (a pair without values is absent). */
export async function countGoldenValues(
  db: Knex,
  pairs: { entityType: string; field: string }[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (!pairs.length) return out
  // One pass over golden values for all pairs (a dataItems page asks for a few hundred at once).
  const { rows } = await db.raw(
    `SELECT e.entity_type, g.field, count(*)::int AS n FROM golden_values g JOIN entities e ON e.id = g.entity_id
      WHERE g.field = ANY(?::text[]) AND e.entity_type = ANY(?::text[]) AND e.merged_into IS NULL
      GROUP BY e.entity_type, g.field`,
    [[...new Set(pairs.map((p) => p.field))], [...new Set(pairs.map((p) => p.entityType))]],
  )
  for (const r of rows) if (r.n) out.set(`${r.entity_type}|${r.field}`, r.n)
  return out
}

/** When the core schema (and with it the core items) was created; null on a database without it. */
export async function coreCreatedAt(db: Knex): Promise<Date | null> {
  const row = await db('knex_migrations').min({ at: 'migration_time' }).first()
  return row?.at ? new Date(row.at) : null
}
