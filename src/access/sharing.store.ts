import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import { READ_CACHE_MAX_AGE_MS, ReadCache } from './read-cache.js'

export interface DbSharingGrantRow {
  id: string
  department_code: string
  entity_type: string
  fields: string[]
  purpose: string
  status: 'PENDING' | 'APPROVED' | 'REJECTED'
  expires_at: Date | null
  requested_by: string | null
  decided_by: string | null
  decided_at: Date | null
  decision_reason: string | null
  created_at: Date
}

type GrantRow = Pick<DbSharingGrantRow, 'entity_type' | 'fields' | 'expires_at'>
const approvedGrants = new ReadCache<string, GrantRow[]>(READ_CACHE_MAX_AGE_MS)

/** Forget the cached grants (after a write to sharing_grants). */
export function invalidateSharingGrants(trx?: Knex.Transaction): void {
  approvedGrants.invalidate(trx)
}

/**
 * `ENTITY_TYPE|field` of every field a department may read by an APPROVED, unexpired grant; empty
 * without one. The APPROVED grants are cached (src/access/read-cache.ts); expiry is checked on use.
 */
export async function grantedFields(knex: Knex, departmentCode: string): Promise<Set<string>> {
  // async: the cache must hold a promise, not a knex builder (each await of a builder runs it again).
  const rows = await approvedGrants.get(departmentCode, async () =>
    knex('sharing_grants').select('entity_type', 'fields', 'expires_at').where({
      department_code: departmentCode,
      status: 'APPROVED',
    }),
  )
  const now = Date.now()
  return new Set(
    rows
      .filter((r) => r.expires_at === null || new Date(r.expires_at).getTime() > now)
      .flatMap((r) => r.fields.map((f) => `${r.entity_type}|${f}`)),
  )
}

/** Stores a PENDING request; returns the row. */
export async function insertSharingRequest(
  knex: Knex,
  input: {
    departmentCode: string
    entityType: string
    fields: string[]
    purpose: string
    expiresAt: Date | null
    requestedBy: string | null
    status?: DbSharingGrantRow['status']
  },
): Promise<DbSharingGrantRow> {
  const [row] = await knex('sharing_grants')
    .insert({
      id: randomUUID(),
      department_code: input.departmentCode,
      entity_type: input.entityType,
      fields: input.fields,
      purpose: input.purpose,
      status: input.status ?? 'PENDING',
      expires_at: input.expiresAt,
      requested_by: input.requestedBy,
    })
    .returning('*')
  invalidateSharingGrants(knex.isTransaction ? (knex as Knex.Transaction) : undefined)
  return row
}

/** Decides a PENDING request; undefined when it does not exist or was decided already. */
export async function decideSharingRequestRow(
  knex: Knex,
  id: string,
  approve: boolean,
  decidedBy: string,
  reason: string | null,
): Promise<DbSharingGrantRow | undefined> {
  const [row] = await knex('sharing_grants')
    .where({ id, status: 'PENDING' })
    .update({
      status: approve ? 'APPROVED' : 'REJECTED',
      decided_by: decidedBy,
      decided_at: knex.fn.now(),
      decision_reason: reason,
    })
    .returning('*')
  invalidateSharingGrants(knex.isTransaction ? (knex as Knex.Transaction) : undefined)
  return row
}

/** One grant by id; undefined when unknown. */
export function findSharingGrant(knex: Knex, id: string): Promise<DbSharingGrantRow | undefined> {
  return knex('sharing_grants').where({ id }).first()
}

/** Grants and requests, newest first; all departments when departmentCode is null. */
export function listSharingGrants(knex: Knex, departmentCode: string | null): Promise<DbSharingGrantRow[]> {
  const q = knex('sharing_grants').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }])
  if (departmentCode) q.where('department_code', departmentCode)
  return q
}
