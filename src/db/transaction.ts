import type { Knex } from 'knex'

export interface TxContext {
  trx: Knex.Transaction
  txid: number
  /** Transaction time of this write (one value for every row it stamps). */
  at: Date
}

export interface TxStamp {
  operation: string
  principalId?: string | null
  departmentCode?: string | null
  reason?: string | null
}

// One lock for every writer of golden values: it makes field_history ids follow commit order,
// so the change feed never skips a row that commits late, and two departments writing about
// the same entity at once are applied one after the other.
const GOLDEN_WRITE_LOCK = 724_001

/**
 * Runs fn in one database transaction stamped with a new txid (transactions row).
 * Returns fn's result; rolls back everything if fn throws.
 */
export async function withTransaction<T>(knex: Knex, stamp: TxStamp, fn: (tx: TxContext) => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [GOLDEN_WRITE_LOCK])
    const [row] = await trx('transactions')
      .insert({
        operation: stamp.operation,
        principal_id: stamp.principalId ?? null,
        department_code: stamp.departmentCode ?? null,
        reason: stamp.reason ?? null,
        // clock_timestamp(), not now(): taken after the lock, so times follow txid order.
        created_at: trx.raw('clock_timestamp()'),
      })
      .returning(['txid', 'created_at'])
    return fn({ trx, txid: Number(row.txid), at: new Date(row.created_at) })
  })
}
