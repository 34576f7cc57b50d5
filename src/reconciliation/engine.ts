import { createHash } from 'node:crypto'
import type { Knex } from 'knex'
import { insertUnnest, type BulkColumn } from '../db/bulk.js'
import { lockEntities, type TxContext } from '../db/transaction.js'
import { LEGAL_ENTITY_KINDS, type EntityTypeName } from '../shared/entity-types.js'
import { AuthorityRules } from './authority.store.js'
import { creationRefusal } from './creation-guard.js'
import { ENTITY_SPECS, missingForNewEntity } from './fields.js'
import {
  holdersOf,
  linkByNaturalKey,
  naturalKeyOf,
  registerNaturalKeys,
  reserveNaturalKeys,
  survivors,
} from './identity.js'
import { projectEntities } from './projection.js'
import {
  canonicalJson,
  changesGolden,
  sameValue,
  decideGoldenValue,
  type ClaimView,
  type GoldenView,
  type RuleView,
} from './rules/merge.js'
import { legalEntityMatchScore, personMatchScore } from './rules/match.js'
import { ValidationError, type ValidatedRecord } from './rules/validate.js'

export interface EngineOptions {
  rules: AuthorityRules
  matchHigh: number
  matchLow: number
}

export interface RecordOutcome {
  index: number
  result: 'created' | 'updated' | 'unchanged'
  entityId: string
}

export interface ApplyResult {
  outcomes: RecordOutcome[]
  conflictsOpened: number
  possibleDuplicates: number
  /** Records refused by the engine (e.g. a new entity without a name); nothing of them was applied. */
  rejected: { index: number; error: ValidationError }[]
}

export interface PreparedRecord {
  /** Position in the submitted batch. */
  index: number
  record: ValidatedRecord
  attributes: unknown
  geometry: unknown
}

interface Plan extends PreparedRecord {
  hash: string
  existing?: { id: string; entity_id: string | null; content_hash: string }
  entityId?: string
  created?: boolean
  duplicateOf?: { id: string; score: number }
}

/** Splits records so that no source key or natural key repeats inside one part (later ones see earlier ones applied). */
export function splitOnRepeats(entityType: EntityTypeName, records: PreparedRecord[]): PreparedRecord[][] {
  const parts: PreparedRecord[][] = []
  let current: PreparedRecord[] = []
  let seen = new Set<string>()
  for (const r of records) {
    const nk = naturalKeyOf(entityType, r.record.values)
    const keys = [`s:${r.record.sourceKey}`, ...(nk ? [`n:${nk[1]}`] : [])]
    if (keys.some((k) => seen.has(k))) {
      parts.push(current)
      current = []
      seen = new Set()
    }
    keys.forEach((k) => seen.add(k))
    current.push(r)
  }
  if (current.length) parts.push(current)
  return parts
}

/** Entities a steward declared NOT_DUPLICATE of the given one. */
async function excludedPartners(trx: Knex.Transaction, entityId: string): Promise<Set<string>> {
  const rows = await trx('identity_exclusions')
    .select('entity_a', 'entity_b')
    .where('entity_a', entityId)
    .orWhere('entity_b', entityId)
  return new Set(
    rows.map((r: { entity_a: string; entity_b: string }) => (r.entity_a === entityId ? r.entity_b : r.entity_a)),
  )
}

/**
 * Weighted match for records that no key linked (persons and legal entities only): one query for
 * the whole batch, each record looking at up to 20 candidates as before.
 */
