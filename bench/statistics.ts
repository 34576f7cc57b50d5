/**
 * Benchmark of live derived statistics (`npm run bench:statistics -- --persons 1000000`).
 *
 * Loads N persons, N/5 addresses and N/10 legal entities over the 13 Hangzhou districts DIRECTLY
 * WITH SQL (generate_series into entities / addresses / persons / legal_entities): a benchmark
 * of the read path may bypass the reconciliation engine, which would take hours for 1M persons.
 * The statistics triggers (migration 20261127130100) are on during the load, so the load itself
 * fills person_counts / legal_entity_counts. Then times derivedStatistics for one district and for
 * the whole city through GraphQL over HTTP, the statement it sends (maintained counts) directly
 * with pg, and the live statement over the registers (the previous implementation, kept as the
 * reference), and prints p50/p99 and the ratios. Finally measures the triggers' write overhead:
 * inserting --write-rows persons and moving as many persons to another address, each with the
 * statistics triggers on and off (ALTER TABLE … DISABLE TRIGGER USER), inside transactions that
 * are rolled back.
 *
 * Needs a real PostgreSQL + PostGIS: BENCH_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/stats_bench). The database is DROPPED and re-created.
 */
import 'reflect-metadata'
import os from 'node:os'
import pg from 'pg'
import { seedReference } from '../seeds/reference.js'
import { loadConfig } from '../src/config.js'
import { createKnex, migrateLatest } from '../src/db/knex.js'
import { createServer } from '../src/server.js'
import { ageBandCutoffs } from '../src/statistics/derivations.js'
import { today } from '../src/statistics/statistics.service.js'
import { derivedCountsQuery } from '../src/statistics/statistics.store.js'
import { liveDerivedCountsQuery } from '../test/support/live-derived-counts.js'

const args = process.argv.slice(2)
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const PERSONS = arg('persons', 1_000_000)
const ITERATIONS = arg('iterations', 30)
const WRITE_ROWS = arg('write-rows', 100_000)
const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/stats_bench'
const DISTRICTS = [
  '330102',
  '330105',
  '330106',
  '330108',
  '330109',
  '330110',
  '330111',
  '330112',
  '330113',
  '330114',
  '330122',
  '330127',
  '330182',
]

async function recreateDatabase(): Promise<void> {
  const u = new URL(url)
  const name = u.pathname.slice(1)
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected database name ${name}`)
  u.pathname = '/postgres'
  const admin = new pg.Client({ connectionString: u.toString() })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${name}`)
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
}

