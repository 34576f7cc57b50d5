import type { Knex } from 'knex'
import { decodeCursor } from '../shared/cursor.js'
import { badInput } from '../shared/errors.js'
import { UUID } from '../shared/ids.js'

/** A conflict as stored: a steward's work item on one field (or a possible duplicate pair). */
export interface ConflictRecord {
  id: string
  kind: string
  status: string
  entityType: string
  entityId: string
  otherEntityId: string | null
  field: string | null
  authorityCode: string | null
  matchScore: number | null
  openedAt: Date
  resolvedAt: Date | null
  resolvedById: string | null
  decision: string | null
  reason: string | null
  note: string | null
  reportedByCode: string | null
  suggestedValue: unknown
}

/** One department's claimed value, as a conflict's candidate. */
export interface ClaimRecord {
  departmentCode: string
  value: unknown
  sourceKey: string | null
  observedAt: Date | null
  recordedAt: Date
}

export function toConflict(r: Record<string, any>): ConflictRecord {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    entityType: r.entity_type,
    entityId: r.entity_id,
    otherEntityId: r.other_entity_id,
    field: r.field,
    authorityCode: r.authority,
    matchScore: r.match_score,
    openedAt: r.opened_at,
    resolvedAt: r.resolved_at,
    resolvedById: r.resolved_by,
    decision: r.decision,
    reason: r.reason,
    note: r.note,
    reportedByCode: r.reported_by,
    suggestedValue: r.suggested_value,
  }
}

/** One conflict by id; undefined when there is none. */
export async function findConflict(db: Knex | Knex.Transaction, id: string): Promise<ConflictRecord | undefined> {
  const row = await db('conflicts').where('id', id).first()
  return row ? toConflict(row) : undefined
}

/** Conflicts that involve an entity (as subject or as the other side of a duplicate), newest first. */
export async function conflictsOfEntity(
  knex: Knex,
  entityId: string,
  status?: string | null,
): Promise<ConflictRecord[]> {
  const q = knex('conflicts')
    .where((w) => w.where('entity_id', entityId).orWhere('other_entity_id', entityId))
    .orderBy('opened_at', 'desc')
  if (status) q.where('status', status)
  return (await q).map(toConflict)
}

/** Fields of an entity with a conflict open at `asOf` (opened by then, not yet resolved then). */
export async function fieldsUnderInvestigationAsOf(knex: Knex, entityId: string, asOf: Date): Promise<Set<string>> {
  const rows = await knex('conflicts')
    .select('field')
    .where('entity_id', entityId)
    .whereNotNull('field')
    .where('opened_at', '<=', asOf)
    .where((w) => w.whereNull('resolved_at').orWhere('resolved_at', '>', asOf))
  return new Set(rows.map((r: { field: string }) => r.field))
}

/** For each entity, the fields with an open conflict or error report, in the order of `ids`. */
export async function openConflictFieldsOf(knex: Knex, ids: readonly string[]): Promise<Set<string>[]> {
  const rows: { entity_id: string; field: string }[] = await knex('conflicts')
    .select('entity_id', 'field')
    .whereIn('entity_id', ids as string[])
    .where('status', 'OPEN')
    .whereNotNull('field')
  const byEntity = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]))
  for (const r of rows) byEntity.get(r.entity_id)?.add(r.field)
  return ids.map((id) => byEntity.get(id) ?? new Set())
}

/** Candidate claims of a conflict, oldest first (an error report's suggestion is not a claim). */
export async function conflictCandidates(knex: Knex, conflictId: string): Promise<ClaimRecord[]> {
  const rows = await knex('conflict_candidates as cc')
    .join('claims as c', 'c.id', 'cc.claim_id')
    .where('cc.conflict_id', conflictId)
    .orderBy('c.id')
    .select('c.department_code', 'c.value', 'c.source_key', 'c.observed_at', 'c.recorded_at')
  return rows.map((r: Record<string, any>) => ({
    departmentCode: r.department_code,
    value: r.value,
    sourceKey: r.source_key,
    observedAt: r.observed_at,
    recordedAt: r.recorded_at,
  }))
}

export interface ConflictFilterInput {
  status?: string | null
  kind?: string | null
  entityType?: string | null
  field?: string | null
  authority?: string | null
  department?: string | null
  /** Division code (district or township): the entity's address lies in it. */
  district?: string | null
  /** Opened before this instant (the queue's age filter). */
  openedBefore?: Date | null
}

