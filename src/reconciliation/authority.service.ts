import type { Knex } from 'knex'
import { withTransaction } from '../db/transaction.js'
import { LEGAL_ENTITY_KINDS, SHARING_CLASSES, type EntityTypeName } from '../shared/entity-types.js'
import { badInput } from '../shared/errors.js'
import { loadAuthorityRules, upsertAuthorityRule, type DbAuthorityRuleRow } from './authority.store.js'
import { recomputeEntities } from './engine.js'
import { loadItemCatalogue } from './data-items.service.js'
import { ENTITY_SPECS } from './fields.js'

export interface AuthorityRuleChange {
  entityType: EntityTypeName
  field: string
  entityKind?: string | null
  authority: string
  fallbacks?: string[] | null
  sharingClass?: string | null
}

/** Fields that carry rules without being claimable (a legal entity's employee list comes from persons). */
const RULE_ONLY_FIELDS: Partial<Record<EntityTypeName, string[]>> = { LEGAL_ENTITY: ['employees'] }

const RECOMPUTE_CHUNK = 1000

/** One recompute chunk as it committed: its entities, golden values changed, and how long its transaction ran. */
export interface RecomputeChunk {
  entities: number
  changedFields: number
  txid: number
  ms: number
}

/**
 * Stores one authority rule (ADMIN) and re-decides the golden values of every entity of that type
 * that has claims on the field, in chunks of `chunkSize` entities (one transaction each), so
 * the new authority takes effect before it returns. Returns the stored rule. Throws
 * BAD_USER_INPUT naming the offending input field.
 */
export async function setAuthorityRule(
  knex: Knex,
  actor: { principalId: string; departmentCode: string | null },
  change: AuthorityRuleChange,
  {
    chunkSize = RECOMPUTE_CHUNK,
    concurrency,
    onChunk,
  }: {
    chunkSize?: number
    /** Chunks recomputed at once, each over its own share of the entity ids (default: 2 when the pool has 2 connections or more). */
    concurrency?: number
    onChunk?: (chunk: RecomputeChunk) => void
  } = {},
): Promise<DbAuthorityRuleRow> {
  const { entityType, field } = change
  if (!ENTITY_SPECS[entityType]) throw badInput('unknown entity type', 'input.entityType')
  if (!(await loadItemCatalogue(knex)).has(entityType, field) && !RULE_ONLY_FIELDS[entityType]?.includes(field))
    throw badInput(`${ENTITY_SPECS[entityType].typeName} has no field "${field}"`, 'input.field', 'UNKNOWN_FIELD')
  const entityKind = change.entityKind?.trim() || ''
  if (entityKind && (entityType !== 'LEGAL_ENTITY' || !(LEGAL_ENTITY_KINDS as readonly string[]).includes(entityKind)))
    throw badInput('entityKind must be a LegalEntityKind, and only for LEGAL_ENTITY rules', 'input.entityKind')
  const fallbacks = change.fallbacks ?? []
  const departments = new Set((await knex('departments').pluck('code')) as string[])
  if (!departments.has(change.authority)) throw badInput(`unknown department ${change.authority}`, 'input.authority')
  const unknown = fallbacks.find((d) => !departments.has(d))
  if (unknown) throw badInput(`unknown department ${unknown}`, 'input.fallbacks')
  if (new Set(fallbacks).size !== fallbacks.length)
    throw badInput('a department is listed twice in fallbacks', 'input.fallbacks')
  if (fallbacks.includes(change.authority)) throw badInput('the authority cannot also be a fallback', 'input.fallbacks')
  if (change.sharingClass && !(SHARING_CLASSES as readonly string[]).includes(change.sharingClass))
    throw badInput('unknown sharing class', 'input.sharingClass')

  const stamp = {
    operation: 'setAuthorityRule',
    principalId: actor.principalId,
    departmentCode: actor.departmentCode,
    reason: `${entityType}.${field}`,
  }
  const stored = await withTransaction(knex, stamp, async (tx) => {
    const existing = await tx
      .trx('authority_rules')
      .select('sharing_class')
      .where({ entity_type: entityType, field, entity_kind: entityKind })
      .first()
    return upsertAuthorityRule(tx, {
      entityType,
      field,
      entityKind,
      authority: change.authority,
      fallbacks,
      sharingClass: change.sharingClass ?? existing?.sharing_class ?? 'CONDITIONAL',
    })
  })
  // The golden values follow in chunks, each its own transaction, so no chunk holds the write
  // lock for long and submissions interleave (they already decide with the stored rule). Only
  // entities with a current claim on the field can change; a legal entity's kind decides the
  // authority of every other field, so a kind rule re-decides them all. Recomputing is
  // idempotent: if a chunk fails, setting the same rule again finishes the work.
  const fields = entityType === 'LEGAL_ENTITY' && field === 'kind' ? null : new Set([field])
  // The ids are split into `workers` ranges of the uuid space (ids are random, so the ranges are
  // about equal) walked at once, each chunk its own transaction: disjoint entities, so the
  // workers never wait for each other's locks, and a 2-core server does the writes in parallel.
  const poolMax = (knex.client as { pool?: { max?: number } }).pool?.max ?? 1
  const workers = Math.max(1, Math.min(concurrency ?? Math.min(2, poolMax), 16))
  const bounds = Array.from({ length: workers }, (_, i) =>
    i === 0
      ? null
      : `${Math.floor((i * 2 ** 32) / workers)
          .toString(16)
          .padStart(8, '0')}-0000-0000-0000-000000000000`,
  )
  let failed = false
  const walk = async (from: string | null, to: string | null) => {
    let after: string | null = null
    while (!failed) {
      const started = performance.now()
      // Which entities to re-decide, outside the chunk's transaction (it locks them and reads
      // their claims itself). Walks claims_current_idx from the last chunk's end; the entity test
      // is a subquery per row (a join was planned as a walk of the entities' index from its start
      // for every chunk: quadratic in the table, bench/RESULTS.md "Authority rule change").
      const lower = after ?? from
      const { rows } = await knex.raw(
        `SELECT DISTINCT c.entity_id FROM claims c
          WHERE c.field = ? AND c.superseded_txid IS NULL${lower ? ` AND c.entity_id ${after ? '>' : '>='} ?` : ''}${to ? ' AND c.entity_id < ?' : ''}
            AND (SELECT e.entity_type = ? AND e.merged_into IS NULL FROM entities e WHERE e.id = c.entity_id)
          ORDER BY 1 LIMIT ?`,
        [field, ...(lower ? [lower] : []), ...(to ? [to] : []), entityType, chunkSize],
      )
      const ids: string[] = rows.map((r: { entity_id: string }) => r.entity_id)
      if (!ids.length) return
      const chunk = await withTransaction(
        knex,
        { ...stamp, reason: `${entityType}.${field} (recompute)` },
        async (tx) => {
          const { changedFields } = await recomputeEntities(
            tx,
            entityType,
            ids,
            fields,
            await loadAuthorityRules(tx.trx),
          )
          return { entities: ids.length, changedFields, txid: tx.txid }
        },
      )
      onChunk?.({ ...chunk, ms: performance.now() - started })
      if (ids.length < chunkSize) return
      after = ids[ids.length - 1]
    }
  }
  // Every worker has stopped before the first failure is reported (none left writing).
  const outcomes = await Promise.allSettled(
    bounds.map((from, i) =>
      walk(from, bounds[i + 1] ?? null).catch((e) => {
        failed = true
        throw e
      }),
    ),
  )
  const failure = outcomes.find((o) => o.status === 'rejected')
  if (failure) throw (failure as PromiseRejectedResult).reason
  return stored
}
