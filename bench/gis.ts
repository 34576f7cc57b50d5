/**
 * GIS benchmark: vector tiles z12–z16 through HTTP against the same ST_AsMVT statement run
 * directly through pg; a CQL2-filtered OGC page against the hand-written SQL of the same page and
 * against the same page selected by bbox only (OGC Part 1); areaSummary(district) through GraphQL.
 * Real PostGIS via DATABASE_URL, N synthetic addresses and persons, N/4 buildings and a grid of
 * 53,400 parcels (bench/load-city.ts).
 *
 *   DATABASE_URL=postgres://… npm run bench:gis -- --addresses 1000000 --runs 200
 *
 * The service runs as `npm start` runs it, compiled, in its own process (bench/service-process.ts);
 * this process loads the city, drives the requests and runs the direct statements.
 * The tile cache is off (TILE_CACHE_TILES=0) so that every tile is rendered: the numbers are the
 * cost of a cache miss. HTTP: a kept-alive node:http GET (httpGet) → the service's front dispatcher → the tile store's statement
 * through knex as a named prepared statement (PREPARED_STATEMENTS, on by default), tile decoded
 * from base64, ETag, reply. Direct: the same statement text, values and name through one pg client
 * (so also prepared once), result not decoded. Writes the tables under "## GIS" in bench/RESULTS.md.
 */
import 'reflect-metadata'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import type { Knex } from 'knex'
import pg from 'pg'
import { loadConfig } from '../src/config.js'
import { OGC_COLLECTIONS } from '../src/ogc/ogc.collections.js'
import { createKnex, migrateLatest } from '../src/db/knex.js'
import { seedReference } from '../seeds/reference.js'
import { createRng } from '../src/shared/random.js'
import { tileLayer, tileProperties } from '../src/tiles/tiles.layers.js'
import { tileStatement } from '../src/tiles/tiles.store.js'
import { areaSummary } from '../src/spatial/spatial.store.js'
import { liveAreaSummary } from '../test/support/live-area-summary.js'
import { AREA, PARCEL_CELL, TAG, loadBenchCity } from './load-city.js'
import { httpGet, startServiceProcess, waitForLine } from './service-process.js'

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
// The bench's own knex, made as the service makes its own (prepared statements on): it loads the
// city, compiles the tile statements the service runs and times the store's areaSummary statement.
const knex = createKnex({
  url: databaseUrl,
  poolMax: 4,
  statementTimeoutMs: config.statementTimeoutMs,
  preparedStatements: config.preparedStatements,
})
await migrateLatest(knex)
// Departments and authority rules: the city is loaded as CAB and NRP submissions.
await seedReference(knex)
const direct = new pg.Client({ connectionString: databaseUrl })
await direct.connect()
const loadAtStart = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' / ')
const loadStarted = performance.now()
const { boundaries, total } = await loadBenchCity(knex, config, N)
const loadSeconds = (performance.now() - loadStarted) / 1000
const service = await startServiceProcess({
  DATABASE_URL: databaseUrl,
  STATEMENT_TIMEOUT_MS: String(config.statementTimeoutMs),
  TILE_CACHE_TILES: '0',
})
const server = { url: service.origin }

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}
const time = async (fn: () => Promise<unknown>) => {
  const t = performance.now()
  await fn()
  return performance.now() - t
}
/**
 * A knex raw as pg text + values + statement name: the exact statement the service runs, sent the
 * same way (the service's knex prepares statements, so the tile statement is a named prepared
 * statement on both sides: parsed and planned once per connection, then bound and executed).
 */
