/**
 * GIS benchmark: vector tiles z12–z16 through HTTP against the same ST_AsMVT statement run
 * directly through pg; a CQL2-filtered OGC page against the hand-written SQL of the same page and
 * against the same page selected by bbox only (OGC Part 1); areaSummary(district) through GraphQL.
 * Real PostGIS via DATABASE_URL, N synthetic addresses and persons (bench/load-city.ts).
 *
 *   DATABASE_URL=postgres://… npm run bench:gis -- --addresses 1000000 --runs 200
 *
 * The tile cache is off (TILE_CACHE_TILES=0) so that every tile is rendered: the numbers are the
 * cost of a cache miss. Writes the tables under "## GIS" in bench/RESULTS.md.
 */
import 'reflect-metadata'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { loadConfig } from '../src/config.js'
import { OGC_COLLECTIONS } from '../src/ogc/ogc.collections.js'
import { createServer } from '../src/server.js'
import { createRng } from '../src/shared/random.js'
import { tileLayer, tileProperties } from '../src/tiles/tiles.layers.js'
import { tileStatement } from '../src/tiles/tiles.store.js'
import { AREA, loadBenchCity } from './load-city.js'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`)
  return v
}
const N = arg('addresses', 1_000_000)
const RUNS = arg('runs', 200)
const SUMMARY_RUNS = Math.min(RUNS, arg('summary-runs', 20))
const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) {
  console.error('DATABASE_URL must point at a real PostgreSQL + PostGIS (the benchmark writes N addresses into it)')
  process.exit(2)
}

const config = loadConfig({
  STATEMENT_TIMEOUT_MS: '600000',
  RATE_LIMIT_BURST: '1000000000',
  ...process.env,
  TILE_CACHE_TILES: '0',
  PORT: '0',
  HOST: '127.0.0.1',
  SEED_DEMO: 'false',
  LOG_LEVEL: 'warn',
})
const server = await createServer(config)
const knex = server.knex
const direct = new pg.Client({ connectionString: databaseUrl })
await direct.connect()
const loadStarted = performance.now()
const { boundaries, total } = await loadBenchCity(knex, config, N)
const loadSeconds = (performance.now() - loadStarted) / 1000

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}
const time = async (fn: () => Promise<unknown>) => {
  const t = performance.now()
  await fn()
  return performance.now() - t
}
/** A knex raw as pg text + values (the exact statement the service runs). */
const native = (raw: { toSQL(): { toNative(): { sql: string; bindings: readonly unknown[] } } }) => {
  const n = raw.toSQL().toNative()
  return { text: n.sql, values: [...n.bindings] }
}

// ---------------------------------------------------------------- tiles
const rng = createRng('bench-gis')
const tileOf = (lon: number, lat: number, z: number) => {
  const n = 2 ** z
  const r = (lat * Math.PI) / 180
  return [
    Math.floor(((lon + 180) / 360) * n),
    Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n),
  ]
}
interface Row {
  name: string
  runs: number
  httpP50: number
  httpP99: number
  sqlP50: number
  sqlP99: number
  bytes?: number
}
const tileRows: Row[] = []
for (const [layerId, zooms] of [
  ['addresses', [14, 15, 16]],
  ['admin-divisions', [12, 13, 14, 15, 16]],
] as [string, number[]][]) {
  const layer = tileLayer(layerId)!
  for (const z of zooms) {
    const tiles = Array.from({ length: RUNS }, () =>
      tileOf(
        AREA.lon[0] + rng.float(0, 1) * (AREA.lon[1] - AREA.lon[0]),
        AREA.lat[0] + rng.float(0, 1) * (AREA.lat[1] - AREA.lat[0]),
        z,
      ),
    )
    const http: number[] = []
    const sql: number[] = []
    let bytes = 0
    for (let i = -5; i < RUNS; i++) {
      const [x, y] = tiles[Math.max(0, i)]
      const h = await time(async () => {
        const res = await fetch(`${server.url}/tiles/${layerId}/${z}/${x}/${y}.mvt`)
        const b = await res.arrayBuffer()
        if (i >= 0) bytes += b.byteLength
        if (res.status !== 200 && res.status !== 204) throw new Error(`tile ${z}/${x}/${y}: ${res.status}`)
      })
      const s = await time(() => direct.query(native(tileStatement(knex, layer, tileProperties(layer), z, x, y))))
      if (i >= 0) {
        http.push(h)
        sql.push(s)
      }
    }
    tileRows.push({
      name: `${layerId} z${z}`,
      runs: RUNS,
      httpP50: quantile(http, 0.5),
      httpP99: quantile(http, 0.99),
      sqlP50: quantile(sql, 0.5),
      sqlP99: quantile(sql, 0.99),
      bytes: Math.round(bytes / RUNS),
    })
    console.log(tileRows.at(-1))
  }
}

// ---------------------------------------------------------------- CQL2 page vs hand-written SQL
const addresses = OGC_COLLECTIONS.find((c) => c.id === 'addresses')!
const boxes = Array.from({ length: RUNS }, () => {
  const lon = AREA.lon[0] + rng.float(0, 0.9) * (AREA.lon[1] - AREA.lon[0])
  const lat = AREA.lat[0] + rng.float(0, 0.9) * (AREA.lat[1] - AREA.lat[0])
  return [lon, lat, lon + 0.02, lat + 0.02]
})
const door = (i: number) => `${(i % 9) + 1}%`
const cols = Object.entries(addresses.properties)
  .map(([p, { column }]) => `${column} AS "${p}"`)
  .join(', ')
const HAND_SQL = `SELECT id, ${cols}, ST_AsGeoJSON(location, 7)::json AS geometry FROM addresses
  WHERE location IS NOT NULL AND ST_Intersects(location, ST_MakeEnvelope($1, $2, $3, $4, 4326)) AND full_text LIKE $5
  ORDER BY id LIMIT 1000`
const HAND_COUNT = `SELECT count(*) FROM addresses WHERE location IS NOT NULL
  AND ST_Intersects(location, ST_MakeEnvelope($1, $2, $3, $4, 4326)) AND full_text LIKE $5`
const filterRows: Row[] = []
{
  const cql: number[] = []
  const bbox: number[] = []
  const hand: number[] = []
  for (let i = -5; i < RUNS; i++) {
    const b = boxes[Math.max(0, i)]
    const filter = `S_INTERSECTS(geometry, BBOX(${b.join(',')})) AND fullText LIKE '基准路${door(i)}'`
    const c = await time(async () => {
      const res = await fetch(
        `${server.url}/ogc/collections/addresses/items?${new URLSearchParams({ filter, limit: '1000' })}`,
      )
      if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`)
      await res.json()
    })
    const p = await time(async () => {
      const res = await fetch(`${server.url}/ogc/collections/addresses/items?bbox=${b.join(',')}&limit=1000`)
      await res.json()
    })
    const h = await time(async () => {
      await direct.query(HAND_SQL, [...b, `基准路${door(i)}`])
      await direct.query(HAND_COUNT, [...b, `基准路${door(i)}`])
    })
    if (i >= 0) {
      cql.push(c)
      bbox.push(p)
      hand.push(h)
    }
  }
  filterRows.push({
    name: 'CQL2 page (bbox + LIKE, limit 1000) vs hand-written SQL (page + count)',
    runs: RUNS,
    httpP50: quantile(cql, 0.5),
    httpP99: quantile(cql, 0.99),
    sqlP50: quantile(hand, 0.5),
    sqlP99: quantile(hand, 0.99),
  })
  filterRows.push({
    name: 'bbox-only page (Part 1, limit 1000) vs the same hand-written SQL',
    runs: RUNS,
    httpP50: quantile(bbox, 0.5),
    httpP99: quantile(bbox, 0.99),
    sqlP50: quantile(hand, 0.5),
    sqlP99: quantile(hand, 0.99),
  })
  console.log(filterRows)
}

