import type { Knex } from 'knex'
import type { CrossCheckTypeDefinition, RuleDefinition, SqlFragment, SubjectType } from './predicates.js'

/** A cross-check type row as stored. */
export interface DbCrossCheckTypeRow {
  code: string
  name: string
  description: string
  subject_type: SubjectType
  owner_code: string
  rules: RuleDefinition[]
}

export type CrossCheckStatus = 'QUEUED' | 'RUNNING' | 'DONE' | 'FAILED'

export interface DbCrossCheckRow {
  id: string
  type_code: string
  requested_by: string
  department_code: string | null
  purpose: string | null
  as_of: Date
  status: CrossCheckStatus
  subject_count: number
  checked_count: number
  invalid_count: number
  not_found_count: number
  hit_subject_count: number
  attempts: number
  worker: string | null
  heartbeat_at: Date | null
  created_at: Date
  finished_at: Date | null
  error: string | null
}

export interface DbCrossCheckHitRow {
  id: string
  check_id: string
  ordinal: number
  rule_code: string
  evidence: RawEvidence[]
  decision: 'PENDING' | 'CONFIRMED' | 'DISMISSED'
  decided_at: Date | null
  decided_by: string | null
  reason: string | null
  /** Joined from the subject. */
  subject_key: string
  subject_ref: string | null
  subject_entity_id: string | null
}

/** One evidence item as the run wrote it (unmasked). */
export interface RawEvidence {
  entityType: string
  field: string
  value: unknown
  source: string | null
  observedAt: string | null
  entityId: string | null
}

export interface NewSubject {
  key: string
  ref: string | null
  since: string | null
  status: 'PENDING' | 'INVALID'
}

/** Every type, by code. */
export async function listTypes(knex: Knex): Promise<DbCrossCheckTypeRow[]> {
  return knex('cross_check_types').orderBy('code')
}

/** One type; undefined for an unknown code. */
export async function findType(knex: Knex, code: string): Promise<DbCrossCheckTypeRow | undefined> {
  return knex('cross_check_types').where('code', code).first()
}

/** Inserts the types that are missing; never overwrites an edited one. */
export async function insertMissingTypes(knex: Knex, types: CrossCheckTypeDefinition[]): Promise<void> {
  if (!types.length) return
  await knex('cross_check_types')
    .insert(
      types.map((t) => ({
        code: t.code,
        name: t.name,
        description: t.description,
        subject_type: t.subjectType,
        owner_code: t.ownerCode,
        rules: JSON.stringify(t.rules),
      })),
    )
    .onConflict('code')
    .ignore()
}

const SUBJECT_REGISTER: Record<SubjectType, { table: string; keyColumn: string; keyField: string }> = {
  PERSON: { table: 'persons', keyColumn: 'id_number', keyField: 'idNumber' },
  LEGAL_ENTITY: { table: 'legal_entities', keyColumn: 'credit_code', keyField: 'creditCode' },
}

// The entity holding a subject's key today, if it already held the key at asOf (a person
// registered later is not found by a check of an earlier time). Table and column names come
// from SUBJECT_REGISTER, never from input.
const holderAsOf = (subjectType: SubjectType, key: string, asOf: string) => {
  const r = SUBJECT_REGISTER[subjectType]
  return `SELECT e.id FROM ${r.table} e WHERE e.${r.keyColumn} = ${key}
      AND (SELECT h.new_value #>> '{}' FROM field_history h WHERE h.entity_id = e.id AND h.field = '${r.keyField}'
            AND h.recorded_at <= ${asOf} ORDER BY h.id DESC LIMIT 1) = ${key} LIMIT 1`
}

/**
 * Creates a QUEUED check with its subjects (in chunks), each already linked to the entity holding
 * its key at asOf (FOUND), or NOT_FOUND, or INVALID as given; returns the row.
 */