async function resolveByMatch(
  trx: Knex.Transaction,
  entityType: EntityTypeName,
  plans: Plan[],
  opts: EngineOptions,
): Promise<void> {
  const open = plans.filter((x) => !x.entityId)
  if (!open.length) return
  const best = new Map<number, { id: string; score: number }>()
  // Entities a steward declared distinct from the record's former entity are never candidates.
  const excluded = new Map<number, Set<string>>()
  const consider = (i: number, id: string, score: number) => {
    if (excluded.get(i)?.has(id)) return
    const b = best.get(i)
    if (!b || score > b.score) best.set(i, { id, score })
  }
  const loadExclusions = async (wanted: Plan[]) => {
    for (const [i, p] of wanted.entries())
      if (p.existing?.entity_id) excluded.set(i, await excludedPartners(trx, p.existing.entity_id))
  }
  if (entityType === 'PERSON') {
    const named = open.filter(
      (p) => typeof p.record.values.name === 'string' && typeof p.record.values.birthDate === 'string',
    )
    // A record with an ID number can only match persons without one (below): when no such person
    // has its birth date, it has no candidate at all and the per-record lookup is skipped. One
    // index probe for the whole batch; the result is the same as running the lookup.
    const keyed = named.filter((p) => typeof p.record.values.idNumber === 'string')
    let keylessDates = new Set<string>()
    if (keyed.length) {
      const { rows } = await trx.raw(
        `SELECT DISTINCT to_char(birth_date, 'YYYY-MM-DD') AS d FROM persons WHERE id_number IS NULL AND birth_date = ANY(?::date[])`,
        [[...new Set(keyed.map((p) => p.record.values.birthDate as string))]],
      )
      keylessDates = new Set(rows.map((r: { d: string }) => r.d))
    }
    const wanted = named.filter(
      (p) => typeof p.record.values.idNumber !== 'string' || keylessDates.has(p.record.values.birthDate as string),
    )
    if (wanted.length) {
      await loadExclusions(wanted)
      // A person with a different ID number is a different person: only keyless or same-key rows are candidates.
      const { rows } = await trx.raw(
        `SELECT u.i, p.id, p.name, p.birth_date, p.gender, p.residence_address_key
           FROM unnest(?::int[], ?::date[], ?::text[], ?::boolean[]) AS u(i, birth_date, name, has_id)
           CROSS JOIN LATERAL (SELECT id, name, birth_date, gender, residence_address_key FROM persons
             WHERE birth_date = u.birth_date AND (id_number IS NULL OR NOT u.has_id) AND (name = u.name OR similarity(name, u.name) > 0.3) LIMIT 20) p`,
        [
          wanted.map((_, i) => i),
          wanted.map((p) => p.record.values.birthDate as string),
          wanted.map((p) => p.record.values.name as string),
          wanted.map((p) => typeof p.record.values.idNumber === 'string'),
        ],
      )
      for (const r of rows) {
        const v = wanted[r.i].record.values
        consider(
          r.i,
          r.id,
          personMatchScore(
            {
              name: v.name as string,
              birthDate: v.birthDate as string,
              gender: v.gender as string,
              address: (v.residenceAddress ?? v.householdAddress) as string,
            },
            { name: r.name, birthDate: r.birth_date, gender: r.gender, address: r.residence_address_key },
          ),
        )
      }
      wanted.forEach((p, i) => decide(p, best.get(i), opts))
    }
  } else if (entityType === 'LEGAL_ENTITY') {
    const wanted = open.filter((p) => typeof p.record.values.name === 'string')
    if (wanted.length) {
      await loadExclusions(wanted)
      const { rows } = await trx.raw(
        `SELECT u.i, l.id, l.name, l.registered_address_key
           FROM unnest(?::int[], ?::text[], ?::boolean[]) AS u(i, name, has_code)
           CROSS JOIN LATERAL (SELECT id, name, registered_address_key FROM legal_entities
             WHERE (credit_code IS NULL OR NOT u.has_code) AND (name = u.name OR similarity(name, u.name) > 0.5) LIMIT 20) l`,
        [
          wanted.map((_, i) => i),
          wanted.map((p) => p.record.values.name as string),
          wanted.map((p) => typeof p.record.values.creditCode === 'string'),
        ],
      )
      for (const r of rows) {
        const v = wanted[r.i].record.values
        consider(
          r.i,
          r.id,
          legalEntityMatchScore(
            { name: v.name as string, address: v.registeredAddress as string },
            { name: r.name, address: r.registered_address_key },
          ),
        )
      }
      wanted.forEach((p, i) => decide(p, best.get(i), opts))
    }
  }
}

/**
 * Records linked by their own source key that now claim a natural key (PERSON idNumber,
 * LEGAL_ENTITY creditCode) another entity holds, e.g. an ID number corrected to one already in
 * use: the two may be one, so each pair becomes a POSSIBLE_DUPLICATE (score 1) for a steward,
 * unless one is open already or a steward declared them NOT_DUPLICATE. Returns how many opened.
 */
