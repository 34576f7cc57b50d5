import { createHash } from 'node:crypto'
import type { Knex } from 'knex'

export interface AccessLogEntryInput {
  at: Date
  principalId: string
  purpose: string | null
  operationName: string | null
  personIds: string[]
  fields: string[]
}

export interface DbAccessLogRow {
  id: number
  at: Date
  principal_id: string
  purpose: string | null
  operation_name: string | null
  person_ids: string[]
  fields: string[]
  prev_hash: string
  hash: string
}

// Appends are serialized by this lock so each row's prev_hash is the row before it.
const ACCESS_LOG_LOCK = 724_002

/** sha256(prev_hash + canonical JSON of the row's content), hex. Arrays are hashed sorted. */
export function chainHash(prevHash: string, e: AccessLogEntryInput): string {
  const canonical = JSON.stringify([
    new Date(e.at).toISOString(),
    e.principalId,
    e.purpose ?? null,
    e.operationName ?? null,
    [...e.personIds].sort(),
    [...e.fields].sort(),
  ])
  return createHash('sha256').update(prevHash).update(canonical).digest('hex')
}

/** Appends one entry at the end of the chain; returns its hash. */
export async function appendAccessLog(knex: Knex, e: AccessLogEntryInput): Promise<string> {
  return knex.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [ACCESS_LOG_LOCK])
    const last = await trx('access_log').select('hash').orderBy('id', 'desc').first()
    const prevHash: string = last?.hash ?? ''
    const entry = { ...e, personIds: [...e.personIds].sort(), fields: [...e.fields].sort() }
    const hash = chainHash(prevHash, entry)
    await trx('access_log').insert({
      at: entry.at,
      principal_id: entry.principalId,
      purpose: entry.purpose,
      operation_name: entry.operationName,
      person_ids: entry.personIds,
      fields: entry.fields,
      prev_hash: prevHash,
      hash,
    })
    return hash
  })
}

export type ChainVerdict = { ok: true; rows: number } | { ok: false; rows: number; brokenId: number; reason: string }

/** Walks the whole chain in id order; names the first row whose link or hash does not match. */
export async function verifyAccessLog(knex: Knex, batch = 5000): Promise<ChainVerdict> {
  let prevHash = ''
  let afterId = 0
  let rows = 0
  for (;;) {
    const page: DbAccessLogRow[] = await knex('access_log').where('id', '>', afterId).orderBy('id').limit(batch)
    if (!page.length) return { ok: true, rows }
    for (const r of page) {
      rows++
      if (r.prev_hash !== prevHash)
        return {
          ok: false,
          rows,
          brokenId: Number(r.id),
          reason: 'prev_hash does not match the previous row (a row was removed or inserted)',
        }
      const expected = chainHash(prevHash, {
        at: r.at,
        principalId: r.principal_id,
        purpose: r.purpose,
        operationName: r.operation_name,
        personIds: r.person_ids,
        fields: r.fields,
      })
      if (expected !== r.hash)
        return {
          ok: false,
          rows,
          brokenId: Number(r.id),
          reason: 'content does not match its hash (the row was changed)',
        }
      prevHash = r.hash
      afterId = Number(r.id)
    }
  }
}

/** Who read a person's data, newest first, keyset-paged on id; totalCount on demand. */
export function accessLogQuery(knex: Knex, personId: string): Knex.QueryBuilder {
  return knex('access_log').whereRaw('person_ids @> ARRAY[?]::text[]', [personId])
}