export async function insertCheck(
  trx: Knex.Transaction,
  check: {
    typeCode: string
    subjectType: SubjectType
    requestedBy: string
    departmentCode: string | null
    purpose: string | null
    asOf: Date
  },
  subjects: NewSubject[],
): Promise<DbCrossCheckRow> {
  const [row] = await trx('cross_checks')
    .insert({
      type_code: check.typeCode,
      requested_by: check.requestedBy,
      department_code: check.departmentCode,
      purpose: check.purpose,
      as_of: check.asOf,
      subject_count: subjects.length,
      invalid_count: subjects.filter((s) => s.status === 'INVALID').length,
    })
    .returning('*')
  // unnest over arrays: a handful of bindings per chunk instead of five per subject; the key is
  // resolved in the same statement (one index probe per subject, no second write of the row).
  for (let i = 0; i < subjects.length; i += 20_000) {
    const part = subjects.slice(i, i + 20_000)
    await trx.raw(
      `INSERT INTO cross_check_subjects (check_id, ordinal, key, ref, since, status, entity_id)
       SELECT ?, o - 1 + ?, k, r, s::date,
              CASE WHEN st = 'INVALID' THEN 'INVALID' WHEN e.id IS NULL THEN 'NOT_FOUND' ELSE 'FOUND' END, e.id
         FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS u(k, r, s, st, o)
         LEFT JOIN LATERAL (${holderAsOf(check.subjectType, 'u.k', 'CAST(? AS timestamptz)')}) e ON u.st <> 'INVALID'`,
      [
        row.id,
        i,
        part.map((s) => s.key),
        part.map((s) => s.ref),
        part.map((s) => s.since),
        part.map((s) => s.status),
        check.asOf,
      ],
    )
  }
  return row
}

/** One check; undefined for an unknown id. */
export async function findCheck(knex: Knex, id: string): Promise<DbCrossCheckRow | undefined> {
  return knex('cross_checks').where('id', id).first()
}

export interface CheckFilter {
  typeCode?: string
  departmentCode?: string | null
  requestedBy?: string
  /** Every check (stewards, admins, auditors); otherwise the requester's and its department's. */
  all: boolean
}

function checksQuery(knex: Knex, filter: CheckFilter): Knex.QueryBuilder {
  const q = knex('cross_checks')
  if (filter.typeCode) q.where('type_code', filter.typeCode)
  if (!filter.all)
    q.where((w) => {
      w.where('requested_by', filter.requestedBy ?? '')
      if (filter.departmentCode) w.orWhere('department_code', filter.departmentCode)
    })
  return q
}

/** Number of checks the filter selects. */
export async function countChecks(knex: Knex, filter: CheckFilter): Promise<number> {
  const [{ n }] = await checksQuery(knex, filter).count({ n: '*' })
  return Number(n)
}

/** A page of checks, newest first, keyset on (created_at, id); filters optional. */
export async function listChecks(
  knex: Knex,
  filter: CheckFilter,
  first: number,
  after: { createdAt: string; id: string } | null,
): Promise<{ rows: DbCrossCheckRow[]; hasNextPage: boolean }> {
  const q = checksQuery(knex, filter).select('*')
  if (after) q.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [after.createdAt, after.id])
  const rows = await q
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(first + 1)
  return { rows: rows.slice(0, first), hasNextPage: rows.length > first }
}

/** Confirmed and dismissed hits of each check; a check without decisions has zeros. */
export async function decisionCounts(
  knex: Knex,
  checkIds: readonly string[],
): Promise<Map<string, { confirmed: number; dismissed: number }>> {
  const rows = await knex('cross_check_hits')
    .select('check_id')
    .select(knex.raw(`count(*) FILTER (WHERE decision = 'CONFIRMED')::int AS confirmed`))
    .select(knex.raw(`count(*) FILTER (WHERE decision = 'DISMISSED')::int AS dismissed`))
    .whereIn('check_id', checkIds as string[])
    .groupBy('check_id')
  return new Map(rows.map((r: { check_id: string; confirmed: number; dismissed: number }) => [r.check_id, r]))
}

const HIT_COLUMNS = ['h.*', 's.key AS subject_key', 's.ref AS subject_ref', 's.entity_id AS subject_entity_id'] as const