async function openNaturalKeyCollisions(tx: TxContext, entityType: EntityTypeName, plans: Plan[]): Promise<number> {
  if (entityType !== 'PERSON' && entityType !== 'LEGAL_ENTITY') return 0
  const { trx, txid, at } = tx
  const keyed = plans
    .filter((p) => !p.created && p.entityId)
    .map((p) => [p, naturalKeyOf(entityType, p.record.values)] as const)
    .filter(([, k]) => k)
  if (!keyed.length) return 0
  const held = await holdersOf(
    trx,
    entityType,
    keyed.map(([, k]) => k![1]),
  )
  let opened = 0
  const seen = new Set<string>()
  for (const [p, k] of keyed) {
    // One holder per key at most (a map lookup: scanning every held key per record was quadratic).
    const heldBy = held.get(k![1])
    for (const holder of heldBy && heldBy !== p.entityId ? [{ id: heldBy }] : []) {
      const pair = [p.entityId!, holder.id].sort().join('|')
      if (seen.has(pair)) continue
      seen.add(pair)
      const between = (w: Knex.QueryBuilder, a: string, b: string) =>
        w
          .where((x) => x.where(a, p.entityId!).where(b, holder.id))
          .orWhere((x) => x.where(a, holder.id).where(b, p.entityId!))
      if (
        await trx('conflicts')
          .where({ kind: 'POSSIBLE_DUPLICATE', status: 'OPEN' })
          .where((w) => between(w, 'entity_id', 'other_entity_id'))
          .first()
      )
        continue
      if (
        await trx('identity_exclusions')
          .where((w) => between(w, 'entity_a', 'entity_b'))
          .first()
      )
        continue
      await trx('conflicts').insert({
        kind: 'POSSIBLE_DUPLICATE',
        status: 'OPEN',
        entity_type: entityType,
        entity_id: p.entityId,
        other_entity_id: holder.id,
        match_score: 1,
        opened_at: at,
        opened_txid: txid,
      })
      opened++
    }
  }
  return opened
}

function decide(p: Plan, best: { id: string; score: number } | undefined, opts: EngineOptions): void {
  if (!best) return
  if (best.score >= opts.matchHigh) p.entityId = best.id
  else if (best.score >= opts.matchLow) p.duplicateOf = best
}

function claimView(row: ClaimRow): ClaimView {
  return {
    id: Number(row.id),
    department: row.department_code,
    sourceKey: row.source_key,
    value: row.value,
    observedAt: row.observed_at ? new Date(row.observed_at).toISOString() : null,
    txid: Number(row.txid),
    dismissed: row.dismissed_txid !== null,
  }
}

/**
 * The write path as it was before the fast path (every field of every touched entity read back),
 * switched on only by the oracle test (test/integration/write-path-oracle.test.ts), which compares
 * both paths' answers on the same files; to be deleted with that comparison.
 */
export const OLD_WRITE_PATH = { enabled: false }

export interface RecomputeResult {
  conflictsOpened: number
  changedFields: number
}

/** A current claim as recomputeEntities reads it. */
export interface ClaimRow {
  id: number | string
  entity_id: string
  field: string
  department_code: string
  source_key: string
  value: unknown
  observed_at: Date | string | null
  txid: number | string
  dismissed_txid: number | string | null
}

/**
 * Re-decides the golden value of the given fields of the given entities from their current claims,
 * writes golden values, history and VALUE_MISMATCH conflicts, and re-projects the entities.
 * fields = null recomputes every claimed field; a Map gives each entity its own fields (an entity
 * it does not name recomputes every claimed field).
 * `created`: entities created in this transaction, with all their claims (the caller just wrote
 * them). Nothing else can refer to them yet (no golden value, conflict or dismissed claim), so
 * they are not read back from the database.
 */