async function load(): Promise<void> {
  const knex = createKnex({ url, poolMax: 1 })
  await migrateLatest(knex)
  await seedReference(knex)
  const started = Date.now()
  const addresses = Math.max(1, Math.round(PERSONS / 5))
  const entities = Math.max(1, Math.round(PERSONS / 10))
  await knex.transaction(async (trx) => {
    const [{ txid }] = await trx('transactions').insert({ operation: 'bench:statistics load' }).returning('txid')
    const codes = ['330100', ...DISTRICTS]
    await trx.raw(
      `INSERT INTO entities (id, entity_type, created_txid) SELECT md5('div' || c)::uuid, 'ADMIN_DIVISION', ? FROM unnest(?::text[]) c`,
      [txid, codes],
    )
    await trx.raw(
      `INSERT INTO admin_divisions (id, code, name, level, updated_txid)
      SELECT md5('div' || c)::uuid, c, c, CASE WHEN c = '330100' THEN 'CITY' ELSE 'DISTRICT' END, ? FROM unnest(?::text[]) c`,
      [txid, codes],
    )
    // Addresses spread over the districts' townships (…001 … …010).
    await trx.raw(
      `INSERT INTO entities (id, entity_type, created_txid) SELECT md5('addr' || i)::uuid, 'ADDRESS', ? FROM generate_series(1, ?) i`,
      [txid, addresses],
    )
    await trx.raw(
      `INSERT INTO addresses (id, full_text, normalized_text, division_key, updated_txid)
      SELECT md5('addr' || i)::uuid, 'bench address ' || i, 'BENCHADDRESS' || i,
             (?::text[])[1 + i % 13] || lpad((1 + (i / 13) % 10)::text, 3, '0'), ?
        FROM generate_series(1, ?) i`,
      [DISTRICTS, txid, addresses],
    )
    await trx.raw(
      `INSERT INTO entities (id, entity_type, created_txid) SELECT md5('p' || i)::uuid, 'PERSON', ? FROM generate_series(1, ?) i`,
      [txid, PERSONS],
    )
    await trx.raw(
      `INSERT INTO persons (id, gender, birth_date, death_date, residence_address_id, household_address_id, updated_txid)
      SELECT md5('p' || i)::uuid, CASE WHEN i % 2 = 0 THEN 'FEMALE' ELSE 'MALE' END,
             date '1925-01-01' + ((i::bigint * 7919) % 36500)::int,
             CASE WHEN i % 100 = 0 THEN date '2024-06-01' END,
             md5('addr' || (1 + (i::bigint * 31) % ?))::uuid,
             CASE WHEN i % 5 <> 0 THEN md5('addr' || (1 + (i::bigint * 17) % ?))::uuid END, ?
        FROM generate_series(1, ?) i`,
      [addresses, addresses, txid, PERSONS],
    )
    await trx.raw(
      `INSERT INTO entities (id, entity_type, created_txid) SELECT md5('le' || i)::uuid, 'LEGAL_ENTITY', ? FROM generate_series(1, ?) i`,
      [txid, entities],
    )
    await trx.raw(
      `INSERT INTO legal_entities (id, kind, status, industry_code, registered_address_id, updated_txid)
      SELECT md5('le' || i)::uuid, (ARRAY['ENTERPRISE','ENTERPRISE','ENTERPRISE','INDIVIDUAL_BUSINESS','SOCIAL_ORGANIZATION'])[1 + i % 5],
             CASE WHEN i % 10 = 0 THEN 'CANCELLED' ELSE 'ACTIVE' END,
             (ARRAY['C3911','I6513','F5123','L7212','3911','E4710'])[1 + i % 6],
             md5('addr' || (1 + (i::bigint * 13) % ?))::uuid, ?
        FROM generate_series(1, ?) i`,
      [addresses, txid, entities],
    )
  })
  await knex.raw(
    'VACUUM ANALYZE addresses, persons, legal_entities, admin_divisions, person_counts, legal_entity_counts',
  )
  console.log(
    `loaded ${PERSONS} persons, ${addresses} addresses, ${entities} legal entities in ${Math.round((Date.now() - started) / 1000)} s`,
  )
  await knex.destroy()
}

/** ms of fn inside a transaction that is rolled back, best of `runs`; statistics triggers on or off. */
async function timedRolledBack(
  client: pg.Client,
  triggers: boolean,
  sql: string,
  params: unknown[],
  runs = 3,
): Promise<number> {
  let best = Infinity
  for (let i = 0; i < runs; i++) {
    await client.query('BEGIN')
    try {
      if (!triggers)
        for (const t of ['persons', 'legal_entities', 'addresses'])
          await client.query(`ALTER TABLE ${t} DISABLE TRIGGER USER`)
      const t = process.hrtime.bigint()
      await client.query(sql, params)
      best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6)
    } finally {
      await client.query('ROLLBACK')
    }
  }
  return best
}

async function writeOverhead(client: pg.Client): Promise<string[]> {
  const addresses = Math.max(1, Math.round(PERSONS / 5))
  const insert = [
    `
    WITH e AS (INSERT INTO entities (id, entity_type, created_txid)
               SELECT md5('extra' || i)::uuid, 'PERSON', (SELECT min(txid) FROM transactions) FROM generate_series(1, $1::int) i RETURNING id)
    INSERT INTO persons (id, gender, birth_date, residence_address_id, household_address_id)
    SELECT md5('extra' || i)::uuid, CASE WHEN i % 2 = 0 THEN 'FEMALE' ELSE 'MALE' END, date '1925-01-01' + ((i::bigint * 7919) % 36500)::int,
           md5('addr' || (1 + (i::bigint * 37) % $2::int))::uuid, md5('addr' || (1 + (i::bigint * 19) % $2::int))::uuid
      FROM generate_series(1, $1::int) i`,
    [WRITE_ROWS, addresses],
  ] as const
  const move = [
    `
    UPDATE persons SET residence_address_id = md5('addr' || (1 + (i::bigint * 41) % $2::int))::uuid
      FROM generate_series(1, $1::int) i WHERE persons.id = md5('p' || i)::uuid`,
    [WRITE_ROWS, addresses],
  ] as const
  const out: string[] = []
  for (const [label, [sql, params]] of [
    [`insert ${WRITE_ROWS.toLocaleString('en')} persons`, insert],
    [`move ${WRITE_ROWS.toLocaleString('en')} persons to another address`, move],
  ] as const) {
    const off = await timedRolledBack(client, false, sql, [...params])
    const on = await timedRolledBack(client, true, sql, [...params])
    out.push(`| ${label} | ${off.toFixed(0)} | ${on.toFixed(0)} | ${(on / off).toFixed(2)} |`)
  }
  return out
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

async function time(fn: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 3; i++) await fn()
  const ms: number[] = []
  for (let i = 0; i < ITERATIONS; i++) {
    const t = process.hrtime.bigint()
    await fn()
    ms.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  ms.sort((a, b) => a - b)
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) }
}

