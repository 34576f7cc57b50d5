import type { Knex } from 'knex'

export interface ReplicaOptions {
  /** A replica further behind than this (ms) is not read from. */
  maxLagMs: number
  /** How long a read waits for a replica to replay the caller's own last write (ms), else reads the primary. */
  readYourWritesWaitMs: number
  /** How long a replica that failed is left out before it is tried again (ms). */
  retryAfterMs?: number
}

export interface ReplicaStatus {
  url: string
  up: boolean
  /** Replay lag in ms (0 when it has replayed everything it received and the primary is not ahead). */
  lagMs: number | null
  /** Bytes of WAL the primary has written that the replica has not replayed. */
  behindBytes: number | null
  error?: string
}

interface Replica {
  url: string
  knex: Knex
  downUntil: number
  status: ReplicaStatus
  checkedAt: number
}

// A replica's state is re-read at most this often per process (ms).
const CHECK_EVERY_MS = 500

/**
 * Read routing over streaming replicas: queries go to a replica that is up, within the lag bound
 * and (for a caller who wrote) has replayed that caller's last write; otherwise to the primary.
 * A replica that fails a check is left out for a while, so a lost replica costs one failed check.
 */
export class ReadReplicas {
  private readonly replicas: Replica[]
  private next = 0
  // principal id → LSN of that caller's last committed write (bounded map, oldest dropped).
  private readonly lastWrite = new Map<string, string>()

  constructor(
    readonly primary: Knex,
    replicas: { url: string; knex: Knex }[],
    private readonly opts: ReplicaOptions,
  ) {
    this.replicas = replicas.map((r) => ({
      ...r,
      downUntil: 0,
      checkedAt: 0,
      status: { url: redact(r.url), up: false, lagMs: null, behindBytes: null },
    }))
  }

  /** Remembers the primary's WAL position after a caller's write, for read-your-writes. */
  async noteWrite(principalId: string): Promise<void> {
    const { rows } = await this.primary.raw('SELECT pg_current_wal_lsn()::text AS lsn')
    this.lastWrite.delete(principalId)
    this.lastWrite.set(principalId, rows[0].lsn)
    if (this.lastWrite.size > 10_000) this.lastWrite.delete(this.lastWrite.keys().next().value!)
  }

  /**
   * The knex a query of this caller should read from: a replica that is up, within the lag
   * bound and past the caller's last write (waiting up to the bound for it); else the primary.
   */
  async forRead(principalId: string | null): Promise<Knex> {
    const lsn = principalId ? this.lastWrite.get(principalId) : undefined
    for (let i = 0; i < this.replicas.length; i++) {
      const r = this.replicas[(this.next + i) % this.replicas.length]
      if (Date.now() < r.downUntil) continue
      const status = await this.check(r)
      if (!status.up || status.lagMs === null || status.lagMs > this.opts.maxLagMs) continue
      if (lsn && !(await this.waitForReplay(r, lsn))) continue
      this.next = (this.next + i + 1) % this.replicas.length
      return r.knex
    }
    return this.primary
  }

  /** Leaves a replica out of reads for the retry period, after a read on it failed (not only at a status check). */
  markDown(knex: Knex): void {
    const r = this.replicas.find((x) => x.knex === knex)
    if (!r) return
    r.downUntil = Date.now() + (this.opts.retryAfterMs ?? 5000)
    r.status = { url: r.status.url, up: false, lagMs: null, behindBytes: null, error: 'a read on it failed' }
    r.checkedAt = Date.now()
  }

  /** Each replica's state, read now (for /readyz). */
  async status(): Promise<ReplicaStatus[]> {
    return Promise.all(this.replicas.map((r) => this.check(r, true)))
  }

  async destroy(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.knex.destroy()))
  }

  private async check(r: Replica, fresh = false): Promise<ReplicaStatus> {
    if (!fresh && Date.now() - r.checkedAt < CHECK_EVERY_MS) return r.status
    try {
      const [{ rows: p }, { rows: s }] = await Promise.all([
        this.primary.raw('SELECT pg_current_wal_lsn()::text AS lsn'),
        r.knex.raw(
          `SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replay,
             extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000 AS since_ms`,
        ),
      ])
      if (!s[0].standby || !s[0].replay) throw new Error('not a streaming standby')
      const { rows: d } = await r.knex.raw('SELECT pg_wal_lsn_diff(?::pg_lsn, ?::pg_lsn)::float8 AS behind', [
        p[0].lsn,
        s[0].replay,
      ])
      const behind = Math.max(0, Number(d[0].behind))
      // Nothing to replay: no lag, however long ago the last write was.
      const lagMs = behind === 0 ? 0 : Math.max(0, Number(s[0].since_ms ?? Number.POSITIVE_INFINITY))
      r.status = { url: r.status.url, up: true, lagMs, behindBytes: behind }
    } catch (e) {
      r.status = { url: r.status.url, up: false, lagMs: null, behindBytes: null, error: (e as Error).message }
      r.downUntil = Date.now() + (this.opts.retryAfterMs ?? 5000)
    }
    r.checkedAt = Date.now()
    return r.status
  }

  /** True once the replica has replayed past lsn, within the read-your-writes bound. */
  private async waitForReplay(r: Replica, lsn: string): Promise<boolean> {
    const until = Date.now() + this.opts.readYourWritesWaitMs
    for (;;) {
      try {
        const { rows } = await r.knex.raw('SELECT pg_last_wal_replay_lsn() >= ?::pg_lsn AS ok', [lsn])
        if (rows[0].ok) return true
      } catch {
        r.downUntil = Date.now() + (this.opts.retryAfterMs ?? 5000)
        return false
      }
      if (Date.now() >= until) return false
      await new Promise((res) => setTimeout(res, 20))
    }
  }
}

/** A URL without its password, for status output. */
function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'postgres://…'
  }
}
