import type { Knex } from 'knex'
import { withTransaction } from '../db/transaction.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { loadAuthorityRules } from './authority.store.js'
import { mergeEntitiesTx } from './merge.service.js'

/** Surviving entities of one type that share one natural key; the first is the one to keep. */
export interface SplitIdentity {
  entityType: EntityTypeName
  naturalKey: string
  entityIds: string[]
}

export interface RepairOutcome {
  splits: SplitIdentity[]
  /** Merges done (or, with dryRun, that would be done): [survivor, merged]. */
  merged: [string, string][]
  /** Pairs a steward declared NOT_DUPLICATE: left apart. */
  excluded: [string, string][]
}

// Every natural key a live entity carries: its projection row's key, its current key claims (a
// non-authority department's entity has those without a golden value) and its registered key.
const LIVE_KEYS_SQL = `
  SELECT 'PERSON' AS entity_type, id_number AS natural_key, id AS entity_id FROM persons WHERE id_number IS NOT NULL
  UNION SELECT 'LEGAL_ENTITY', credit_code, id FROM legal_entities WHERE credit_code IS NOT NULL
  UNION SELECT 'ADMIN_DIVISION', code, id FROM admin_divisions WHERE code IS NOT NULL
  UNION SELECT 'PARCEL', parcel_code, id FROM parcels WHERE parcel_code IS NOT NULL
  UNION SELECT 'INDICATOR', code, id FROM indicators WHERE code IS NOT NULL
  UNION SELECT 'ADDRESS', normalized_text, id FROM addresses WHERE normalized_text IS NOT NULL
  UNION SELECT 'OBSERVATION', indicator_key || '|' || region_key || '|' || period, id FROM observations
    WHERE indicator_key IS NOT NULL AND region_key IS NOT NULL AND period IS NOT NULL
  UNION SELECT e.entity_type, c.value #>> '{}', c.entity_id FROM claims c JOIN entities e ON e.id = c.entity_id
    WHERE c.superseded_txid IS NULL AND c.dismissed_txid IS NULL AND jsonb_typeof(c.value) = 'string'
      AND ((e.entity_type = 'PERSON' AND c.field = 'idNumber') OR (e.entity_type = 'LEGAL_ENTITY' AND c.field = 'creditCode'))
  UNION SELECT entity_type, natural_key, entity_id FROM entity_natural_keys`

/**
 * Natural keys shared by more than one surviving entity (the identity splits made before keys
 * were registered whoever sent them). The entity to keep comes first: the registered holder of
 * the key, else the oldest. Returns [] when there is none.
 */
export async function findSplitIdentities(knex: Knex | Knex.Transaction): Promise<SplitIdentity[]> {
  const { rows } = await knex.raw(`
    WITH k AS (${LIVE_KEYS_SQL}),
    live AS (
      SELECT k.entity_type, k.natural_key, k.entity_id, e.created_txid,
             (n.entity_id = k.entity_id) AS holder
        FROM k JOIN entities e ON e.id = k.entity_id AND e.merged_into IS NULL
        LEFT JOIN entity_natural_keys n ON n.entity_type = k.entity_type AND n.natural_key = k.natural_key)
    SELECT entity_type, natural_key,
           array_agg(entity_id ORDER BY holder DESC NULLS LAST, created_txid, entity_id) AS ids
      FROM (SELECT DISTINCT ON (entity_type, natural_key, entity_id) * FROM live) d
     GROUP BY entity_type, natural_key HAVING count(*) > 1
     ORDER BY entity_type, natural_key`)
  return rows.map((r: { entity_type: EntityTypeName; natural_key: string; ids: string[] }) => ({
    entityType: r.entity_type,
    naturalKey: r.natural_key,
    entityIds: r.ids,
  }))
}

/**
 * Merges every split identity into the entity to keep, one audited transaction per merge through
 * the stewards' merge (so unmergeEntity undoes it). Pairs a steward declared NOT_DUPLICATE stay
 * apart. An entity already merged by an earlier group in the same run is followed, not merged twice.
 */
export async function repairSplitIdentities(knex: Knex, options: { dryRun?: boolean } = {}): Promise<RepairOutcome> {
  const splits = await findSplitIdentities(knex)
  const outcome: RepairOutcome = { splits, merged: [], excluded: [] }
  for (const split of splits) {
    const [keep, ...others] = split.entityIds
    for (const other of others) {
      const excluded = await knex('identity_exclusions')
        .where((w) => w.where({ entity_a: keep, entity_b: other }).orWhere({ entity_a: other, entity_b: keep }))
        .first()
      if (excluded) {
        outcome.excluded.push([keep, other])
        continue
      }
      if (options.dryRun) {
        outcome.merged.push([keep, other])
        continue
      }
      const reason = `repair:identities: ${split.entityType} ${split.naturalKey} was split over several entities`
      const done = await withTransaction(knex, { operation: 'repairIdentities', reason }, async (tx) => {
        const rows = await tx.trx('entities').select('id', 'merged_into').whereIn('id', [keep, other])
        // An earlier group of this run may have merged one of them already.
        if (rows.length !== 2 || rows.some((r: { merged_into: string | null }) => r.merged_into)) return false
        await mergeEntitiesTx(
          tx,
          await loadAuthorityRules(tx.trx),
          { principalId: 'repair:identities', reason },
          keep,
          other,
        )
        return true
      })
      if (done) outcome.merged.push([keep, other])
    }
  }
  return outcome
}