/** A page of a check's hits in id order, optionally by decision; keyset on id. */
export async function listHits(
  knex: Knex,
  checkId: string,
  decision: string | null,
  first: number,
  afterId: number | null,
): Promise<{ rows: DbCrossCheckHitRow[]; hasNextPage: boolean }> {
  const q = knex('cross_check_hits as h')
    .join('cross_check_subjects as s', (j) => j.on('s.check_id', 'h.check_id').andOn('s.ordinal', 'h.ordinal'))
    .select(...HIT_COLUMNS)
    .where('h.check_id', checkId)
  if (decision) q.where('h.decision', decision)
  if (afterId !== null) q.where('h.id', '>', afterId)
  const rows = await q.orderBy('h.id').limit(first + 1)
  return { rows: rows.slice(0, first), hasNextPage: rows.length > first }
}

/** Number of a check's hits, optionally by decision. */
export async function countHits(knex: Knex, checkId: string, decision: string | null): Promise<number> {
  const q = knex('cross_check_hits').where('check_id', checkId)
  if (decision) q.where('decision', decision)
  const [{ n }] = await q.count({ n: '*' })
  return Number(n)
}

/** Every hit of a check in subject order (the CLI's CSV). */
export async function allHits(knex: Knex, checkId: string): Promise<DbCrossCheckHitRow[]> {
  return knex('cross_check_hits as h')
    .join('cross_check_subjects as s', (j) => j.on('s.check_id', 'h.check_id').andOn('s.ordinal', 'h.ordinal'))
    .select(...HIT_COLUMNS)
    .where('h.check_id', checkId)
    .orderBy(['h.ordinal', 'h.rule_code'])
}

/** One hit with its subject; undefined for an unknown id. */
export async function findHit(knex: Knex, id: string): Promise<DbCrossCheckHitRow | undefined> {
  return knex('cross_check_hits as h')
    .join('cross_check_subjects as s', (j) => j.on('s.check_id', 'h.check_id').andOn('s.ordinal', 'h.ordinal'))
    .select(...HIT_COLUMNS)
    .where('h.id', id)
    .first()
}

/** Records a decision on a PENDING hit; false when it was decided already (by anyone). */
export async function decideHit(
  trx: Knex.Transaction,
  id: string,
  d: { decision: string; reason: string; principalId: string; txid: number; at: Date },
): Promise<boolean> {
  const n = await trx('cross_check_hits').where({ id, decision: 'PENDING' }).update({
    decision: d.decision,
    reason: d.reason,
    decided_by: d.principalId,
    decided_at: d.at,
    decided_txid: d.txid,
  })
  return n === 1
}

// --- the run ---------------------------------------------------------------------------------

/**
 * Takes a check for this worker: a QUEUED one, or a RUNNING one whose worker has been silent for
 * staleMs (it died). Returns the row, or undefined when another worker holds it or it is finished.
 */
export async function claimCheck(
  knex: Knex,
  id: string,
  worker: string,
  staleMs: number,
): Promise<DbCrossCheckRow | undefined> {
  const { rows } = await knex.raw(
    `UPDATE cross_checks SET status = 'RUNNING', worker = ?, heartbeat_at = clock_timestamp(), attempts = attempts + 1
      WHERE id = ? AND (status = 'QUEUED' OR (status = 'RUNNING'
        AND (heartbeat_at IS NULL OR heartbeat_at < clock_timestamp() - ? * interval '1 millisecond')))
      RETURNING *`,
    [worker, id, staleMs],
  )
  return rows[0]
}

/** Ids of checks waiting for a worker: QUEUED, or RUNNING with a silent worker. */
export async function orphanedChecks(knex: Knex, staleMs: number): Promise<string[]> {
  const { rows } = await knex.raw(
    `SELECT id FROM cross_checks WHERE status = 'QUEUED'
        OR (status = 'RUNNING' AND (heartbeat_at IS NULL OR heartbeat_at < clock_timestamp() - ? * interval '1 millisecond'))
      ORDER BY created_at`,
    [staleMs],
  )
  return rows.map((r: { id: string }) => r.id)
}

