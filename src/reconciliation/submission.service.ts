import type { Knex } from 'knex'
import { withTransaction, type TxContext } from '../db/transaction.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { loadAuthorityRules } from './authority.store.js'
import { loadItemCatalogue } from './data-items.service.js'
import { applyRecords, splitOnRepeats, type EngineOptions, type PreparedRecord } from './engine.js'
import { ENTITY_SPECS } from './fields.js'
import { findUnresolvedReferences } from './references.js'
import { printable, storableJson, textProblem } from './rules/storable.js'
import { ValidationError, validateRecord, type RecordInput, type ValidationCode } from './rules/validate.js'
import { badInput } from '../shared/errors.js'

export interface RejectedRecord {
  index: number
  sourceKey: string | null
  code: ValidationCode
  field: string | null
  message: string
}

export interface SubmissionResult {
  batchKey: string | null
  accepted: number
  created: number
  updated: number
  unchanged: number
  conflictsOpened: number
  possibleDuplicates: number
  rejected: RejectedRecord[]
  /** Accepted records with a reference that matches no entity (code UNRESOLVED_REFERENCE); applied, not quarantined. */
  warnings: RecordWarning[]
}

/** Something about an accepted record the sender should know. */
export interface RecordWarning {
  index: number
  sourceKey: string | null
  code: 'UNRESOLVED_REFERENCE'
  field: string
  message: string
}

export interface SubmissionOptions {
  matchHigh: number
  matchLow: number
  extent: [number, number, number, number]
  /** Most positions a submitted geometry may have (default DEFAULT_MAX_GEOMETRY_VERTICES). */
  maxGeometryVertices?: number
  /** How far after now an observedAt may lie (default 5 minutes). */
  observedAtMaxSkewMs?: number
}

/** Throws BAD_USER_INPUT (field batchKey) for a batch key that cannot be stored; the batch is not applied. */
export function checkBatchKey(batchKey: string | null | undefined): void {
  if (batchKey === null || batchKey === undefined) return
  const problem = textProblem(batchKey)
  if (problem) throw badInput(`batchKey ${problem}`, 'batchKey')
  if (batchKey.length > 200) throw badInput('batchKey is longer than 200 characters', 'batchKey')
}

export interface Submission {
  department: string
  entityType: EntityTypeName
  batchKey?: string | null
  records: RecordInput[]
  principalId?: string | null
}

function emptyResult(batchKey: string | null): SubmissionResult {
  return {
    batchKey,
    accepted: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    conflictsOpened: 0,
    possibleDuplicates: 0,
    rejected: [],
    warnings: [],
  }
}

/**
 * Validates and applies one department's records inside an existing transaction. Rejected records
 * are quarantined and listed; they never block the accepted ones. Returns the counts.
 */
