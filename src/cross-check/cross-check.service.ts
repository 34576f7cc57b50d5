import type { Knex } from 'knex'
import { appendAccessLog } from '../access/access-log.store.js'
import { hasRole, type Principal } from '../access/principal.js'
import { grantedFields } from '../access/sharing.store.js'
import { maySee } from '../access/visibility.js'
import { withTransaction } from '../db/transaction.js'
import { loadAuthorityRules } from '../reconciliation/authority.store.js'
import { validateCreditCode } from '../reconciliation/rules/credit-code.js'
import { maskIdNumber, normalizeIdNumber, validateIdNumber } from '../reconciliation/rules/id-number.js'
import { checkReason } from '../reconciliation/steward.guard.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { badInput, forbidden, notFound, unauthenticated } from '../shared/errors.js'
import {
  type DbCrossCheckHitRow,
  type DbCrossCheckRow,
  type DbCrossCheckTypeRow,
  decideHit,
  findCheck,
  findHit,
  findType,
  insertCheck,
  type NewSubject,
  periodStatistics,
  type RawEvidence,
} from './cross-check.store.js'
import { ruleFields, type SubjectType } from './predicates.js'

/** Most subjects one startCrossCheck call takes (CONTRACT §8); larger lists go through the CLI. */
export const MAX_SUBJECTS_PER_CALL = 10_000

export interface SubjectInput {
  key: string
  ref?: string | null
  since?: string | null
}

const isAnonymous = (p: Principal) => p.roles.length === 0

/** Whether the key passes its check for the subject type (trimmed, upper-cased). */
export function normalizeSubjectKey(subjectType: SubjectType, key: string): { key: string; valid: boolean } {
  const k = key.trim().toUpperCase()
  if (subjectType === 'PERSON') {
    const n = normalizeIdNumber(k)
    return { key: n, valid: validateIdNumber(n).ok }
  }
  return { key: k, valid: validateCreditCode(k).ok }
}

