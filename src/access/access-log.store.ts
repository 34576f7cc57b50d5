import { createHash } from 'node:crypto'
import type { Knex } from 'knex'
import { AnchorWriter, readCheckpoints, type AuditAnchorConfig, type Checkpoint } from './audit-anchor.js'

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

/** The text an entry's hash covers: canonical JSON of its content, arrays sorted. */
export function canonicalEntry(e: AccessLogEntryInput): string {
  return JSON.stringify([
    new Date(e.at).toISOString(),
    e.principalId,
    e.purpose ?? null,
    e.operationName ?? null,
    [...e.personIds].sort(),
    [...e.fields].sort(),
  ])
}

/** sha256(prev_hash + canonical JSON of the row's content), hex. Arrays are hashed sorted. */
export function chainHash(prevHash: string, e: AccessLogEntryInput): string {
  return createHash('sha256').update(prevHash).update(canonicalEntry(e)).digest('hex')
}

/**
 * Appends entries, in order, at the end of the chain in ONE statement (one commit), through the
 * database function access_log_append (migration 20261202120000); returns each row's id and hash.
 */
export async function appendAccessLogGroup(
  knex: Knex,
  entries: AccessLogEntryInput[],
): Promise<Array<{ id: number; hash: string }>> {
  const payload = entries.map((e) => ({
    at: new Date(e.at).toISOString(),
    principalId: e.principalId,
    purpose: e.purpose ?? null,
    operationName: e.operationName ?? null,
    personIds: [...e.personIds].sort(),
    fields: [...e.fields].sort(),
    canonical: canonicalEntry(e),
  }))
  const r = await knex.raw('SELECT id, hash FROM access_log_append(?::jsonb)', [JSON.stringify(payload)])
  return r.rows.map((row: { id: string | number; hash: string }) => ({ id: Number(row.id), hash: row.hash }))
}

/** The chain's last row (id 0 and "" when empty). */
export async function accessLogHead(knex: Knex): Promise<{ id: number; hash: string }> {
  const last = await knex('access_log').select('id', 'hash').orderBy('id', 'desc').first()
  return last ? { id: Number(last.id), hash: last.hash } : { id: 0, hash: '' }
}

/** Appends one entry at the end of the chain (in this knex's group commit); returns its hash. */
export async function appendAccessLog(knex: Knex, e: AccessLogEntryInput): Promise<string> {
  // Inside a caller's transaction the entry commits (or rolls back) with that transaction.
  if (knex.isTransaction) return (await appendAccessLogGroup(knex, [e]))[0].hash
  return accessLogWriter(knex).append(e)
}

interface Pending {
  entry: AccessLogEntryInput
  resolve: (hash: string) => void
  reject: (err: unknown) => void
}

/**
 * Group commit of the access log. Requests that finish while a group is being committed queue
 * up and go together in the next group: one statement, one commit, one chain advance, however
 * many requests. Each request's promise resolves only after ITS group has committed (and, with
 * an anchor, after the checkpoint that covers it is on disk), so an answered read is always
 * logged; there is no timer, so an idle service adds no latency. Entries keep their arrival
 * order in the chain.
 */
export class AccessLogWriter {
  private pending: Pending[] = []
  private flushing: Promise<void> | undefined
  /** Groups committed so far (for tests and metrics). */
  groups = 0

  constructor(
    private readonly knex: Knex,
    private readonly anchor?: AnchorWriter,
    private readonly maxGroup = 1000,
  ) {}

  append(entry: AccessLogEntryInput): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.pending.push({ entry, resolve, reject })
      // setImmediate: requests finishing in the same turn of the event loop share the first group.
      this.flushing ??= new Promise<void>((done) => setImmediate(() => this.flush().finally(done)))
    })
  }

  /** Writes a checkpoint of the current head (at start, so rows from before are anchored too). */
  async anchorHead(): Promise<void> {
    if (!this.anchor) return
    const head = await accessLogHead(this.knex)
    await this.anchor.checkpoint(head.id, head.hash, true)
  }

  /** Waits for every queued entry, writes a last checkpoint, closes the anchor file. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing
    try {
      await this.anchorHead()
    } finally {
      await this.anchor?.close()
    }
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length) await this.commit(this.pending.splice(0, this.maxGroup))
    } finally {
      this.flushing = undefined
    }
  }

  private async commit(group: Pending[]): Promise<void> {
    let rows: Array<{ id: number; hash: string } | Error>
    try {
      rows = await appendAccessLogGroup(
        this.knex,
        group.map((p) => p.entry),
      )
      this.groups++
    } catch (err) {
      if (group.length === 1) rows = [err as Error]
      else {
        // One entry the database refuses must not fail the others of its group: retry one by one.
        rows = []
        for (const p of group)
          rows.push(
            await appendAccessLogGroup(this.knex, [p.entry]).then(
              (r) => r[0],
              (e) => e as Error,
            ),
          )
      }
    }
    const lastOk = rows.filter((r): r is { id: number; hash: string } => !(r instanceof Error)).at(-1)
    if (lastOk && this.anchor) {
      try {
        await this.anchor.checkpoint(lastOk.id, lastOk.hash)
      } catch (err) {
        // Fail closed: the rows are in the log, but a read the anchor does not cover is not answered.
        for (const p of group) p.reject(err)
        return
      }
    }
    group.forEach((p, i) => {
      const r = rows[i]
      if (r instanceof Error) p.reject(r)
      else p.resolve(r.hash)
    })
  }
}

const writers = new WeakMap<Knex, AccessLogWriter>()

/** The group-commit writer of this knex (made on first use, without an anchor unless opened with one). */
export function accessLogWriter(knex: Knex): AccessLogWriter {
  let w = writers.get(knex)
  if (!w) {
    w = new AccessLogWriter(knex)
    writers.set(knex, w)
  }
  return w
}