export async function recomputeEntities(
  tx: TxContext,
  entityType: EntityTypeName,
  entityIds: string[],
  fields: Set<string> | ReadonlyMap<string, Set<string> | null> | null,
  rules: AuthorityRules,
  created?: Map<string, ClaimRow[]>,
): Promise<RecomputeResult> {
  const { trx, txid, at } = tx
  const result: RecomputeResult = { conflictsOpened: 0, changedFields: 0 }
  if (!entityIds.length) return result
  const stored = created ? entityIds.filter((id) => !created.has(id)) : entityIds
  // Golden values of an entity are decided by one writer at a time (no-op for locks already held).
  await lockEntities(tx, stored)
  // Only the fields to decide are read back (plus what picks their rule: a legal entity's kind, an
  // observation's indicator), unless some stored entity recomputes every claimed field: an update
  // of a few items no longer reads every claim and golden value of its entities.
  let only: string[] | null = null
  if (OLD_WRITE_PATH.enabled) {
    // The old path read everything back (kept for the oracle test only).
  } else if (fields instanceof Map) {
    if (stored.every((id) => fields.get(id))) {
      const union = new Set<string>()
      for (const id of stored) for (const f of fields.get(id)!) union.add(f)
      only = [...union]
    }
  } else if (fields) only = [...(fields as Set<string>)]
  if (only && entityType === 'LEGAL_ENTITY') only.push('kind')
  if (only && entityType === 'OBSERVATION') only.push('indicator')
  const onlyFields = (q: Knex.QueryBuilder) => (only ? q.whereIn('field', only) : q)
  // `= ANY(array)` rather than IN (…1,000 placeholders): the same plan, planned in less time.
  const claimRows: ClaimRow[] = stored.length
    ? await trx('claims')
        .select(
          'id',
          'entity_id',
          'field',
          'department_code',
          'source_key',
          'value',
          'observed_at',
          'txid',
          'dismissed_txid',
        )
        .whereRaw('entity_id = ANY(?::uuid[])', [stored])
        .whereNull('superseded_txid')
        .modify(onlyFields)
    : []
  if (created) for (const id of entityIds) for (const c of created.get(id) ?? []) claimRows.push(c)
  const goldenRows = stored.length
    ? await trx('golden_values')
        .select('entity_id', 'field', 'value', 'status', 'source_department', 'claim_id', 'txid')
        .whereRaw('entity_id = ANY(?::uuid[])', [stored])
        .modify(onlyFields)
    : []
  const openConflicts = stored.length
    ? await trx('conflicts')
        .select('id', 'entity_id', 'field')
        .whereRaw('entity_id = ANY(?::uuid[])', [stored])
        .where({ status: 'OPEN', kind: 'VALUE_MISMATCH' })
        .modify(onlyFields)
    : []

  // A steward's KEEP_AUTHORITATIVE dismissed these values: the same department claiming the same
  // value again (a newer record, a re-observation) does not reopen the conflict.
  const dismissedRows = stored.length
    ? await trx('claims')
        .select('entity_id', 'field', 'department_code', 'value')
        .whereRaw('entity_id = ANY(?::uuid[])', [stored])
        .whereNotNull('dismissed_txid')
        .modify(onlyFields)
    : []
  const dismissedKey = (r: { entity_id: string; field: string; department_code: string; value: unknown }) =>
    `${r.entity_id}|${r.field}|${r.department_code}|${canonicalJson(r.value)}`
  const dismissed = new Set(dismissedRows.map(dismissedKey))

  const claimsBy = new Map<string, ClaimView[]>()
  for (const r of claimRows) {
    const k = `${r.entity_id}|${r.field}`
    const list = claimsBy.get(k) ?? []
    const view = claimView(r)
    if (dismissed.has(dismissedKey(r))) view.dismissed = true
    list.push(view)
    claimsBy.set(k, list)
  }
  const goldenBy = new Map<string, GoldenView>()
  for (const g of goldenRows)
    goldenBy.set(`${g.entity_id}|${g.field}`, {
      value: g.value,
      status: g.status,
      department: g.source_department,
      claimId: g.claim_id === null ? null : Number(g.claim_id),
      txid: Number(g.txid),
    })
  const conflictBy = new Map<string, string>(
    openConflicts.map((c: { id: string; entity_id: string; field: string }) => [`${c.entity_id}|${c.field}`, c.id]),
  )

  // Kind-dependent authority (legal entities) and indicator-owned observations.
  const kindOf = new Map<string, string | null>()
  if (entityType === 'LEGAL_ENTITY') {
    for (const id of entityIds) {
      const kindClaims = claimsBy.get(`${id}|kind`) ?? []
      const standing = goldenBy.get(`${id}|kind`) ?? null
      const decide = (rule: RuleView | undefined) => {
        const d = rule ? decideGoldenValue(rule, kindClaims, standing) : null
        return (d?.next === 'keep' ? standing?.value : d?.next?.value) as string | undefined
      }
      let next = decide(rules.ruleFor('LEGAL_ENTITY', 'kind'))
      // A kind whose own authority claims it (a social organisation registered by CAB alone)
      // stands even though the default authority of `kind` has said nothing.
      if (next === undefined) {
        for (const kind of LEGAL_ENTITY_KINDS) {
          const rule = rules.ruleFor('LEGAL_ENTITY', 'kind', kind)
          if (rule?.entityKind === kind && decide(rule) === kind) {
            next = kind
            break
          }
        }
      }
      kindOf.set(id, next ?? null)
    }
  }
  const ownerOf = new Map<string, string | null>()
  if (entityType === 'OBSERVATION') {
    const keys = [
      ...new Set(
        claimRows
          .filter((c: { field: string }) => c.field === 'indicator')
          .map((c: { value: unknown }) => c.value as string),
      ),
    ]
    const owners = keys.length ? await trx('indicators').select('code', 'owner_code').whereIn('code', keys) : []
    const ownerByCode = new Map<string, string>(
      owners.map((o: { code: string; owner_code: string }) => [o.code, o.owner_code]),
    )
    for (const r of claimRows)
      if (r.field === 'indicator') ownerOf.set(r.entity_id, ownerByCode.get(r.value as string) ?? null)
  }

  const goldenUpserts: Record<string, unknown>[] = []
  // Golden values of the created entities, as the projection would read them back.
  const createdGolden = created ? new Map<string, Map<string, unknown>>() : undefined
  const goldenDeletes: [string, string][] = []
  const history: Record<string, unknown>[] = []
  const newConflicts: { entity_id: string; field: string; authority: string; candidates: number[] }[] = []
  const extendConflicts: { id: string; candidates: number[] }[] = []
  const closeConflicts: string[] = []
  // Entities whose golden values changed (not only their status or source): only their domain
  // rows can differ, so only they are projected again, with the entities created here. A rule
  // change that moves the authority of one field re-decides every entity but changes few values.
  const valuesChanged = new Set<string>()

  for (const id of entityIds) {
    const own = fields instanceof Map ? fields.get(id) : (fields as Set<string> | null)
    const fieldNames =
      own ?? new Set([...claimsBy.keys()].filter((k) => k.startsWith(`${id}|`)).map((k) => k.slice(id.length + 1)))
    for (const field of fieldNames) {
      const k = `${id}|${field}`
      let rule = rules.ruleFor(entityType, field, kindOf.get(id))
      if (!rule) continue
      const owner = ownerOf.get(id)
      if (entityType === 'OBSERVATION' && owner && owner !== rule.authority) {
        // The indicator's owner is the authority for its observations. The identifying fields
        // (indicator, region, period) must also be set when only the owner, or only the catalogue's
        // authority, has submitted, or the projection has no natural key and a later claim
        // would create a second entity: the rule's own authority stands in for them.
        rule =
          field === 'value' || field === 'status'
            ? { ...rule, authority: owner }
            : { ...rule, authority: owner, fallbacks: [rule.authority, ...rule.fallbacks] }
      }
      const standing = goldenBy.get(k) ?? null
      const claims = claimsBy.get(k) ?? []
      const decision = decideGoldenValue(rule, claims, standing)
      if (changesGolden(decision, standing)) {
        result.changedFields++
        const next = decision.next
        if (next === null || (next !== 'keep' && (!standing || !sameValue(next.value, standing.value))))
          valuesChanged.add(id)
        if (next === null) {
          goldenDeletes.push([id, field])
          history.push({
            entity_id: id,
            entity_type: entityType,
            field,
            old_value: JSON.stringify(standing?.value ?? null),
            new_value: null,
            status: standing!.status,
            source_department: null,
            observed_at: null,
            recorded_at: at,
            txid,
          })
        } else if (next !== 'keep') {
          const claim = claims.find((c) => c.id === next.claimId)
          if (createdGolden && created!.has(id)) {
            const m = createdGolden.get(id) ?? new Map<string, unknown>()
            createdGolden.set(id, m.set(field, JSON.parse(JSON.stringify(next.value))))
          }
          goldenUpserts.push({
            entity_id: id,
            field,
            value: JSON.stringify(next.value),
            status: next.status,
            source_department: next.department,
            source_key: claim?.sourceKey ?? null,
            claim_id: next.claimId,
            observed_at: next.observedAt,
            recorded_at: at,
            txid,
          })
          history.push({
            entity_id: id,
            entity_type: entityType,
            field,
            old_value: standing ? JSON.stringify(standing.value) : null,
            new_value: JSON.stringify(next.value),
            status: next.status,
            source_department: next.department,
            observed_at: claim?.observedAt ?? null,
            recorded_at: at,
            txid,
          })
        }
      }
      if (decision.next === 'keep') continue
      const open = conflictBy.get(k)
      const authoritative = decision.next?.status === 'AUTHORITATIVE'
      if (authoritative && decision.mismatches.length) {
        const candidates = decision.mismatches.map((c) => c.id)
        if (open) extendConflicts.push({ id: open, candidates })
        else newConflicts.push({ entity_id: id, field, authority: rule.authority, candidates })
      } else if (open) {
        closeConflicts.push(open)
      }
    }
  }

  if (goldenUpserts.length) {
    await insertUnnest(
      trx,
      'golden_values',
      GOLDEN_COLUMNS,
      goldenUpserts,
      `ON CONFLICT (entity_id, field) DO UPDATE SET ${GOLDEN_COLUMNS.slice(2)
        .map((c) => `${c.name} = excluded.${c.name}`)
        .join(', ')}`,
    )
  }
  for (const [id, field] of goldenDeletes) await trx('golden_values').where({ entity_id: id, field }).delete()
  await insertUnnest(trx, 'field_history', HISTORY_COLUMNS, history)

  // New conflicts in one statement per 500 (at most one open per entity and field, so the
  // returned (entity_id, field) names each), then their candidates.
  for (let i = 0; i < newConflicts.length; i += 500) {
    const part = newConflicts.slice(i, i + 500)
    const rows = await trx('conflicts')
      .insert(
        part.map((c) => ({
          kind: 'VALUE_MISMATCH',
          status: 'OPEN',
          entity_type: entityType,
          entity_id: c.entity_id,
          field: c.field,
          authority: c.authority,
          opened_at: at,
          opened_txid: txid,
        })),
      )
      .returning(['id', 'entity_id', 'field'])
    const idOf = new Map<string, string>(
      rows.map((r: { id: string; entity_id: string; field: string }) => [`${r.entity_id}|${r.field}`, r.id]),
    )
    const candidates = part.flatMap((c) =>
      c.candidates.map((claim_id) => ({ conflict_id: idOf.get(`${c.entity_id}|${c.field}`)!, claim_id })),
    )
    for (let j = 0; j < candidates.length; j += 1000)
      await trx('conflict_candidates').insert(candidates.slice(j, j + 1000))
    result.conflictsOpened += part.length
  }
  // Candidates of conflicts already open, in one statement per 1,000 (a rule change extends one
  // conflict in almost every chunk).
  const extended = extendConflicts.flatMap((c) => c.candidates.map((claim_id) => ({ conflict_id: c.id, claim_id })))
  for (let j = 0; j < extended.length; j += 1000)
    await trx('conflict_candidates')
      .insert(extended.slice(j, j + 1000))
      .onConflict(['conflict_id', 'claim_id'])
      .ignore()
  if (closeConflicts.length) {
    await trx('conflicts').whereIn('id', closeConflicts).update({
      status: 'RESOLVED',
      resolved_at: at,
      reason: 'Closed by the service: no department disagrees any more',
    })
  }
  await projectEntities(
    trx,
    entityType,
    entityIds.filter((id) => valuesChanged.has(id) || created?.has(id)),
    txid,
    createdGolden,
  )
  return result
}

