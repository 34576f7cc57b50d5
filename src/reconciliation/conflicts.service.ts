import type { Knex } from 'knex'
import { lockEntities, type TxContext, withTransaction } from '../db/transaction.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { badInput, notFound } from '../shared/errors.js'
import { loadAuthorityRules } from './authority.store.js'
import { loadItemCatalogue } from './data-items.service.js'
import { type ConflictRecord, findConflict } from './conflicts.store.js'
import { recomputeEntities } from './engine.js'
import { ENTITY_SPECS, fieldSpec } from './fields.js'
import { mergeEntitiesTx } from './merge.service.js'
import { projectEntities } from './projection.js'
import { sameValue } from './rules/merge.js'
import { ValidationError, validateFieldValue } from './rules/validate.js'

export interface StewardActor {
  principalId: string
  departmentCode: string | null
}

export interface ValueCheckOptions {
  extent: [number, number, number, number]
  /** Most positions a geometry value may have (default DEFAULT_MAX_GEOMETRY_VERTICES). */
  maxGeometryVertices?: number
}

/** Which decisions settle which kind of conflict. */
const DECISIONS_BY_KIND: Record<string, string[]> = {
  VALUE_MISMATCH: ['KEEP_AUTHORITATIVE', 'ACCEPT_CANDIDATE', 'SET_VALUE'],
  ERROR_REPORT: ['KEEP_AUTHORITATIVE', 'ACCEPT_CANDIDATE', 'SET_VALUE'],
  POSSIBLE_DUPLICATE: ['MERGE', 'NOT_DUPLICATE'],
}

/**
 * A value for one field, checked like a submitted attribute (and by PostGIS for geometry);
 * returns it in stored form. Throws BAD_USER_INPUT with the validation code, naming `argument`.
 */
export async function checkFieldValue(
  trx: Knex | Knex.Transaction,
  entityType: EntityTypeName,
  field: string,
  raw: unknown,
  opts: ValueCheckOptions,
  argument: string,
): Promise<unknown> {
  let value: unknown
  try {
    value = validateFieldValue(entityType, field, raw, {
      extent: opts.extent,
      maxVertices: opts.maxGeometryVertices,
      departments: new Set((await trx('departments').pluck('code')) as string[]),
      extended: (await loadItemCatalogue(trx)).specs,
    })
  } catch (e) {
    if (e instanceof ValidationError) throw badInput(e.message, argument, e.code)
    throw e
  }
  if (fieldSpec(entityType, field)?.kind.type === 'geometry') {
    const { rows } = await trx.raw(`SELECT ST_IsValidReason(ST_GeomFromGeoJSON(?)) AS reason`, [JSON.stringify(value)])
    if (rows[0].reason !== 'Valid Geometry')
      throw badInput(`geometry is not valid: ${rows[0].reason}`, argument, 'INVALID_GEOMETRY')
  }
  return value
}

/** The legal-entity kind shown now (authority depends on it); null for other types. */
async function kindOf(
  trx: Knex | Knex.Transaction,
  entityType: EntityTypeName,
  entityId: string,
): Promise<string | null> {
  if (entityType !== 'LEGAL_ENTITY') return null
  const row = await trx('golden_values').select('value').where({ entity_id: entityId, field: 'kind' }).first()
  return (row?.value as string | undefined) ?? null
}

/**
 * Sets a STEWARD_OVERRIDE golden value (with its history row) and re-projects the entity. It
 * stands until the authority submits a newer claim (rules/merge.ts).
 */
async function setOverride(
  tx: TxContext,
  entityType: EntityTypeName,
  entityId: string,
  field: string,
  value: unknown,
  from: {
    department: string | null
    claimId: number | null
    sourceKey: string | null
    observedAt: Date | null
  },
): Promise<void> {
  const { trx, txid, at } = tx
  const standing = await trx('golden_values').select('value').where({ entity_id: entityId, field }).first()
  await trx('golden_values')
    .insert({
      entity_id: entityId,
      field,
      value: JSON.stringify(value),
      status: 'STEWARD_OVERRIDE',
      source_department: from.department,
      source_key: from.sourceKey,
      claim_id: from.claimId,
      observed_at: from.observedAt,
      recorded_at: at,
      txid,
    })
    .onConflict(['entity_id', 'field'])
    .merge()
  await trx('field_history').insert({
    entity_id: entityId,
    entity_type: entityType,
    field,
    old_value: standing ? JSON.stringify(standing.value) : null,
    new_value: JSON.stringify(value),
    status: 'STEWARD_OVERRIDE',
    source_department: from.department,
    observed_at: from.observedAt,
    recorded_at: at,
    txid,
  })
  // A legal entity's kind decides the authority of its other fields: re-decide them all.
  if (entityType === 'LEGAL_ENTITY' && field === 'kind')
    await recomputeEntities(tx, entityType, [entityId], null, await loadAuthorityRules(trx))
  else await projectEntities(trx, entityType, [entityId], txid)
}