/** YYYY-MM-DD naming a real day (2024-02-30 is not). */
function isCalendarDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false
  const d = new Date(`${s}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s
}

/** Checks the subjects and turns them into rows; throws BAD_USER_INPUT for a subject of the other type. */
export function prepareSubjects(
  type: Pick<DbCrossCheckTypeRow, 'code' | 'subject_type'>,
  subjects: SubjectInput[],
  field = 'input.subjects',
): NewSubject[] {
  const other: SubjectType = type.subject_type === 'PERSON' ? 'LEGAL_ENTITY' : 'PERSON'
  return subjects.map((s, i) => {
    if (typeof s.key !== 'string') throw badInput('key is required', `${field}[${i}].key`, 'MISSING_FIELD')
    const { key, valid } = normalizeSubjectKey(type.subject_type, s.key)
    if (!valid && normalizeSubjectKey(other, s.key).valid)
      throw badInput(
        `${key} is ${other === 'PERSON' ? 'an ID number' : 'a credit code'}; ${type.code} compares ${
          type.subject_type === 'PERSON' ? 'persons by ID number' : 'legal entities by credit code'
        }`,
        `${field}[${i}].key`,
        'INVALID_VALUE',
      )
    if (s.since !== null && s.since !== undefined && !isCalendarDate(s.since))
      throw badInput('since must be a date YYYY-MM-DD', `${field}[${i}].since`, 'INVALID_DATE')
    if (s.ref && s.ref.length > 200) throw badInput('ref is longer than 200 characters', `${field}[${i}].ref`)
    return { key, ref: s.ref ?? null, since: s.since ?? null, status: valid ? 'PENDING' : 'INVALID' }
  })
}

/** Throws unless the caller may start checks of this type: its owner department's apps, stewards, admins. */
export function assertMayStart(p: Principal, type: DbCrossCheckTypeRow): void {
  if (isAnonymous(p)) throw unauthenticated()
  if (hasRole(p, 'STEWARD', 'ADMIN')) return
  if (p.departmentCode === type.owner_code) return
  throw forbidden(`${type.code} belongs to ${type.owner_code}; only its apps, stewards and admins may start it`)
}

/** Whether the caller may read a check: its requester, the requester's department, stewards, admins, auditors. */
export function maySeeCheck(p: Principal, c: Pick<DbCrossCheckRow, 'requested_by' | 'department_code'>): boolean {
  if (isAnonymous(p)) return false
  if (hasRole(p, 'STEWARD', 'ADMIN', 'AUDITOR')) return true
  return p.id === c.requested_by || (!!p.departmentCode && p.departmentCode === c.department_code)
}

/** The type of a code; throws BAD_USER_INPUT naming `field` for an unknown one. */
export async function requireType(knex: Knex, code: string, field = 'input.type'): Promise<DbCrossCheckTypeRow> {
  const type = await findType(knex, code)
  if (!type) throw badInput(`unknown cross-check type ${code}`, field, 'INVALID_VALUE')
  return type
}

/**
 * Creates a QUEUED check of these subjects, read as of asOf (default: now). Throws BAD_USER_INPUT
 * for an unknown type, a subject of the other type, a future asOf or more than `limit` subjects,
 * and FORBIDDEN for a caller who may not start the type. The caller starts the run.
 */
export async function createCrossCheck(
  knex: Knex,
  p: Principal,
  input: { type: string; asOf?: Date | null; subjects: SubjectInput[]; purpose: string | null },
  limit: number | null = MAX_SUBJECTS_PER_CALL,
): Promise<DbCrossCheckRow> {
  if (isAnonymous(p)) throw unauthenticated()
  const type = await requireType(knex, input.type)
  assertMayStart(p, type)
  if (limit !== null && input.subjects.length > limit)
    throw badInput(
      `at most ${limit.toLocaleString('en')} subjects per call (got ${input.subjects.length.toLocaleString('en')}); use the cross-check CLI for files`,
      'input.subjects',
      'INVALID_VALUE',
    )
  if (!input.subjects.length) throw badInput('at least one subject is required', 'input.subjects', 'MISSING_FIELD')
  if (input.asOf && input.asOf.getTime() > Date.now())
    throw badInput('asOf is in the future', 'input.asOf', 'INVALID_DATE')
  const subjects = prepareSubjects(type, input.subjects)
  return knex.transaction(async (trx) => {
    // Default asOf: the database's clock, the same clock that stamps field history.
    const asOf = input.asOf ?? new Date((await trx.raw('SELECT clock_timestamp() AS t')).rows[0].t)
    return insertCheck(
      trx,
      {
        typeCode: type.code,
        subjectType: type.subject_type,
        requestedBy: p.id,
        departmentCode: p.departmentCode,
        purpose: input.purpose,
        asOf,
      },
      subjects,
    )
  })
}

/** A check the caller may see; null when unknown or not theirs. */
export async function getCrossCheck(knex: Knex, p: Principal, id: string): Promise<DbCrossCheckRow | null> {
  const c = await findCheck(knex, id)
  return c && maySeeCheck(p, c) ? c : null
}

/**
 * Decides a PENDING hit (CONFIRMED or DISMISSED, reason required), in an audited transaction.
 * Throws NOT_FOUND for a hit the caller cannot see, FORBIDDEN for a reader who may not decide,
 * BAD_USER_INPUT for PENDING, a missing reason, or a hit decided already (ALREADY_DECIDED).
 */
export async function decideCrossCheckHit(
  knex: Knex,
  p: Principal,
  input: { id: string; decision: string; reason: string | null | undefined },
): Promise<DbCrossCheckHitRow> {
  if (isAnonymous(p)) throw unauthenticated()
  if (input.decision !== 'CONFIRMED' && input.decision !== 'DISMISSED')
    throw badInput('decision must be CONFIRMED or DISMISSED', 'decision', 'INVALID_VALUE')
  const reason = checkReason(input.reason)
  if (!/^\d{1,18}$/.test(input.id)) throw notFound(`no cross-check hit ${input.id}`)
  const hit = await findHit(knex, input.id)
  const check = hit && (await findCheck(knex, hit.check_id))
  if (!hit || !check || !maySeeCheck(p, check)) throw notFound(`no cross-check hit ${input.id}`)
  // Auditors read; the requester's department and stewards/admins decide.
  const mayDecide =
    hasRole(p, 'STEWARD', 'ADMIN') ||
    p.id === check.requested_by ||
    (!!p.departmentCode && p.departmentCode === check.department_code)
  if (!mayDecide) throw forbidden('only the requesting department, stewards and admins decide hits')
  if (hit.decision !== 'PENDING') throw badInput(`the hit was ${hit.decision} already`, 'id', 'ALREADY_DECIDED')
  await withTransaction(
    knex,
    { operation: 'decideCrossCheckHit', principalId: p.id, departmentCode: p.departmentCode, reason },
    async ({ trx, txid, at }) => {
      const done = await decideHit(trx, hit.id, { decision: input.decision, reason, principalId: p.id, txid, at })
      // Someone else decided between the read and this write.
      if (!done) throw badInput('the hit was decided already', 'id', 'ALREADY_DECIDED')
    },
  )
  return (await findHit(knex, hit.id))!
}

/** A check's evidence as the reader may see it. */
export interface ShownEvidence {
  entityType: EntityTypeName
  field: string
  value: unknown
  /** True when the value was withheld (not merely masked). */
  withheld: boolean
  source: string | null
  observedAt: Date | null
  entityId: string | null
}

/** What decides visibility for one reader, loaded once and reused for every hit. */
export interface EvidenceViewer {
  principal: Principal
  rules: Awaited<ReturnType<typeof loadAuthorityRules>>
  grants: ReadonlySet<string>
}

/** The viewer of a principal (authority table and the department's grants). */
export async function evidenceViewer(knex: Knex, p: Principal): Promise<EvidenceViewer> {
  const [rules, grants] = await Promise.all([
    loadAuthorityRules(knex),
    p.departmentCode ? grantedFields(knex, p.departmentCode) : Promise.resolve(new Set<string>()),
  ])
  return { principal: p, rules, grants }
}

/**
 * Evidence as the API shows it to this viewer (CONTRACT §4): a field it may not see is
 * withheld (null), except a person's ID number, which is masked.
 */
export function showEvidence(viewer: EvidenceViewer, evidence: RawEvidence[]): ShownEvidence[] {
  return evidence.map((e) => {
    const entityType = e.entityType as EntityTypeName
    const visible = maySee(
      viewer.principal,
      entityType,
      e.field,
      viewer.rules.ruleFor(entityType, e.field, null),
      viewer.grants,
    )
    const masked = !visible && entityType === 'PERSON' && e.field === 'idNumber' && typeof e.value === 'string'
    return {
      entityType,
      field: e.field,
      value: visible ? e.value : masked ? maskIdNumber(e.value as string) : null,
      withheld: !visible && !masked,
      source: e.source,
      observedAt: e.observedAt ? new Date(e.observedAt) : null,
      entityId: e.entityId,
    }
  })
}

/** Writes one access-log entry for a read of hits (or a run): persons concerned, fields, purpose. */
export async function logCrossCheckRead(
  knex: Knex,
  entry: { principalId: string; purpose: string | null; operation: string; personIds: string[]; fields: string[] },
): Promise<void> {
  await appendAccessLog(knex, {
    at: new Date(),
    principalId: entry.principalId,
    purpose: entry.purpose,
    operationName: entry.operation,
    personIds: [...new Set(entry.personIds)],
    fields: [...new Set(entry.fields)],
  })
}

/** Person ids and fields a page of hits shows (subjects of person types and person evidence). */
export function personsInHits(
  type: DbCrossCheckTypeRow,
  hits: DbCrossCheckHitRow[],
): { personIds: string[]; fields: string[] } {
  const personIds: string[] = []
  const fields = new Set<string>()
  for (const h of hits) {
    if (type.subject_type === 'PERSON' && h.subject_entity_id) personIds.push(h.subject_entity_id)
    for (const e of h.evidence) {
      fields.add(`${e.entityType}.${e.field}`)
      if (e.entityType === 'PERSON' && e.entityId) personIds.push(e.entityId)
    }
  }
  return { personIds, fields: [...fields] }
}

/** Fields all rules of a type read (for the access log of a run). */
export function typeFields(type: DbCrossCheckTypeRow): string[] {
  return [...new Set(type.rules.flatMap((r) => ruleFields(type.subject_type, r.predicate)))]
}

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/

/**
 * Monthly figures (period of asOf) of DONE checks. Owners see their types; stewards, admins and
 * auditors all. Throws BAD_USER_INPUT for an unknown type or a period that is not YYYY-MM.
 */
export async function crossCheckStatistics(
  knex: Knex,
  p: Principal,
  filter: { type?: string | null; from?: string | null; to?: string | null },
) {
  if (isAnonymous(p)) throw unauthenticated()
  for (const f of ['from', 'to'] as const) {
    const v = filter[f]
    if (v !== null && v !== undefined && !PERIOD.test(v))
      throw badInput(`${f} must be a month YYYY-MM`, f, 'INVALID_DATE')
  }
  if (filter.type) await requireType(knex, filter.type, 'type')
  let typeCodes: string[] | null = filter.type ? [filter.type] : null
  if (!hasRole(p, 'STEWARD', 'ADMIN', 'AUDITOR')) {
    const own = (
      await knex('cross_check_types')
        .select('code')
        .where('owner_code', p.departmentCode ?? '')
    ).map((r: { code: string }) => r.code)
    typeCodes = typeCodes ? typeCodes.filter((c) => own.includes(c)) : own
  }
  if (typeCodes && !typeCodes.length) return []
  return periodStatistics(knex, { typeCodes, from: filter.from ?? null, to: filter.to ?? null })
}