const native = (raw: Knex.Raw) => {
  const q = raw.toSQL()
  const n = q.toNative()
  const name = (q.options as { name?: string } | undefined)?.name
  return { text: n.sql, values: [...n.bindings], ...(name ? { name } : {}) }
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
  ['addresses', [15, 16]],
  ['admin-divisions', [12, 13, 14, 15, 16]],
  ['buildings', [13, 14, 15, 16]],
  ['parcels', [12, 13, 14, 15, 16]],
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
      const viaHttp = () =>
        time(async () => {
          const res = await httpGet(`${server.url}/tiles/${layerId}/${z}/${x}/${y}.mvt`)
          if (i >= 0) bytes += res.body.byteLength
          if (res.status !== 200 && res.status !== 204) throw new Error(`tile ${z}/${x}/${y}: ${res.status}`)
        })
      const viaSql = () => time(() => direct.query(native(tileStatement(knex, layer, tileProperties(layer), z, x, y))))
      // Whichever reads a tile first reads its pages from disk or the OS cache, the second from
      // shared buffers (~0.8 ms of a 75 KB address tile's 7–10 ms): the order alternates per tile.
      let h: number
      let s: number
      if (i % 2 === 0) {
        h = await viaHttp()
        s = await viaSql()
      } else {
        s = await viaSql()
        h = await viaHttp()
      }
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

// ---------------------------------------------------------------- the HTTP floor
// A bare node:http server in its own process answering a fixed body, timed with the same client:
// what any HTTP round trip costs on this machine, before the service does anything.
const floorProc = spawn(
  process.execPath,
  [
    '-e',
    `const b = { s: Buffer.alloc(211, 1), l: Buffer.alloc(74687, 1) };
     const srv = require('node:http').createServer((req, res) => {
       const body = req.url === '/l' ? b.l : b.s;
       res.writeHead(200, { 'content-type': 'application/vnd.mapbox-vector-tile', 'content-length': body.length }).end(body);
     });
     srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));`,
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
)
const floorPort = (await waitForLine(floorProc, /port (\d+)/, 'the bare HTTP server'))[1]
const floorRows: { name: string; p50: number; p99: number }[] = []
for (const [name, path] of [
  ['bare node:http, 211-byte body (a division tile)', '/s'],
  ['bare node:http, 74,687-byte body (an address tile at z15)', '/l'],
] as const) {
  const xs: number[] = []
  for (let i = -5; i < RUNS; i++) {
    const ms = await time(() => httpGet(`http://127.0.0.1:${floorPort}${path}`))
    if (i >= 0) xs.push(ms)
  }
  floorRows.push({ name, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) })
}
floorProc.kill('SIGTERM')
console.log(floorRows)

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
    const viaCql = () =>
      time(async () => {
        const res = await httpGet(
          `${server.url}/ogc/collections/addresses/items?${new URLSearchParams({ filter, limit: '1000' })}`,
        )
        if (res.status !== 200) throw new Error(`${res.status} ${res.body.toString()}`)
        JSON.parse(res.body.toString())
      })
    const viaBbox = () =>
      time(async () => {
        const res = await httpGet(`${server.url}/ogc/collections/addresses/items?bbox=${b.join(',')}&limit=1000`)
        if (res.status !== 200) throw new Error(`${res.status} ${res.body.toString()}`)
        JSON.parse(res.body.toString())
      })
    const viaHand = () =>
      time(async () => {
        await direct.query(HAND_SQL, [...b, `基准路${door(i)}`])
        await direct.query(HAND_COUNT, [...b, `基准路${door(i)}`])
      })
    // The first of the three to read a box reads its pages cold: the order rotates per box.
    const timed: Record<string, number> = {}
    const order = [
      ['c', viaCql],
      ['p', viaBbox],
      ['h', viaHand],
    ] as const
    for (let k = 0; k < 3; k++) {
      const [name, fn] = order[(k + (i + 6)) % 3]
      timed[name] = await fn()
    }
    const { c, p, h } = timed
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
// The migration filled address_counts in one statement; vacuum and analyze it before timing, as
// autovacuum would soon after.
await direct.query('VACUUM ANALYZE address_counts')
// After: areaSummary through GraphQL (maintained per-address counts, quadtree cover). Before: the
// live statement the service ran until migration 20261202190000 (test/support/live-area-summary.ts),
// directly through pg. The two alternate; the answers must agree.
const district = boundaries.features.find((f) => f.properties.code === '330106')!.geometry
const summary: number[] = []
const summaryBuildings: number[] = []
const summarySql: number[] = []
const live: number[] = []
const answers: { kept: unknown; live: unknown } = { kept: null, live: null }
let graphqlAddresses = -1
let graphqlBuildings = -1
let liveBuildings = -2
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
    const body = (await res.json()) as { errors?: unknown; data?: { areaSummary: { addressCount: number } } }
    if (body.errors) throw new Error(JSON.stringify(body.errors))
    // Anonymous: residentCount is rounded (disclosure rules); addressCount is exact.
    graphqlAddresses = body.data!.areaSummary.addressCount
  })
  // The same with buildingCount (maintained per enclosing cell, migration 20261204100000; only the
  // boundary's and the coarse cells' buildings are tested), checked against the live count below.
  const tb = await time(async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'query($p: GeoJSON!) { areaSummary(geometry: $p) { addressCount residentCount buildingCount } }',
        variables: { p: district },
      }),
    })
    const body = (await res.json()) as { errors?: unknown; data?: { areaSummary: { buildingCount: number } } }
    if (body.errors) throw new Error(JSON.stringify(body.errors))
    graphqlBuildings = body.data!.areaSummary.buildingCount
  })
  const s = await time(async () => {
    const r = await areaSummary(knex, district, undefined, { countBuildings: false })
    answers.kept = {
      addressCount: r.addressCount,
      residentCount: r.residentCount,
      legalEntityCount: r.legalEntityCount,
    }
  })
  const l = await time(async () => {
    const r = await liveAreaSummary(knex, district)
    answers.live = {
      addressCount: r.addressCount,
      residentCount: r.residentCount,
      legalEntityCount: r.legalEntityCount,
    }
    liveBuildings = r.buildingCount ?? -1
  })
  if (
    JSON.stringify(answers.kept) !== JSON.stringify(answers.live) ||
    graphqlAddresses !== (answers.live as { addressCount: number }).addressCount ||
    graphqlBuildings !== liveBuildings
  )
    throw new Error(
      `areaSummary differs from the live count: ${JSON.stringify({ ...answers, graphqlBuildings, liveBuildings })}`,
    )
  if (i >= 0) {
    summary.push(t)
    summaryBuildings.push(tb)
    summarySql.push(s)
    live.push(l)
  }
}
const summaryAnswer = answers.kept as { addressCount: number; residentCount: number }
console.log({ areaSummaryP50: quantile(summary, 0.5), liveP50: quantile(live, 0.5), answers })