async function main(): Promise<void> {
  await recreateDatabase()
  await load()
  const server = await createServer(
    loadConfig({
      RATE_LIMIT_BURST: '1000000000',
      ...process.env,
      DATABASE_URL: url,
      PORT: '0',
      HOST: '127.0.0.1',
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
    }),
  )
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const cutoffs = ageBandCutoffs(today())
  const rows: string[] = []
  try {
    for (const [label, code, prefix] of [
      ['district 330106', '330106', '330106'],
      ['city 330100', '330100', '3301'],
    ] as const) {
      let residents = -1
      const viaGraphQL = await time(async () => {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: `{ derivedStatistics(regionCode: "${code}") { residentCount householdRegisteredCount residentsByGender { key count } residentsByAgeBand { key count } legalEntityCount legalEntitiesByKind { key count } legalEntitiesByIndustrySection { key count } } }`,
          }),
        })
        const body = (await res.json()) as {
          data?: { derivedStatistics: { residentCount: number } }
          errors?: unknown
        }
        if (!body.data) throw new Error(JSON.stringify(body.errors))
        residents = body.data.derivedStatistics.residentCount
      })
      const native = derivedCountsQuery(server.knex, [prefix], cutoffs).toSQL().toNative()
      const direct = await time(async () => {
        await client.query(native.sql, native.bindings as unknown[])
      })
      const liveNative = liveDerivedCountsQuery(server.knex, [prefix], cutoffs).toSQL().toNative()
      const live = await time(async () => {
        await client.query(liveNative.sql, liveNative.bindings as unknown[])
      })
      rows.push(
        `| ${label} | ${residents.toLocaleString('en')} | ${viaGraphQL.p50.toFixed(1)} | ${viaGraphQL.p99.toFixed(1)} | ${direct.p50.toFixed(1)} | ${direct.p99.toFixed(1)} | ${(viaGraphQL.p50 / direct.p50).toFixed(2)} | ${live.p50.toFixed(1)} | ${live.p99.toFixed(1)} | ${(live.p50 / direct.p50).toFixed(0)} |`,
      )
    }
  } finally {
    await server.close()
  }
  let writes: string[]
  try {
    writes = await writeOverhead(client)
  } finally {
    await client.end()
  }
  const { rows: version } = await (async () => {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      return await c.query('SELECT version() AS v')
    } finally {
      await c.end()
    }
  })()
  console.log(
    `\nMachine: ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`,
  )
  console.log(`Database: ${String(version[0].v).split(',')[0]}`)
  console.log(`Command: npm run bench:statistics -- --persons ${PERSONS} (iterations ${ITERATIONS}, 3 warm-up)`)
  console.log(
    '\n| region | residents | GraphQL p50 ms | GraphQL p99 ms | SQL p50 ms | SQL p99 ms | GraphQL/SQL (p50) | live SQL p50 ms | live SQL p99 ms | live/counts SQL (p50) |\n|---|---|---|---|---|---|---|---|---|---|',
  )
  for (const r of rows) console.log(r)
  console.log(
    '\n| write (one statement, rolled back, best of 3) | triggers off ms | triggers on ms | on/off |\n|---|---|---|---|',
  )
  for (const r of writes) console.log(r)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