// Column lists of the set-based inserts (insertUnnest); the first columns of each are its conflict key.
const SOURCE_RECORD_COLUMNS: BulkColumn[] = [
  { name: 'department_code', type: 'text' },
  { name: 'entity_type', type: 'text' },
  { name: 'source_key', type: 'text' },
  { name: 'attributes', type: 'jsonb' },
  { name: 'geometry', type: 'jsonb' },
  { name: 'content_hash', type: 'text' },
  { name: 'observed_at', type: 'timestamptz' },
  { name: 'received_at', type: 'timestamptz' },
  { name: 'entity_id', type: 'uuid' },
  { name: 'txid', type: 'bigint' },
]
const CLAIM_COLUMNS: BulkColumn[] = [
  { name: 'entity_id', type: 'uuid' },
  { name: 'field', type: 'text' },
  { name: 'department_code', type: 'text' },
  { name: 'source_record_id', type: 'uuid' },
  { name: 'source_key', type: 'text' },
  { name: 'value', type: 'jsonb' },
  { name: 'observed_at', type: 'timestamptz' },
  { name: 'recorded_at', type: 'timestamptz' },
  { name: 'txid', type: 'bigint' },
  { name: 'superseded_txid', type: 'bigint' },
]
const GOLDEN_COLUMNS: BulkColumn[] = [
  { name: 'entity_id', type: 'uuid' },
  { name: 'field', type: 'text' },
  { name: 'value', type: 'jsonb' },
  { name: 'status', type: 'text' },
  { name: 'source_department', type: 'text' },
  { name: 'source_key', type: 'text' },
  { name: 'claim_id', type: 'bigint' },
  { name: 'observed_at', type: 'timestamptz' },
  { name: 'recorded_at', type: 'timestamptz' },
  { name: 'txid', type: 'bigint' },
]
const HISTORY_COLUMNS: BulkColumn[] = [
  { name: 'entity_id', type: 'uuid' },
  { name: 'entity_type', type: 'text' },
  { name: 'field', type: 'text' },
  { name: 'old_value', type: 'jsonb' },
  { name: 'new_value', type: 'jsonb' },
  { name: 'status', type: 'text' },
  { name: 'source_department', type: 'text' },
  { name: 'observed_at', type: 'timestamptz' },
  { name: 'recorded_at', type: 'timestamptz' },
  { name: 'txid', type: 'bigint' },
]