/** Opens the access log of a server: its writer, anchored when configured, with a first checkpoint. */
export async function openAccessLog(knex: Knex, anchor?: AuditAnchorConfig): Promise<AccessLogWriter> {
  const w = new AccessLogWriter(knex, anchor ? new AnchorWriter(anchor) : undefined)
  writers.set(knex, w)
  await w.anchorHead()
  return w
}

/** Drains the writer of this knex (before the knex is destroyed). */
export async function closeAccessLog(knex: Knex): Promise<void> {
  const w = writers.get(knex)
  writers.delete(knex)
  await w?.close()
}

export type ChainVerdict =
  | { ok: true; rows: number; lastId: number; checkpoints?: number; unanchoredRows?: number }
  | { ok: false; rows: number; brokenId: number; reason: string }

/**
 * Walks the whole chain in id order; names the first row whose link or hash does not match. With
 * checkpoints (from the anchor), also the first row whose hash differs from its signed checkpoint
 * (the chain was rewritten and recomputed) and a checkpoint beyond the last row (rows were removed
 * from the end).
 */
export async function verifyAccessLog(
  knex: Knex,
  options: { batch?: number; checkpoints?: Checkpoint[] } = {},
): Promise<ChainVerdict> {
  const batch = options.batch ?? 5000
  const anchored = new Map<number, string>()
  for (const c of options.checkpoints ?? []) {
    if (anchored.has(c.id) && anchored.get(c.id) !== c.hash)
      return { ok: false, rows: 0, brokenId: c.id, reason: 'two signed checkpoints disagree on this row' }
    anchored.set(c.id, c.hash)
  }
  let prevHash = ''
  let afterId = 0
  let rows = 0
  for (;;) {
    const page: DbAccessLogRow[] = await knex('access_log').where('id', '>', afterId).orderBy('id').limit(batch)
    if (!page.length) break
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
      const signed = anchored.get(Number(r.id))
      if (signed !== undefined && signed !== r.hash)
        return {
          ok: false,
          rows,
          brokenId: Number(r.id),
          reason: 'hash differs from its signed checkpoint (the chain was rewritten and recomputed)',
        }
      anchored.delete(Number(r.id))
      prevHash = r.hash
      afterId = Number(r.id)
    }
  }
  // Checkpoint 0 is the empty chain at the anchor's start; any other left over names a missing row.
  anchored.delete(0)
  if (anchored.size) {
    const missing = Math.min(...anchored.keys())
    return {
      ok: false,
      rows,
      brokenId: missing,
      reason:
        missing > afterId
          ? `a signed checkpoint names row ${missing} but the chain ends at row ${afterId} (rows were removed from the end)`
          : `a signed checkpoint names row ${missing}, which is not in the chain (a row was removed)`,
    }
  }
  if (!options.checkpoints) return { ok: true, rows, lastId: afterId }
  const lastAnchored = Math.max(0, ...options.checkpoints.map((c) => c.id))
  if (rows > 0 && options.checkpoints.length === 0)
    return { ok: false, rows, brokenId: afterId, reason: 'the anchor holds no checkpoint, yet the chain has rows' }
  const unanchoredRows = Number(
    (await knex('access_log').where('id', '>', lastAnchored).count<{ n: string }[]>({ n: '*' }))[0].n,
  )
  return { ok: true, rows, lastId: afterId, checkpoints: options.checkpoints.length, unanchoredRows }
}

/** verifyAccessLog against the signed checkpoints of an anchor file. */
export async function verifyAccessLogAnchored(
  knex: Knex,
  anchor: Pick<AuditAnchorConfig, 'file' | 'key'>,
): Promise<ChainVerdict> {
  const read = await readCheckpoints(anchor)
  if (!read.ok) return { ok: false, rows: 0, brokenId: 0, reason: read.reason }
  return verifyAccessLog(knex, { checkpoints: read.checkpoints })
}

/** Who read a person's data, newest first, keyset-paged on id; totalCount on demand. */
export function accessLogQuery(knex: Knex, personId: string): Knex.QueryBuilder {
  return knex('access_log').whereRaw('person_ids @> ARRAY[?]::text[]', [personId])
}