// ---------------------------------------------------------------- trigger overhead on writes
// The same bulk statements with the area_* triggers (address_counts) enabled and disabled, each
// in a transaction rolled back, alternating; the other triggers (statistics counts, feed) stay on.
const WRITE_ROWS = Math.min(N, 20_000)
const AREA_TRIGGERS = ['persons', 'legal_entities', 'addresses'].flatMap((t) =>
  ['insert', 'update', 'delete', 'truncate'].map((e) => [t, `area_${t === 'legal_entities' ? 'entities' : t}_${e}`]),
)
const writes: Record<string, { on: number[]; off: number[] }> = {}
const WRITE_CASES: [string, string][] = [
  [
    `insert ${WRITE_ROWS.toLocaleString('en')} persons`,
    `WITH ps AS MATERIALIZED (SELECT gen_random_uuid() AS id, i FROM generate_series(1, ${WRITE_ROWS}) i),
       e AS (INSERT INTO entities (id, entity_type, created_txid) SELECT id, 'PERSON', $1 FROM ps)
     INSERT INTO persons (id, gender, residence_address_id, updated_txid)
     SELECT id, 'MALE', md5('${TAG}' || 'addr' || (1 + abs(hashint4(i + 7)) % ${N}))::uuid, $1 FROM ps`,
  ],
  [
    `move ${WRITE_ROWS.toLocaleString('en')} persons (UPDATE residence)`,
    `UPDATE persons SET residence_address_id = md5('${TAG}' || 'addr' || (1 + abs(hashint4(hashtext(id::text))) % ${N}))::uuid, updated_txid = $1
      WHERE id IN (SELECT id FROM persons WHERE residence_address_key LIKE '${TAG}%' ORDER BY id LIMIT ${WRITE_ROWS})`,
  ],
  [
    `insert ${WRITE_ROWS.toLocaleString('en')} addresses`,
    `WITH pts AS MATERIALIZED (SELECT gen_random_uuid() AS id FROM generate_series(1, ${WRITE_ROWS})),
       e AS (INSERT INTO entities (id, entity_type, created_txid) SELECT id, 'ADDRESS', $1 FROM pts)
     INSERT INTO addresses (id, full_text, location, updated_txid)
     SELECT id, 'w', ST_SetSRID(ST_MakePoint(120 + random() * 0.3, 30.2 + random() * 0.2), 4326), $1 FROM pts`,
  ],
]
for (let round = 0; round < 4; round++) {
  for (const [name, sql] of WRITE_CASES) {
    writes[name] ??= { on: [], off: [] }
    for (const on of round % 2 ? [true, false] : [false, true]) {
      await direct.query('BEGIN')
      if (!on)
        for (const [t, trigger] of AREA_TRIGGERS) await direct.query(`ALTER TABLE ${t} DISABLE TRIGGER ${trigger}`)
      const { rows } = await direct.query(
        `INSERT INTO transactions (operation) VALUES ('bench: writes') RETURNING txid`,
      )
      const ms = await time(() => direct.query(sql, [rows[0].txid]))
      await direct.query('ROLLBACK')
      writes[name][on ? 'on' : 'off'].push(ms)
    }
  }
}
const median = (xs: number[]) => quantile(xs, 0.5)
console.log(writes)

await direct.end()
service.stop()
await knex.destroy()