export async function applySubmission(
  tx: TxContext,
  sub: Submission,
  opts: SubmissionOptions,
): Promise<SubmissionResult> {
  const { trx } = tx
  checkBatchKey(sub.batchKey)
  const batchKey = sub.batchKey ?? null
  const result = emptyResult(batchKey)
  const departments = new Set<string>((await trx('departments').pluck('code')) as string[])
  const rules = await loadAuthorityRules(trx)
  const { specs: extended } = await loadItemCatalogue(trx)
  const engine: EngineOptions = { rules, matchHigh: opts.matchHigh, matchLow: opts.matchLow }
  const reject = (index: number, record: RecordInput, e: ValidationError) =>
    result.rejected.push({
      index,
      // Rejections are stored and echoed: what made the record bad must not make its report unstorable.
      sourceKey: typeof record.sourceKey === 'string' ? printable(record.sourceKey) : null,
      code: e.code,
      field: e.field === null ? null : printable(e.field, 100),
      message: printable(e.message, 2000),
    })

  const prepared: PreparedRecord[] = []
  sub.records.forEach((record, index) => {
    try {
      const validated = validateRecord(sub.entityType, record, {
        extent: opts.extent,
        departments,
        maxVertices: opts.maxGeometryVertices,
        observedAtMaxSkewMs: opts.observedAtMaxSkewMs,
        now: tx.at,
        extended,
      })
      prepared.push({
        index,
        record: validated,
        attributes: record.attributes,
        geometry: record.geometry ?? null,
      })
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e
      reject(index, record, e)
    }
  })

  // PostGIS decides topology (self-intersection, holes outside their shell), in O(n log n): the
  // shape checks before it are linear, so no caller input costs quadratic time on the event loop.
  const geometryField = ENTITY_SPECS[sub.entityType].geometryField
  const withGeometry = geometryField ? prepared.filter((p) => p.record.values[geometryField] !== undefined) : []
  const invalid = new Set<number>()
  if (withGeometry.length) {
    const { rows } = await trx.raw(
      `SELECT i, ST_IsValidReason(ST_GeomFromGeoJSON(g)) AS reason FROM unnest(?::int[], ?::text[]) AS u(i, g)
        WHERE NOT ST_IsValid(ST_GeomFromGeoJSON(g))`,
      [withGeometry.map((p) => p.index), withGeometry.map((p) => JSON.stringify(p.record.values[geometryField!]))],
    )
    for (const r of rows) {
      invalid.add(r.i)
      reject(
        r.i,
        sub.records[r.i],
        new ValidationError('INVALID_GEOMETRY', 'geometry', `geometry is not valid: ${r.reason}`),
      )
    }
  }

  const accepted = prepared.filter((p) => !invalid.has(p.index))
  const applied = new Set<number>()
  for (const part of splitOnRepeats(sub.entityType, accepted)) {
    const r = await applyRecords(tx, sub.department, sub.entityType, part, engine)
    for (const o of r.outcomes) {
      result[o.result]++
      applied.add(o.index)
    }
    result.conflictsOpened += r.conflictsOpened
    result.possibleDuplicates += r.possibleDuplicates
    for (const { index, error } of r.rejected) reject(index, sub.records[index], error)
  }
  result.accepted = result.created + result.updated + result.unchanged
  // A reference that names nothing is never silent: the record is applied and the sender told.
  for (const u of await findUnresolvedReferences(
    trx,
    sub.entityType,
    accepted.filter((p) => applied.has(p.index)),
  ))
    result.warnings.push({
      index: u.index,
      sourceKey: printable(accepted.find((p) => p.index === u.index)!.record.sourceKey),
      code: 'UNRESOLVED_REFERENCE',
      field: u.field,
      message: printable(u.message, 2000),
    })
  result.rejected.sort((a, b) => a.index - b.index)

  if (result.rejected.length) {
    const rows = result.rejected.map((r) => ({
      department_code: sub.department,
      entity_type: sub.entityType,
      batch_key: batchKey,
      record_index: r.index,
      source_key: r.sourceKey,
      payload: JSON.stringify(storableJson(sub.records[r.index] ?? null)),
      code: r.code,
      field: r.field,
      message: r.message,
      received_at: tx.at,
    }))
    for (let i = 0; i < rows.length; i += 500) await trx('quarantined_records').insert(rows.slice(i, i + 500))
  }
  return result
}

/**
 * Submits one batch as its own transaction. The same batchKey from the same department is
 * applied once: a repeat returns the first result and changes nothing.
 */
export async function submitRecords(knex: Knex, sub: Submission, opts: SubmissionOptions): Promise<SubmissionResult> {
  return withTransaction(
    knex,
    { operation: 'submitRecords', departmentCode: sub.department, principalId: sub.principalId },
    async (tx) => {
      checkBatchKey(sub.batchKey)
      if (sub.batchKey) {
        const seen = await tx
          .trx('submission_batches')
          .where({ department_code: sub.department, batch_key: sub.batchKey })
          .first()
        if (seen) {
          const first = seen.result as SubmissionResult
          // Nothing is applied again: every accepted record counts as unchanged.
          return {
            ...first,
            created: 0,
            updated: 0,
            unchanged: first.accepted,
            conflictsOpened: 0,
            possibleDuplicates: 0,
            warnings: first.warnings ?? [],
          }
        }
      }
      const result = await applySubmission(tx, sub, opts)
      if (sub.batchKey)
        await tx.trx('submission_batches').insert({
          department_code: sub.department,
          batch_key: sub.batchKey,
          entity_type: sub.entityType,
          result: JSON.stringify(result),
          txid: tx.txid,
        })
      return result
    },
  )
}