interface CandidateRow {
  id: number
  department_code: string
  value: unknown
  source_key: string
  observed_at: Date | null
}

/** The candidate ACCEPT_CANDIDATE names: by department code, else by value; the only one when value is omitted. */
function pickCandidate(candidates: CandidateRow[], value: unknown): CandidateRow {
  // Each department's latest claim stands for it.
  const latest = new Map<string, CandidateRow>()
  for (const c of candidates)
    if (!latest.has(c.department_code) || Number(c.id) > Number(latest.get(c.department_code)!.id))
      latest.set(c.department_code, c)
  const list = [...latest.values()]
  if (value === undefined || value === null) {
    if (list.length === 1) return list[0]
    throw badInput(
      `the conflict has ${list.length} candidates: name one by its department code or value`,
      'value',
      'MISSING_FIELD',
    )
  }
  const byDepartment = typeof value === 'string' ? list.find((c) => c.department_code === value) : undefined
  const hit = byDepartment ?? list.find((c) => sameValue(c.value, value))
  if (!hit) throw badInput('value names no candidate of this conflict (give its department code or its value)', 'value')
  return hit
}

/**
 * Applies a steward's decision to an open conflict in one audited transaction and returns the
 * resolved conflict. Throws NOT_FOUND for an unknown id, BAD_USER_INPUT for a resolved conflict,
 * a decision that does not fit its kind, or a bad value.
 */
export async function resolveConflict(
  knex: Knex,
  actor: StewardActor,
  input: { id: string; decision: string; value?: unknown; reason: string },
  opts: ValueCheckOptions,
): Promise<ConflictRecord> {
  return withTransaction(
    knex,
    {
      operation: 'resolveConflict',
      principalId: actor.principalId,
      departmentCode: actor.departmentCode,
      reason: input.reason,
    },
    async (tx) => {
      const { trx, txid, at } = tx
      // Its entities first, then the conflict row: the same order as a submission about them.
      const about = await trx('conflicts').select('entity_id', 'other_entity_id').where('id', input.id).first()
      if (about) await lockEntities(tx, [about.entity_id, about.other_entity_id].filter(Boolean))
      const conflict = await trx('conflicts').where('id', input.id).forUpdate().first()
      if (!conflict) throw notFound(`No conflict ${input.id}`)
      if (conflict.status !== 'OPEN')
        throw badInput(`conflict ${input.id} is already resolved`, 'id', 'ALREADY_RESOLVED')
      const allowed = DECISIONS_BY_KIND[conflict.kind] ?? []
      if (!allowed.includes(input.decision))
        throw badInput(
          `${input.decision} does not settle a ${conflict.kind} conflict (use ${allowed.join(', ')})`,
          'decision',
        )
      const entityType = conflict.entity_type as EntityTypeName
      const candidates: CandidateRow[] = await trx('conflict_candidates as cc')
        .join('claims as c', 'c.id', 'cc.claim_id')
        .where('cc.conflict_id', conflict.id)
        .select('c.id', 'c.department_code', 'c.value', 'c.source_key', 'c.observed_at')
        .orderBy('c.id')

      switch (input.decision) {
        case 'KEEP_AUTHORITATIVE':
          // Dismissed candidates (and the same values from the same departments) do not reopen it.
          if (candidates.length)
            await trx('claims')
              .whereIn(
                'id',
                candidates.map((c) => c.id),
              )
              .update({ dismissed_txid: txid })
          break
        case 'ACCEPT_CANDIDATE': {
          if (conflict.kind === 'ERROR_REPORT') {
            if (conflict.suggested_value === null || conflict.suggested_value === undefined)
              throw badInput('this error report suggests no value: use SET_VALUE or KEEP_AUTHORITATIVE', 'decision')
            await setOverride(tx, entityType, conflict.entity_id, conflict.field, conflict.suggested_value, {
              department: conflict.reported_by,
              claimId: null,
              sourceKey: null,
              observedAt: null,
            })
          } else {
            const chosen = pickCandidate(candidates, input.value)
            await setOverride(tx, entityType, conflict.entity_id, conflict.field, chosen.value, {
              department: chosen.department_code,
              claimId: Number(chosen.id),
              sourceKey: chosen.source_key,
              observedAt: chosen.observed_at,
            })
          }
          break
        }
        case 'SET_VALUE': {
          if (input.value === undefined || input.value === null)
            throw badInput('SET_VALUE needs a value', 'value', 'MISSING_FIELD')
          const value = await checkFieldValue(trx, entityType, conflict.field, input.value, opts, 'value')
          await setOverride(tx, entityType, conflict.entity_id, conflict.field, value, {
            department: null,
            claimId: null,
            sourceKey: null,
            observedAt: null,
          })
          break
        }
        case 'MERGE': {
          // By default the entity that was there first survives; value may name the other one.
          const pair = [conflict.other_entity_id as string, conflict.entity_id as string]
          const survivor =
            input.value === undefined || input.value === null ? pair[0] : String(input.value).toLowerCase()
          if (!pair.includes(survivor))
            throw badInput('value must be the id of one of the two entities (the survivor)', 'value')
          await mergeEntitiesTx(
            tx,
            await loadAuthorityRules(trx),
            { principalId: actor.principalId, reason: input.reason },
            survivor,
            pair.find((id) => id !== survivor)!,
          )
          break
        }
        case 'NOT_DUPLICATE': {
          const [a, b] = [conflict.entity_id as string, conflict.other_entity_id as string].sort()
          await trx('identity_exclusions')
            .insert({ entity_a: a, entity_b: b, txid })
            .onConflict(['entity_a', 'entity_b'])
            .ignore()
          break
        }
      }
      await trx('conflicts').where('id', conflict.id).update({
        status: 'RESOLVED',
        resolved_at: at,
        resolved_by: actor.principalId,
        decision: input.decision,
        reason: input.reason,
      })
      return (await findConflict(trx, conflict.id))!
    },
  )
}