/** Conflicts matching the filter, as a query on `conflicts k` (no order, no limit). */
export function conflictQuery(knex: Knex, filter: ConflictFilterInput | null | undefined): Knex.QueryBuilder {
  const q = knex('conflicts as k')
  if (filter?.status) q.where('k.status', filter.status)
  if (filter?.kind) q.where('k.kind', filter.kind)
  if (filter?.entityType) q.where('k.entity_type', filter.entityType)
  if (filter?.field) q.where('k.field', filter.field)
  if (filter?.authority) q.where('k.authority', filter.authority)
  // A department's inbox: conflicts on its data (authority) or that its own claims or reports are part of.
  if (filter?.department)
    q.where((w) =>
      w
        .where('k.authority', filter.department!)
        .orWhere('k.reported_by', filter.department!)
        .orWhereExists(
          knex('conflict_candidates as cc')
            .join('claims as c', 'c.id', 'cc.claim_id')
            .whereRaw('cc.conflict_id = k.id')
            .where('c.department_code', filter.department!),
        ),
    )
  if (filter?.openedBefore) q.where('k.opened_at', '<', filter.openedBefore)
  // Where the entity is (either one of a duplicate pair): a person's residence (else household)
  // address, a legal entity's registered address, an address itself; by division code prefix
  // (a district code takes in its townships).
  if (filter?.district) {
    const prefix = `${filter.district.replace(/[%_\\]/g, '')}%`
    q.whereExists(
      knex('addresses as a')
        .where('a.division_key', 'like', prefix)
        .where((w) =>
          w
            .whereRaw('a.id IN (k.entity_id, k.other_entity_id)')
            .orWhereExists(
              knex('persons as p')
                .whereRaw('p.id IN (k.entity_id, k.other_entity_id)')
                .whereRaw('a.id = coalesce(p.residence_address_id, p.household_address_id)'),
            )
            .orWhereExists(
              knex('legal_entities as l')
                .whereRaw('l.id IN (k.entity_id, k.other_entity_id)')
                .whereRaw('a.id = l.registered_address_id'),
            ),
        ),
    )
  }
  return q
}

/** Counts of the conflicts matching a filter, by kind, entity type, field and authority (one scan). */
export async function conflictCounts(knex: Knex, filter: ConflictFilterInput | null | undefined) {
  const rows: {
    kind: string | null
    entity_type: string | null
    field: string | null
    authority: string | null
    n: string
    g: number
  }[] = await conflictQuery(knex, filter)
    .select(
      'k.kind',
      'k.entity_type',
      'k.field',
      'k.authority',
      knex.raw('count(*) AS n'),
      knex.raw('GROUPING(k.kind, k.entity_type, k.field, k.authority) AS g'),
    )
    .groupByRaw('GROUPING SETS ((), (k.kind), (k.entity_type), (k.field), (k.authority))')
  const by = (bits: number, key: 'kind' | 'entity_type' | 'field' | 'authority') =>
    rows
      .filter((r) => Number(r.g) === bits)
      .map((r) => ({ key: r[key], count: Number(r.n) }))
      .sort((a, b) => b.count - a.count || String(a.key).localeCompare(String(b.key)))
  // GROUPING() sets a bit for each column not grouped on: kind is bit 3 … authority bit 0.
  return {
    total: Number(rows.find((r) => Number(r.g) === 15)?.n ?? 0),
    byKind: by(0b0111, 'kind'),
    byEntityType: by(0b1011, 'entity_type'),
    byField: by(0b1101, 'field'),
    byAuthority: by(0b1110, 'authority'),
  }
}

// opened_at printed to the microsecond in UTC: the exact keyset value (a JS Date keeps milliseconds only).
const OPENED_KEY = `to_char(k.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
const OPENED_KEY_FORMAT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

/**
 * A keyset page of conflicts, oldest first: ordered by (opened_at, id); the cursor key is
 * [opened_at to the microsecond, id]. Throws BAD_USER_INPUT (field after) for any other cursor.
 */
export async function conflictPage(
  knex: Knex,
  filter: ConflictFilterInput | null | undefined,
  first: number,
  after: string | null | undefined,
) {
  const key = decodeCursor(after)
  const q = conflictQuery(knex, filter).select('k.*', knex.raw(`${OPENED_KEY} AS opened_key`))
  if (key) {
    const [at, id] = key
    if (
      key.length !== 2 ||
      typeof at !== 'string' ||
      !OPENED_KEY_FORMAT.test(at) ||
      Number.isNaN(Date.parse(at)) ||
      new Date(at).toISOString().slice(0, 19) !== at.slice(0, 19) ||
      typeof id !== 'string' ||
      !UUID.test(id)
    )
      throw badInput('after is not a cursor this service issued', 'after')
    q.whereRaw('(k.opened_at, k.id) > (?::timestamptz, ?::uuid)', [at, id])
  }
  const rows = await q.orderBy([{ column: 'k.opened_at' }, { column: 'k.id' }]).limit(first + 1)
  const page = rows.slice(0, first) as Record<string, any>[]
  const keyOf = new Map(page.map((r) => [r.id as string, [r.opened_key as string, r.id as string]]))
  return { items: page.map(toConflict), hasNextPage: rows.length > first, keyOf }
}