function contentHash(p: PreparedRecord): string {
  return createHash('sha256')
    .update(canonicalJson({ v: p.record.values, o: p.record.observedAt }))
    .digest('hex')
}

/**
 * Applies validated records of one type from one department in one transaction, set-based:
 * identity resolution, source records, claims, golden values, conflicts, projection.
 * Records must not repeat a source key or natural key (see splitOnRepeats). A record that would
 * found an entity without what identifies it is left out and returned in `rejected` (MISSING_FIELD).
 */
export async function applyRecords(
  tx: TxContext,
  department: string,
  entityType: EntityTypeName,
  records: PreparedRecord[],
  opts: EngineOptions,
): Promise<ApplyResult> {
  const { trx, txid, at } = tx
  const plans: Plan[] = records.map((r) => ({ ...r, hash: contentHash(r) }))
  if (!plans.length) return { outcomes: [], conflictsOpened: 0, possibleDuplicates: 0, rejected: [] }

  const existing = await trx('source_records')
    .select('id', 'source_key', 'entity_id', 'content_hash')
    .where({ department_code: department, entity_type: entityType })
    .whereIn(
      'source_key',
      plans.map((p) => p.record.sourceKey),
    )
  const existingByKey = new Map(existing.map((e: { source_key: string }) => [e.source_key, e]))
  for (const p of plans) p.existing = existingByKey.get(p.record.sourceKey) as Plan['existing']

  const outcomes: RecordOutcome[] = []
  let live = plans.filter((p) => {
    if (p.existing && p.existing.content_hash === p.hash && p.existing.entity_id) {
      outcomes.push({ index: p.index, result: 'unchanged', entityId: p.existing.entity_id })
      return false
    }
    return true
  })
  if (!live.length) return { outcomes, conflictsOpened: 0, possibleDuplicates: 0, rejected: [] }

  // Identity: own key already linked → natural key → weighted match.
  const linked = await survivors(
    trx,
    live.map((p) => p.existing?.entity_id).filter((x): x is string => !!x),
  )
  for (const p of live) if (p.existing?.entity_id) p.entityId = linked.get(p.existing.entity_id)
  await linkByNaturalKey(trx, entityType, live)
  await resolveByMatch(trx, entityType, live, opts)
  // Writers about the same entity apply one after the other from here (claims are read after this).
  await lockEntities(
    tx,
    live.map((p) => p.entityId).filter((x): x is string => !!x),
  )

  // A record that would found a new entity without the fields to identify it is refused (and only it).
  const spec = ENTITY_SPECS[entityType]
  const rejected: ApplyResult['rejected'] = []
  for (const p of live.filter((x) => !x.entityId)) {
    const missing = missingForNewEntity(entityType, p.record.values)
    if (missing)
      rejected.push({
        index: p.index,
        error: new ValidationError('MISSING_FIELD', missing, `${missing} is required to create a new ${spec.typeName}`),
      })
    else {
      const refusal = creationRefusal(entityType, department, p.record.values, opts.rules)
      if (refusal) rejected.push({ index: p.index, error: refusal })
    }
  }
  if (rejected.length) {
    const refused = new Set(rejected.map((r) => r.index))
    live = live.filter((p) => !refused.has(p.index))
  }
  // New entities get their ids with their natural keys reserved; a key taken meanwhile by another
  // writer links the record to that writer's entity instead (identity.ts).
  await reserveNaturalKeys(
    trx,
    entityType,
    live.filter((p) => !p.entityId),
  )
  // A record linked to another writer's new entity (it lost the key race) locks that entity too.
  await lockEntities(
    tx,
    live.filter((p) => p.entityId && !p.created).map((p) => p.entityId!),
  )
  const toCreate = live.filter((p) => p.created)
  if (toCreate.length) {
    await trx.raw(
      `INSERT INTO entities (id, entity_type, created_txid, created_at) SELECT id, ?, ?, ? FROM unnest(?::uuid[]) AS u(id)`,
      [entityType, txid, at, toCreate.map((p) => p.entityId!)],
    )
  }
  await registerNaturalKeys(trx, entityType, live)

  // Records seen before this call; the others' source records are inserted below and have no claims yet.
  const hadRecord = new Set(live.filter((p) => p.existing).map((p) => p.record.sourceKey))
  // Source records (insert or update), set-based.
  const sourceRows = await insertUnnest(
    trx,
    'source_records',
    SOURCE_RECORD_COLUMNS,
    live.map((p) => ({
      department_code: department,
      entity_type: entityType,
      source_key: p.record.sourceKey,
      attributes: JSON.stringify(p.attributes ?? {}),
      geometry: p.geometry ? JSON.stringify(p.geometry) : null,
      content_hash: p.hash,
      observed_at: p.record.observedAt,
      received_at: at,
      entity_id: p.entityId,
      txid,
    })),
    `ON CONFLICT (department_code, entity_type, source_key) DO UPDATE SET
      ${SOURCE_RECORD_COLUMNS.slice(3)
        .map((c) => `${c.name} = excluded.${c.name}`)
        .join(', ')} RETURNING id, source_key`,
  )
  const idByKey = new Map(sourceRows.map((r: { id: string; source_key: string }) => [r.source_key, r.id]))
  for (const p of live)
    p.existing = { id: idByKey.get(p.record.sourceKey)!, entity_id: p.entityId!, content_hash: p.hash }

  // Claims: one current claim per (record, field). An out-of-order claim (older observedAt than the
  // record's current one) is kept as history but does not replace it (rule 1).
  const recordIds = live.filter((p) => hadRecord.has(p.record.sourceKey)).map((p) => p.existing!.id)
  const current = recordIds.length
    ? await trx('claims')
        .select('id', 'source_record_id', 'field', 'value', 'observed_at')
        .whereIn('source_record_id', recordIds)
        .whereNull('superseded_txid')
    : []
  const currentBy = new Map(
    current.map((c: { source_record_id: string; field: string }) => [`${c.source_record_id}|${c.field}`, c]),
  )
  const supersede: number[] = []
  const inserts: Record<string, unknown>[] = []
  const touched = new Map<string, Set<string>>()
  for (const p of live) {
    const fields = touched.get(p.entityId!) ?? new Set<string>()
    touched.set(p.entityId!, fields)
    for (const [field, value] of Object.entries(p.record.values)) {
      const prev = currentBy.get(`${p.existing!.id}|${field}`) as
        | { id: number; value: unknown; observed_at: Date | null }
        | undefined
      const obs = p.record.observedAt
      if (
        prev &&
        canonicalJson(prev.value) === canonicalJson(value) &&
        (prev.observed_at ? new Date(prev.observed_at).toISOString() : null) === obs
      )
        continue
      const older = prev?.observed_at && obs && Date.parse(obs) < new Date(prev.observed_at).getTime()
      if (prev && !older) supersede.push(prev.id)
      inserts.push({
        entity_id: p.entityId,
        field,
        department_code: department,
        source_record_id: p.existing!.id,
        source_key: p.record.sourceKey,
        value: JSON.stringify(value),
        observed_at: obs,
        recorded_at: at,
        txid,
        superseded_txid: older ? txid : null,
      })
      fields.add(field)
    }
    // A record that moved to another entity (re-linked) takes its standing claims along.
  }
  if (supersede.length) await trx('claims').whereIn('id', supersede).update({ superseded_txid: txid })
  const inserted = await insertUnnest(trx, 'claims', CLAIM_COLUMNS, inserts, 'RETURNING id, source_record_id, field')
  // An entity created here has no claims but those just inserted: recomputeEntities takes its
  // current ones (superseded_txid null) from here instead of reading them back.
  const created = new Map<string, ClaimRow[]>()
  for (const p of live) if (p.created) created.set(p.entityId!, [])
  if (created.size) {
    const claimIdOf = new Map<string, string>(
      inserted.map((r: { id: string; source_record_id: string; field: string }) => [
        `${r.source_record_id}|${r.field}`,
        r.id,
      ]),
    )
    for (const c of inserts) {
      const rows = created.get(c.entity_id as string)
      if (!rows || c.superseded_txid !== null) continue
      rows.push({
        id: claimIdOf.get(`${c.source_record_id}|${c.field}`)!,
        entity_id: c.entity_id as string,
        field: c.field as string,
        department_code: department,
        source_key: c.source_key as string,
        value: JSON.parse(c.value as string),
        observed_at: c.observed_at as string | null,
        txid,
        dismissed_txid: null,
      })
    }
  }

  // Golden values of every touched entity in one pass, each for the fields its records claimed;
  // legal entities recompute every field when their kind may have changed.
  const fieldsOf = new Map<string, Set<string> | null>()
  for (const [id, fields] of touched)
    fieldsOf.set(id, entityType === 'LEGAL_ENTITY' && fields.has('kind') ? null : fields)
  const { conflictsOpened } = await recomputeEntities(
    tx,
    entityType,
    [...touched.keys()],
    fieldsOf,
    opts.rules,
    created,
  )

  // Possible duplicates: the new entity and its look-alike, with the score.
  const duplicates = live.filter((x) => x.duplicateOf && x.created)
  for (const p of duplicates) {
    await trx('conflicts').insert({
      kind: 'POSSIBLE_DUPLICATE',
      status: 'OPEN',
      entity_type: entityType,
      entity_id: p.entityId,
      other_entity_id: p.duplicateOf!.id,
      match_score: p.duplicateOf!.score,
      opened_at: at,
      opened_txid: txid,
    })
  }
  const collisions = await openNaturalKeyCollisions(tx, entityType, live)
  for (const p of live)
    outcomes.push({ index: p.index, result: p.created ? 'created' : 'updated', entityId: p.entityId! })
  outcomes.sort((a, b) => a.index - b.index)
  return { outcomes, conflictsOpened, possibleDuplicates: duplicates.length + collisions, rejected }
}