// ---------------------------------------------------------------- areaSummary
const district = boundaries.features.find((f) => f.properties.code === '330106')!.geometry
const summary: number[] = []
for (let i = -2; i < SUMMARY_RUNS; i++) {
  const t = await time(async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'query($p: GeoJSON!) { areaSummary(geometry: $p) { addressCount residentCount } }',
        variables: { p: district },
      }),
    })
    const body = (await res.json()) as { errors?: unknown }
    if (body.errors) throw new Error(JSON.stringify(body.errors))
  })
  if (i >= 0) summary.push(t)
}
console.log({ areaSummaryP50: quantile(summary, 0.5) })

await direct.end()
await server.close()

// ---------------------------------------------------------------- RESULTS.md
const f = (n: number) => n.toFixed(2).padStart(8)
const table = (rows: Row[], http: string, sql: string) =>
  [
    `| case | runs | ${http} p50 ms | ${http} p99 ms | ${sql} p50 ms | ${sql} p99 ms | p99 ratio |${rows[0]?.bytes !== undefined ? ' bytes/tile |' : ''}`,
    `|---|---:|---:|---:|---:|---:|---:|${rows[0]?.bytes !== undefined ? '---:|' : ''}`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.runs} | ${f(r.httpP50)} | ${f(r.httpP99)} | ${f(r.sqlP50)} | ${f(r.sqlP99)} | ${(r.httpP99 / r.sqlP99).toFixed(2)} |${r.bytes !== undefined ? ` ${r.bytes} |` : ''}`,
    ),
  ].join('\n')
const section = [
  '## GIS',
  '',
  `Command: \`DATABASE_URL=… npm run bench:gis -- --addresses ${N} --runs ${RUNS} --summary-runs ${SUMMARY_RUNS}\` (${new Date().toISOString().slice(0, 10)})`,
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, shared with other engineers' builds and tests while it ran (loaded; absolute numbers are pessimistic, ratios are from the same run).`,
  `Data: ${N.toLocaleString('en')} synthetic addresses (${total.toLocaleString('en')} in the table) and as many persons, uniform over ${AREA.lon.join('–')}°E × ${AREA.lat.join('–')}°N (load ${loadSeconds.toFixed(0)} s in this run); tiles drawn at random over that area with a fixed seed, tile cache off (every tile rendered), 5 warm-up runs, HTTP and direct SQL alternating.`,
  '',
  '### Vector tiles: HTTP vs the same ST_AsMVT statement through pg',
  '',
  table(tileRows, 'HTTP', 'direct SQL'),
  '',
  '### CQL2 filter page vs hand-written SQL',
  '',
  table(filterRows, 'HTTP', 'hand SQL'),
  '',
  '### areaSummary(district 330106) through GraphQL',
  '',
  `p50 ${quantile(summary, 0.5).toFixed(0)} ms, p99 ${quantile(summary, 0.99).toFixed(0)} ms over ${SUMMARY_RUNS} runs (goal p50 < 200 ms).`,
  '',
].join('\n')
const path = new URL('./RESULTS.md', import.meta.url)
const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n'
const start = old.indexOf('## GIS')
const next = start >= 0 ? old.indexOf('\n## ', start + 1) : -1
const updated =
  start >= 0 ? old.slice(0, start) + section + (next >= 0 ? old.slice(next + 1) : '') : `${old.trimEnd()}\n\n${section}`
writeFileSync(path, updated)
console.log(section)
