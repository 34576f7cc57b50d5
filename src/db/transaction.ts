import { createHash } from 'node:crypto'
import type { Knex } from 'knex'
import { retryableError } from '../shared/errors.js'

export interface TxContext {
  trx: Knex.Transaction
  txid: number
  /** Transaction time of this write (one value for every row it stamps). */
  at: Date
  /** Locks this transaction holds (lockKeys, lockEntities): keeps them in one global order. */
  locks?: LockSet
}

export interface TxStamp {
  operation: string
  principalId?: string | null
  departmentCode?: string | null
  reason?: string | null
}

/**
 * Locks of one transaction, in one global order: advisory keys (class 0, by 64-bit hash) before
 * entity rows (class 1, by id). A transaction waits only for a lock above every lock it holds;
 * one below is only tried, and if another writer has it the whole transaction is retried from the
 * start. No writer ever waits for a lower lock while holding a higher one, so writers cannot
 * deadlock on these locks.
 */
export class LockSet {
  readonly held = new Set<string>()
  /** Highest lock held, as a sortable string (class + fixed-width key). */
  max = ''
}

/** Thrown when a lock below the held ones is taken by another writer: withTransaction retries. */
export class LockOrderRetry extends Error {
  constructor() {
    super('a lock below those held is taken; the transaction is retried')
  }
}

const SIGN = 2n ** 63n

/** The advisory-lock number of a key: 64 bits of its SHA-1, the same in every process. */
export function lockNumber(key: string): bigint {
  return createHash('sha1').update(key).digest().readBigInt64BE(0)
}

// Sort keys: class digit, then the key made unsigned and fixed-width so string order is number order.
function advisorySortKey(n: bigint): string {
  return `0${(n + SIGN).toString(16).padStart(16, '0')}`
}
function entitySortKey(id: string): string {
  return `1${id.toLowerCase()}`
}

/** Splits wanted locks (sorted) into those to wait for (above every held one) and those only to try. */
function plan<T>(locks: LockSet, wanted: { sort: string; value: T }[]): { wait: T[]; attempt: T[] } {
  const fresh = [...new Map(wanted.map((w) => [w.sort, w])).values()]
    .filter((w) => !locks.held.has(w.sort))
    .sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0))
  const wait: T[] = []
  const attempt: T[] = []
  for (const w of fresh) (w.sort > locks.max ? wait : attempt).push(w.value)
  return { wait, attempt }
}

function locksOf(tx: TxContext): LockSet {
  tx.locks ??= new LockSet()
  return tx.locks
}

function record(locks: LockSet, sorts: string[]): void {
  for (const s of sorts) {
    locks.held.add(s)
    if (s > locks.max) locks.max = s
  }
}

/**
 * Takes a transaction-scoped advisory lock on each key (e.g. `PERSON:id_number:330…`, a natural
 * key) in the global order; `shared` takes them in shared mode (many holders, none exclusive).
 * Returns when all are held; throws LockOrderRetry (handled by withTransaction) when one below
 * the held locks is busy. Keys already held are free.
 */
export async function lockKeys(tx: TxContext, keys: string[], opts: { shared?: boolean } = {}): Promise<void> {
  if (!keys.length) return
  const mode = opts.shared ? 's' : 'x'
  const [take, tryTake] = opts.shared
    ? ['pg_advisory_xact_lock_shared', 'pg_try_advisory_xact_lock_shared']
    : ['pg_advisory_xact_lock', 'pg_try_advisory_xact_lock']
  const locks = locksOf(tx)
  const wanted = keys.map((k) => {
    const n = lockNumber(k)
    return { sort: advisorySortKey(n) + mode, value: n }
  })
  const { wait, attempt } = plan(locks, wanted)
  if (attempt.length) {
    const { rows } = await tx.trx.raw(`SELECT bool_and(${tryTake}(n)) AS ok FROM unnest(?::bigint[]) AS u(n)`, [
      attempt.map(String),
    ])
    if (!rows[0].ok) throw new LockOrderRetry()
  }
  if (wait.length)
    // WITH ORDINALITY + ORDER BY: the locks are taken in the order given.
    await tx.trx.raw(
      `SELECT count(${take}(n)) FROM (SELECT n FROM unnest(?::bigint[]) WITH ORDINALITY AS u(n, o) ORDER BY o) s`,
      [wait.map(String)],
    )
  record(
    locks,
    [...attempt, ...wait].map((n) => advisorySortKey(n) + mode),
  )
}