/**
 * Opens an ERROR_REPORT on one field of an entity for its authority to look at; returns it.
 * Throws NOT_FOUND for an unknown entity, BAD_USER_INPUT (UNKNOWN_FIELD) for a field the type lacks.
 */
export async function reportSuspectedError(
  knex: Knex,
  actor: StewardActor,
  input: { entityId: string; field: string; suggestedValue?: unknown; note: string },
  opts: ValueCheckOptions,
): Promise<ConflictRecord> {
  return withTransaction(
    knex,
    {
      operation: 'reportSuspectedError',
      principalId: actor.principalId,
      departmentCode: actor.departmentCode,
      reason: input.note,
    },
    async (tx) => {
      const { trx, txid, at } = tx
      // A merged-away id stands for its survivor.
      let entity = await trx('entities').select('id', 'entity_type', 'merged_into').where('id', input.entityId).first()
      for (let hops = 0; entity?.merged_into && hops < 20; hops++)
        entity = await trx('entities')
          .select('id', 'entity_type', 'merged_into')
          .where('id', entity.merged_into)
          .first()
      if (!entity) throw notFound(`No entity ${input.entityId}`)
      const entityType = entity.entity_type as EntityTypeName
      if (!(await loadItemCatalogue(trx)).has(entityType, input.field))
        throw badInput(`${ENTITY_SPECS[entityType].typeName} has no field "${input.field}"`, 'field', 'UNKNOWN_FIELD')
      const suggested =
        input.suggestedValue === undefined || input.suggestedValue === null
          ? null
          : await checkFieldValue(trx, entityType, input.field, input.suggestedValue, opts, 'suggestedValue')
      const rules = await loadAuthorityRules(trx)
      const rule = rules.ruleFor(entityType, input.field, await kindOf(trx, entityType, entity.id))
      const [row] = await trx('conflicts')
        .insert({
          kind: 'ERROR_REPORT',
          status: 'OPEN',
          entity_type: entityType,
          entity_id: entity.id,
          field: input.field,
          authority: rule?.authority ?? null,
          reported_by: actor.departmentCode,
          suggested_value: suggested === null ? null : JSON.stringify(suggested),
          note: input.note,
          opened_at: at,
          opened_txid: txid,
        })
        .returning('id')
      return (await findConflict(trx, row.id))!
    },
  )
}