// ---------------------------------------------------------------- RESULTS.md
const f = (n: number) => n.toFixed(2).padStart(8)
const table = (rows: Row[], http: string, sql: string) =>
  [
    `| case | runs | ${http} p50 ms | ${http} p99 ms | ${sql} p50 ms | ${sql} p99 ms | p50 ratio | p99 ratio |${rows[0]?.bytes !== undefined ? ' bytes/tile |' : ''}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|${rows[0]?.bytes !== undefined ? '---:|' : ''}`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.runs} | ${f(r.httpP50)} | ${f(r.httpP99)} | ${f(r.sqlP50)} | ${f(r.sqlP99)} | ${(r.httpP50 / r.sqlP50).toFixed(2)} | ${(r.httpP99 / r.sqlP99).toFixed(2)} |${r.bytes !== undefined ? ` ${r.bytes} |` : ''}`,
    ),
  ].join('\n')
const load = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' / ')
const section = [
  `### Run of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  '',
  `Command: \`DATABASE_URL=… npm run bench:gis -- --addresses ${N} --runs ${RUNS} --summary-runs ${SUMMARY_RUNS}\``,
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, PostgreSQL on the same host, shared with other engineers' work; load average at the start ${loadAtStart}, at the end ${load} (1 / 5 / 15 min).`,
  `Data: ${N.toLocaleString('en')} synthetic addresses (${total.toLocaleString('en')} in the table) and as many persons, ${Math.ceil(N / 4).toLocaleString('en')} building footprints (one around every fourth address) and a grid of parcels (${PARCEL_CELL}° cells), uniform over ${AREA.lon.join('–')}°E × ${AREA.lat.join('–')}°N (load ${loadSeconds.toFixed(0)} s in this run); tiles drawn at random over that area with a fixed seed, tile cache off (every tile rendered), 5 warm-up runs, HTTP and direct SQL alternating (which of the two reads a tile first alternates too).`,
  '',
  '#### Vector tiles: HTTP vs the same ST_AsMVT statement through pg',
  '',
  table(tileRows, 'HTTP', 'direct SQL'),
  '',
  '#### The HTTP floor: the same client against a bare node:http server (its own process, fixed body)',
  '',
  '| case | runs | p50 ms | p99 ms |',
  '|---|---:|---:|---:|',
  ...floorRows.map((r) => `| ${r.name} | ${RUNS} | ${f(r.p50)} | ${f(r.p99)} |`),
  '',
  '#### CQL2 filter page vs hand-written SQL',
  '',
  table(filterRows, 'HTTP', 'hand SQL'),
  '',
  `#### areaSummary(district 330106): ${summaryAnswer.addressCount.toLocaleString('en')} addresses, ${summaryAnswer.residentCount.toLocaleString('en')} residents inside`,
  '',
  '| path | runs | p50 ms | p99 ms |',
  '|---|---:|---:|---:|',
  `| GraphQL over HTTP, anonymous (maintained counts) | ${SUMMARY_RUNS} | ${f(quantile(summary, 0.5))} | ${f(quantile(summary, 0.99))} |`,
  `| GraphQL over HTTP, anonymous, with buildingCount (maintained building counts) | ${SUMMARY_RUNS} | ${f(quantile(summaryBuildings, 0.5))} | ${f(quantile(summaryBuildings, 0.99))} |`,
  `| the store's statement alone (maintained counts, no buildings) | ${SUMMARY_RUNS} | ${f(quantile(summarySql, 0.5))} | ${f(quantile(summarySql, 0.99))} |`,
  `| before: the live statement (joins persons, legal entities) | ${SUMMARY_RUNS} | ${f(quantile(live, 0.5))} | ${f(quantile(live, 0.99))} |`,
  '',
  `Same answers both ways in every run. Goal p50 < 200 ms: ${quantile(summary, 0.5) < 200 ? 'met' : 'missed'} (${quantile(summary, 0.5).toFixed(0)} ms); live/maintained p50 ratio ${(quantile(live, 0.5) / quantile(summary, 0.5)).toFixed(1)}×.`,
  '',
  '#### Write overhead of the address_counts triggers',
  '',
  'One statement each, in a transaction rolled back, 4 runs with the area_* triggers enabled and 4 disabled (alternating); median ms.',
  '',
  '| statement | triggers off | triggers on | overhead |',
  '|---|---:|---:|---:|',
  ...Object.entries(writes).map(
    ([name, w]) =>
      `| ${name} | ${f(median(w.off))} | ${f(median(w.on))} | ${(((median(w.on) - median(w.off)) / median(w.off)) * 100).toFixed(0)} % |`,
  ),
  '',
].join('\n')
const path = new URL('./RESULTS.md', import.meta.url)
const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n'
const start = old.indexOf('## GIS')
const next = start >= 0 ? old.indexOf('\n## ', start + 1) : -1
// A new dated subsection at the end of "## GIS" (earlier runs stay for comparison).
const updated =
  start < 0
    ? `${old.trimEnd()}\n\n## GIS\n\n${section}`
    : next < 0
      ? `${old.trimEnd()}\n\n${section}`
      : `${old.slice(0, next).trimEnd()}\n\n${section}\n${old.slice(next)}`
writeFileSync(path, updated)
console.log(section)