/**
 * Locks the given entities' rows (FOR NO KEY UPDATE: foreign keys to them still insert freely)
 * in the global order, so two writers about one entity are applied one after the other and
 * writers about disjoint entities run at once. Unknown ids are ignored; throws LockOrderRetry
 * like lockKeys.
 */
export async function lockEntities(tx: TxContext, ids: string[]): Promise<void> {
  if (!ids.length) return
  const locks = locksOf(tx)
  const { wait, attempt } = plan(
    locks,
    ids.map((id) => ({ sort: entitySortKey(id), value: id.toLowerCase() })),
  )
  if (attempt.length) {
    try {
      // NOWAIT: a busy row aborts this attempt (withTransaction starts it anew) instead of waiting out of order.
      await tx.trx.raw('SELECT id FROM entities WHERE id = ANY(?::uuid[]) ORDER BY id FOR NO KEY UPDATE NOWAIT', [
        attempt,
      ])
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') throw new LockOrderRetry()
      throw e
    }
  }
  for (let i = 0; i < wait.length; i += 5000)
    await tx.trx.raw('SELECT id FROM entities WHERE id = ANY(?::uuid[]) ORDER BY id FOR NO KEY UPDATE', [
      wait.slice(i, i + 5000),
    ])
  record(locks, [...attempt, ...wait].map(entitySortKey))
}

// PostgreSQL errors after which running the whole transaction again is safe and may succeed.
const RETRY_SQLSTATES = new Set(['40001', '40P01'])
const MAX_ATTEMPTS = 5

/** True for an error withTransaction retries (lock order, deadlock, serialization failure). */
function retriable(e: unknown): boolean {
  return e instanceof LockOrderRetry || RETRY_SQLSTATES.has((e as { code?: string })?.code ?? '')
}

/** Options of a write: how long to wait for another writer's lock (ms) before a coded, retryable error. */
export interface WriteOptions {
  lockTimeoutMs?: number
}

/** Default wait for another writer's lock: beyond it the caller gets a retryable error, not a hang. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000

/**
 * Runs fn in one database transaction stamped with a new txid (transactions row).
 * Returns fn's result; rolls back everything if fn throws. Writers lock only what they touch
 * (lockEntities, lockKeys); a transaction that lost a lock race is run again (fn must do its
 * non-database effects last). Waiting longer than the lock timeout for another writer, or
 * losing the database mid-write, throws a coded retryable error (nothing was applied).
 */
export async function withTransaction<T>(
  knex: Knex,
  stamp: TxStamp,
  fn: (tx: TxContext) => Promise<T>,
  opts: WriteOptions = {},
): Promise<T> {
  const lockTimeout = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  for (let attempt = 1; ; attempt++) {
    try {
      return await knex.transaction(async (trx) => {
        await trx.raw(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeout))}`)
        const [row] = await trx('transactions')
          .insert({
            operation: stamp.operation,
            principal_id: stamp.principalId ?? null,
            department_code: stamp.departmentCode ?? null,
            reason: stamp.reason ?? null,
            created_at: trx.raw('clock_timestamp()'),
          })
          .returning(['txid', 'created_at'])
        return fn({ trx, txid: Number(row.txid), at: new Date(row.created_at), locks: new LockSet() })
      })
    } catch (e) {
      if (retriable(e) && attempt < MAX_ATTEMPTS) {
        // Jitter, so two writers that collided do not collide again in step.
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 20 * attempt)))
        continue
      }
      throw asRetryable(e) ?? e
    }
  }
}

/**
 * The coded, retryable error for a write that did not happen for a passing reason: another
 * writer held a lock past the timeout, repeated lock races, or the database connection was lost
 * (failover, restart). Null for any other error.
 */
export function asRetryable(e: unknown): Error | null {
  const code = (e as { code?: string })?.code ?? ''
  if (code === '55P03' || retriable(e))
    return retryableError('WRITE_BUSY', 'another write holds the records this one needs; retry shortly', 1)
  // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 08xxx connection failures,
  // 25006 read-only transaction (a standby promoted elsewhere, this one demoted).
  if (
    /^(57P0[123]|08...|25006)$/.test(code) ||
    /Connection terminated|ECONNREFUSED|ECONNRESET|terminating connection/.test(String((e as Error)?.message ?? ''))
  )
    return retryableError(
      'DATABASE_UNAVAILABLE',
      'the database is not reachable; nothing was applied, retry shortly',
      2,
    )
  return null
}
