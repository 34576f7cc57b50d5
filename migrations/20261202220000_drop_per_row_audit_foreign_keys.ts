import type { Knex } from 'knex'

// The write path checked about sixty foreign keys per new person, one index probe each (bench/RESULTS.md
// "Ingest, write path"). Those to transactions(txid) and departments(code) on the per-record tables
// guard nothing the code can break: every txid written is the writer's own transaction row (inserted
// first, in the same transaction, by withTransaction), every department code was checked by the
// submission before the engine runs, and no code path deletes a transaction or a department (their
// ON DELETE actions never fire). Dropped here; the entity, source-record and claim references (whose
// cascades merges and deletions rely on) stay.
export const DROPPED: { table: string; column: string; references: string; onDelete: string }[] = [
  { table: 'entities', column: 'created_txid', references: 'transactions.txid', onDelete: 'RESTRICT' },
  { table: 'source_records', column: 'department_code', references: 'departments.code', onDelete: 'RESTRICT' },
  { table: 'source_records', column: 'txid', references: 'transactions.txid', onDelete: 'RESTRICT' },
  { table: 'claims', column: 'department_code', references: 'departments.code', onDelete: 'RESTRICT' },
  { table: 'claims', column: 'txid', references: 'transactions.txid', onDelete: 'RESTRICT' },
  { table: 'claims', column: 'superseded_txid', references: 'transactions.txid', onDelete: 'SET NULL' },
  { table: 'claims', column: 'dismissed_txid', references: 'transactions.txid', onDelete: 'SET NULL' },
  { table: 'golden_values', column: 'source_department', references: 'departments.code', onDelete: 'SET NULL' },
  { table: 'golden_values', column: 'txid', references: 'transactions.txid', onDelete: 'RESTRICT' },
]

export async function up(knex: Knex): Promise<void> {
  for (const d of DROPPED)
    await knex.raw(`ALTER TABLE ${d.table} DROP CONSTRAINT IF EXISTS ${d.table}_${d.column}_foreign`)
}

export async function down(knex: Knex): Promise<void> {
  for (const d of DROPPED) {
    const [table, column] = d.references.split('.')
    await knex.raw(
      `ALTER TABLE ${d.table} ADD CONSTRAINT ${d.table}_${d.column}_foreign FOREIGN KEY (${d.column}) REFERENCES ${table} (${column}) ON DELETE ${d.onDelete}`,
    )
  }
}
