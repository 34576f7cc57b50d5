/**
 * Spatial benchmark: N synthetic addresses in a real PostGIS (DATABASE_URL), then p50/p99 of
 * divisionsAt, nearestAddresses(limit 5), addresses(within a district, first 50) and
 * areaSummary(district) through GraphQL over HTTP, next to the same SQL run directly through pg,
 * as a ratio (GraphQL overhead = HTTP + parsing + validation + resolvers + serialisation).
 *
 *   DATABASE_URL=postgres://… npm run bench:spatial -- --addresses 1000000 --runs 200
 *
 * Writes the table under "## Spatial" in bench/RESULTS.md. Addresses are inserted directly with
 * generate_series (not through the engine: that is what the import benchmarks measure); districts
 * go through the engine as CAB and NRP submissions.
 */
import 'reflect-metadata'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { loadConfig } from '../src/config.js'
import { createServer } from '../src/server.js'
import { createRng } from '../src/shared/random.js'
import { AREA, loadBenchCity } from './load-city.js'
import { AREA_SUMMARY_SQL, DIVISIONS_AT_SQL, NEAREST_SQL } from '../src/spatial/spatial.store.js'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`)
  return v
}

const N = arg('addresses', 1_000_000)
const RUNS = arg('runs', 200)
// areaSummary counts a whole district per call (hundreds of ms), so it may run fewer times.
const SUMMARY_RUNS = Math.min(RUNS, arg('summary-runs', RUNS))
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null
const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) {
  console.error('DATABASE_URL must point at a real PostgreSQL + PostGIS (the benchmark writes N addresses into it)')
  process.exit(2)
}

// Bulk loading runs longer than the service's per-statement limit.
const config = loadConfig({
  STATEMENT_TIMEOUT_MS: '600000',
  RATE_LIMIT_BURST: '1000000000',
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  SEED_DEMO: 'false',
  LOG_LEVEL: 'warn',
})
const server = await createServer(config)
const knex = server.knex
const direct = new pg.Client({ connectionString: databaseUrl })
await direct.connect()

const { boundaries, total } = await loadBenchCity(knex, config, N)

const district = boundaries.features.find((f) => f.properties.code === '330106')!.geometry
const districtJson = JSON.stringify(district)
const rng = createRng('bench-spatial')
const points = Array.from({ length: RUNS }, () => [
  AREA.lon[0] + rng.float(0, 1) * (AREA.lon[1] - AREA.lon[0]),
  AREA.lat[0] + rng.float(0, 1) * (AREA.lat[1] - AREA.lat[0]),
])

async function gql(query: string, variables: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await res.json()) as { errors?: unknown[] }
  if (body.errors) throw new Error(JSON.stringify(body.errors))
}

interface Case {
  name: string
  graphql: (i: number) => Promise<void>
  sql: (i: number) => Promise<unknown>
}

const cases: Case[] = [
  {
    name: 'divisionsAt(lon, lat)',
    graphql: (i) =>
      gql('query($lon: Float!, $lat: Float!) { divisionsAt(lon: $lon, lat: $lat) { code name level } }', {
        lon: points[i][0],
        lat: points[i][1],
      }),
    sql: (i) =>
      direct.query(
        `SELECT code, name, level FROM admin_divisions WHERE id IN (${DIVISIONS_AT_SQL.replace(
          /\?/g,
          (() => {
            let k = 0
            return () => `$${++k}`
          })(),
        )})`,
        points[i],
      ),
  },
  {
    name: 'nearestAddresses(limit 5)',
    graphql: (i) =>
      gql(
        'query($lon: Float!, $lat: Float!) { nearestAddresses(lon: $lon, lat: $lat, limit: 5) { meters address { id fullText } } }',
        { lon: points[i][0], lat: points[i][1] },
      ),
    sql: (i) => {
      const [x, y] = points[i]
      const sql = `SELECT n.meters, a.id, a.full_text FROM (${NEAREST_SQL.replace(
        /\?/g,
        (() => {
          let k = 0
          return () => `$${++k}`
        })(),
      )}) n JOIN addresses a ON a.id = n.id ORDER BY n.meters`
      return direct.query(sql, [x, y, null, x, y, null, x, y, 25, 5])
    },
  },
  {
    name: 'addresses(within district, first 50)',
    graphql: () =>
      gql(
        'query($g: GeoJSON!) { addresses(filter: { within: $g }, first: 50) { nodes { id fullText location } pageInfo { hasNextPage } } }',
        { g: district },
      ),
    // As spatialPage runs it: one transaction without parallel workers.
    sql: async () => {
      await direct.query(`BEGIN`)
      await direct.query(`SELECT set_config('max_parallel_workers_per_gather', '0', true)`)
      await direct.query(
        `SELECT id, full_text, ST_AsGeoJSON(location, 7)::json FROM addresses a
        WHERE ST_Within(a.location, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) ORDER BY id LIMIT 51`,
        [districtJson],
      )
      await direct.query(`COMMIT`)
    },
  },
  {
    name: 'areaSummary(district)',
    graphql: () =>
      gql(
        'query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm residentCount legalEntityCount addressCount buildingCount } }',
        { g: district },
      ),
    sql: () => direct.query(AREA_SUMMARY_SQL.replace('?', '$1'), [districtJson]),
  },
]

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * (xs.length - 1)))]
const rows: string[] = []
for (const c of cases) {
  if (ONLY && !c.name.includes(ONLY)) continue
  const runs = c.name.startsWith('areaSummary') ? SUMMARY_RUNS : RUNS
  // Warm both paths (plans, caches), then alternate so drift affects both alike.
  for (let i = 0; i < 5; i++) {
    await c.graphql(i)
    await c.sql(i)
  }
  const g: number[] = []
  const s: number[] = []
  for (let i = 0; i < runs; i++) {
    let t = performance.now()
    await c.graphql(i)
    g.push(performance.now() - t)
    t = performance.now()
    await c.sql(i)
    s.push(performance.now() - t)
  }
  const line = `| ${c.name} | ${runs} | ${pct(g, 0.5).toFixed(2)} | ${pct(g, 0.99).toFixed(2)} | ${pct(s, 0.5).toFixed(2)} | ${pct(s, 0.99).toFixed(2)} | ${(pct(g, 0.5) / pct(s, 0.5)).toFixed(2)} |`
  console.log(line)
  rows.push(line)
}

const {
  rows: [v],
} = await direct.query(`SELECT split_part(version(), ' on ', 1) AS pg, postgis_lib_version() AS postgis`)
const section = [
  '## Spatial',
  '',
  `Command: \`DATABASE_URL=… npm run bench:spatial -- --addresses ${N} --runs ${RUNS} --summary-runs ${SUMMARY_RUNS}\` (${new Date().toISOString().slice(0, 10)})`,
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${v.pg}, PostGIS ${v.postgis}, server and database on the same host.`,
  `Data: ${N.toLocaleString('en')} synthetic addresses (${total.toLocaleString('en')} in the table) and as many persons living at them (loaded with generate_series, bypassing the engine) uniformly over ${AREA.lon.join('–')}°E × ${AREA.lat.join('–')}°N, the 13 Hangzhou district boundaries; query points drawn with a fixed seed; runs per query as in the table after 5 warm-up runs, GraphQL and SQL alternating.`,
  N < 1_000_000
    ? `Note: run with N = ${N.toLocaleString('en')} instead of the default 1,000,000 to fit the time available; scaling to 1,000,000 was not measured (areaSummary counts every point in the district, so expect it to grow about linearly with N).`
    : '',
  '',
  '| query | runs | GraphQL p50 ms | GraphQL p99 ms | SQL p50 ms | SQL p99 ms | GraphQL / SQL (p50) |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...rows,
  '',
]
  .filter((l, i, a) => l !== '' || a[i - 1] !== '')
  .join('\n')

const file = new URL('./RESULTS.md', import.meta.url)
const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n'
const replaced = /^## Spatial$/m.test(existing)
  ? existing.replace(/^## Spatial$[\s\S]*?(?=^## |(?![\s\S]))/m, `${section}\n`)
  : `${existing.trimEnd()}\n\n${section}\n`
writeFileSync(file, replaced)
console.log(`\nwritten to bench/RESULTS.md under "## Spatial"`)

await direct.end()
await server.close()
