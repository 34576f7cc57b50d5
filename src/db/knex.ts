import { createHash } from 'node:crypto'
import knexFactory, { type Knex } from 'knex'
import pg from 'pg'
import { migrationSource } from '../../migrations/index.js'

// DATE columns come back as 'YYYY-MM-DD' strings, not JS Dates shifted by the local time zone.
pg.types.setTypeParser(1082, (v: string) => v)
// numeric (registered capital) as a JS number; int8 counts as numbers (they stay far below 2^53).
pg.types.setTypeParser(1700, (v: string) => Number(v))
pg.types.setTypeParser(20, (v: string) => Number(v))

export interface DbOptions {
  url: string
  /** 1 for embedded PGlite (a single session). */
  poolMax: number
  statementTimeoutMs?: number
  /**
   * Run the hot read lookups as named prepared statements (see namedStatement). Only for real
   * PostgreSQL: behind pglite-socket every connection shares PGlite's one session, so a statement
   * a closed connection prepared still exists and pg's per-connection bookkeeping would prepare
   * it again ("prepared statement already exists").
   */
  preparedStatements?: boolean
}

const preparing = new WeakSet<Knex>()

/** True when this knex was made with preparedStatements (a transaction of it: false). */
export function preparesStatements(knex: Knex): boolean {
  return preparing.has(knex)
}

/** Statement names by SQL text: the hot lookups run as prepared statements (parsed and planned once per connection). */
const statementNames = new Map<string, string>()
export const MAX_NAMED_STATEMENTS = 500

/**
 * Query options naming a statement after its text, so pg prepares it once per connection and
 * then only binds and executes it. Undefined (an unnamed statement) beyond MAX_NAMED_STATEMENTS
 * distinct texts, which bounds what each connection keeps prepared, and on a knex made without
 * preparedStatements (embedded PGlite, transactions).
 */
export function namedStatement(knex: Knex, sql: string): { name: string } | undefined {
  if (!preparesStatements(knex)) return undefined
  let name = statementNames.get(sql)
  if (!name) {
    if (statementNames.size >= MAX_NAMED_STATEMENTS) return undefined
    name = `cfd_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`
    statementNames.set(sql, name)
  }
  return { name }
}

/** A knex instance on the given database; nothing is connected until the first query. */
export function createKnex({ url, poolMax, statementTimeoutMs, preparedStatements }: DbOptions): Knex {
  const knex = knexFactory({
    client: 'pg',
    connection: statementTimeoutMs ? { connectionString: url, statement_timeout: statementTimeoutMs } : url,
    pool: { min: 0, max: poolMax, idleTimeoutMillis: 30000 },
    acquireConnectionTimeout: 20000,
    migrations: { migrationSource, tableName: 'knex_migrations' },
  })
  if (preparedStatements) preparing.add(knex)
  return knex
}

/** Runs every pending migration; returns the names applied (empty when up to date). */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = await knex.migrate.latest()
  return applied as string[]
}

/** True when the database answers and no migration is pending. */
export async function isReady(knex: Knex): Promise<boolean> {
  try {
    const [, pending] = (await knex.migrate.list()) as [unknown[], unknown[]]
    return pending.length === 0
  } catch {
    return false
  }
}