/** Links subjects of a slice still PENDING (stored before they were resolved on insert) like insertCheck does. */
export async function resolveSubjects(
  trx: Knex.Transaction,
  subjectType: SubjectType,
  slice: { checkId: string; from: number; to: number; asOf: Date },
): Promise<void> {
  await trx.raw(
    `UPDATE cross_check_subjects s SET entity_id = e.id, status = CASE WHEN e.id IS NULL THEN 'NOT_FOUND' ELSE 'FOUND' END
       FROM cross_check_subjects s2 LEFT JOIN LATERAL (${holderAsOf(subjectType, 's2.key', 'CAST(? AS timestamptz)')}) e ON true
      WHERE s2.check_id = ? AND s2.ordinal >= ? AND s2.ordinal < ? AND s2.status = 'PENDING'
        AND s.check_id = s2.check_id AND s.ordinal = s2.ordinal`,
    [slice.asOf, slice.checkId, slice.from, slice.to],
  )
}

/** Runs one compiled rule statement. */
export async function runRuleStatement(trx: Knex.Transaction, statement: SqlFragment): Promise<void> {
  await trx.raw(statement.text, statement.bindings as Knex.RawBinding[])
}

/** Moves progress to `checked` if this worker still holds the check; false when it lost it. */
export async function recordProgress(
  trx: Knex.Transaction,
  id: string,
  worker: string,
  checked: number,
): Promise<boolean> {
  const n = await trx('cross_checks')
    .where({ id, worker, status: 'RUNNING' })
    .update({ checked_count: checked, heartbeat_at: trx.raw('clock_timestamp()') })
  return n === 1
}

/** Marks the check DONE with its final counts, if this worker still holds it. */
export async function finishCheck(knex: Knex, id: string, worker: string): Promise<boolean> {
  const n = await knex.raw(
    `UPDATE cross_checks c SET status = 'DONE', finished_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
        not_found_count = (SELECT count(*) FROM cross_check_subjects s WHERE s.check_id = c.id AND s.status = 'NOT_FOUND'),
        hit_subject_count = (SELECT count(DISTINCT h.ordinal) FROM cross_check_hits h WHERE h.check_id = c.id)
      WHERE c.id = ? AND c.worker = ? AND c.status = 'RUNNING'`,
    [id, worker],
  )
  return n.rowCount === 1
}

/** Marks the check FAILED with a reason (whoever holds it). */
export async function failCheck(knex: Knex, id: string, error: string): Promise<void> {
  await knex('cross_checks')
    .where('id', id)
    .whereIn('status', ['QUEUED', 'RUNNING'])
    .update({ status: 'FAILED', error, finished_at: knex.raw('clock_timestamp()') })
}

/** Entity ids of a check's subjects that were found (for the access log). */
export async function foundSubjectIds(knex: Knex, checkId: string): Promise<string[]> {
  const rows = await knex('cross_check_subjects')
    .select('entity_id')
    .where({ check_id: checkId, status: 'FOUND' })
    .orderBy('ordinal')
  return rows.map((r: { entity_id: string }) => r.entity_id)
}

/** Monthly figures of DONE checks by type (period of asOf, UTC), oldest first. */
export async function periodStatistics(
  knex: Knex,
  filter: { typeCodes: string[] | null; from: string | null; to: string | null },
): Promise<
  { period: string; type_code: string; subjects: number; hit_subjects: number; confirmed_subjects: number }[]
> {
  const { rows } = await knex.raw(
    `SELECT to_char(c.as_of AT TIME ZONE 'UTC', 'YYYY-MM') AS period, c.type_code,
            sum(c.subject_count)::int AS subjects, sum(c.hit_subject_count)::int AS hit_subjects,
            coalesce(sum((SELECT count(DISTINCT h.ordinal) FROM cross_check_hits h
                           WHERE h.check_id = c.id AND h.decision = 'CONFIRMED')), 0)::int AS confirmed_subjects
       FROM cross_checks c
      WHERE c.status = 'DONE' AND (?::text[] IS NULL OR c.type_code = ANY(?::text[]))
        AND (?::text IS NULL OR to_char(c.as_of AT TIME ZONE 'UTC', 'YYYY-MM') >= ?)
        AND (?::text IS NULL OR to_char(c.as_of AT TIME ZONE 'UTC', 'YYYY-MM') <= ?)
      GROUP BY 1, 2
      ORDER BY 1, 2`,
    [filter.typeCodes, filter.typeCodes, filter.from, filter.from, filter.to, filter.to],
  )
  return rows
}
