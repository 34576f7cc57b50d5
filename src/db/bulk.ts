import type { Knex } from 'knex'

/** A column of a bulk insert and its PostgreSQL type ('jsonb' values are passed as JSON text). */
export interface BulkColumn {
  name: string
  type: 'uuid' | 'text' | 'jsonb' | 'timestamptz' | 'bigint' | 'integer' | 'double precision' | 'boolean'
}

/**
 * Inserts rows with one statement per 10,000 rows: `INSERT … SELECT FROM unnest($1::type[], …)`,
 * one array parameter per column. Next to a multi-row VALUES list this sends a handful of
 * parameters instead of rows × columns (no 65,535-parameter ceiling, far less to bind and
 * parse); it is the nearest thing to COPY that the pg driver offers without another package.
 * `tail` is appended as is (ON CONFLICT … / RETURNING …); returns the rows it returns (empty when none).
 */
export async function insertUnnest(
  trx: Knex.Transaction,
  table: string,
  columns: BulkColumn[],
  rows: Record<string, unknown>[],
  tail = '',
): Promise<any[]> {
  const out: any[] = []
  const names = columns.map((c) => `"${c.name}"`).join(', ')
  const arrays = columns.map((c) => `?::${c.type === 'jsonb' ? 'text' : c.type}[]`).join(', ')
  const selects = columns.map((c, i) => (c.type === 'jsonb' ? `c${i}::jsonb` : `c${i}`)).join(', ')
  const aliases = columns.map((_, i) => `c${i}`).join(', ')
  const sql = `INSERT INTO ${table} (${names}) SELECT ${selects} FROM unnest(${arrays}) AS u(${aliases}) ${tail}`
  for (let i = 0; i < rows.length; i += 10_000) {
    const chunk = rows.slice(i, i + 10_000)
    const params = columns.map((c) => chunk.map((r) => (r[c.name] === undefined ? null : r[c.name])))
    const result = await trx.raw(sql, params as Knex.RawBinding[])
    if (result.rows) out.push(...result.rows)
  }
  return out
}
