import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'

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

/** `ENTITY_TYPE|field` of every field a department may read by an APPROVED, unexpired grant; empty without one. */
export async function grantedFields(knex: Knex, departmentCode: string): Promise<Set<string>> {
  const rows: Pick<DbSharingGrantRow, 'entity_type' | 'fields'>[] = await knex('sharing_grants')
    .select('entity_type', 'fields')
    .where({ department_code: departmentCode, status: 'APPROVED' })
    .where((q) => q.whereNull('expires_at').orWhere('expires_at', '>', knex.fn.now()))
  return new Set(rows.flatMap((r) => r.fields.map((f) => `${r.entity_type}|${f}`)))
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
