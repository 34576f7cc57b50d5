/**
 * Cross-check benchmark: S subjects of EMPLOYMENT_WHILE_ON_BENEFIT against P synthetic persons in
 * a real PostGIS (DATABASE_URL, a database of its own: the benchmark writes P persons into it).
 *
 *   DATABASE_URL=postgres://…/cfd_bench npm run bench:crosscheck -- --persons 1000000 --subjects 100000 --baseline 10000
 *
 * Measures, in the same run:
 *   set-based  the service's path for a file (what `npm run cross-check` does): subjects stored,
 *              four rules as one INSERT … SELECT per rule and slice, access log, DONE — end to end;
 *   baseline   the same comparisons by a department's own code: personsByIdNumbers over HTTP in
 *              calls of 1,000 keys (employment status + its observedAt, death date, household
 *              address, represented legal entities' status), compared in JS — on the
 *              first --baseline subjects, with the per-subject time extrapolated to S.
 * The baseline's hits on its sample must equal the set-based hits of the same subjects (an
 * independent oracle); the script fails otherwise. Persons are written with generate_series (not
 * through the engine: bench:ingest measures that) as projection rows, field history and golden values.
 * Appends a section to bench/RESULTS.md.
 */
import 'reflect-metadata'
import { appendFileSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { createPrincipal } from '../src/access/keys.js'
import { loadConfig } from '../src/config.js'
import { CrossCheckRunner } from '../src/cross-check/cross-check.runner.js'
import { createCrossCheck } from '../src/cross-check/cross-check.service.js'
import { allHits, findCheck } from '../src/cross-check/cross-check.store.js'
import { createKnex, migrateLatest } from '../src/db/knex.js'
import { createServer } from '../src/server.js'
import { seedReference } from '../seeds/reference.js'

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`)
  return v
}

const PERSONS = arg('persons', 1_000_000)
const SUBJECTS = Math.min(arg('subjects', 100_000), PERSONS)
const BASELINE = Math.min(arg('baseline', 10_000), SUBJECTS)
const databaseUrl = process.env.DATABASE_URL
if (!databaseUrl) {
  console.error(
    'DATABASE_URL must point at a real PostgreSQL + PostGIS of its own (the benchmark writes persons into it)',
  )
  process.exit(2)
}
const SINCE = '2024-06-01'
const t0 = performance.now()
const log = (m: string) => console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s  ${m}`)

// The i-th synthetic person's ID number (GB 11643 with its check character), in SQL and in JS.
const ID_SQL = `pg_temp.gb11643('330106' || to_char(date '1950-01-01' + (i % 20000), 'YYYYMMDD') || lpad(((i / 20000) % 1000)::text, 3, '0'))`

async function load(knex: ReturnType<typeof createKnex>) {
  const have = Number(
    (await knex.raw(`SELECT count(*) AS n FROM persons WHERE id_number LIKE '330106%' AND name = 'bench'`)).rows[0].n,
  )
  if (have >= PERSONS) {
    log(`${have.toLocaleString('en')} bench persons present; not loading again`)
    return
  }
  const batch = 100_000
  // An interrupted load resumes after its last committed batch of 100,000.
  if (have % batch) throw new Error(`the database holds ${have} bench persons, not a whole batch; use a fresh database`)
  await knex.raw(`CREATE FUNCTION pg_temp.gb11643(f text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT f || substr('10X98765432', (SELECT sum(substr(f, k, 1)::int * (ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2])[k])
      FROM generate_series(1, 17) k)::int % 11 + 1, 1) $$`)
  const [{ txid }] = (
    await knex.raw(`INSERT INTO transactions (operation) VALUES ('bench:crosscheck load') RETURNING txid`)
  ).rows
  // 10,000 city addresses; persons' household keys point at them (1 in 200 outside the city).
  if (!have)
    await knex.raw(
      `WITH e AS (INSERT INTO entities (entity_type, created_txid) SELECT 'ADDRESS', ? FROM generate_series(1, 10000) RETURNING id)
     INSERT INTO addresses (id, full_text, normalized_text, division_key, updated_txid)
     SELECT id, 'BENCH-ADDR-' || n, 'BENCH-ADDR-' || n, '330106001', ? FROM (SELECT id, row_number() OVER () - 1 AS n FROM e) x`,
      [txid, txid],
    )
  for (let from = have; from < PERSONS; from += batch) {
    const to = Math.min(PERSONS, from + batch)
    await knex.transaction(async (trx) => {
      await trx.raw(`CREATE TEMP TABLE IF NOT EXISTS bench_p (i int, id uuid, id_number text) ON COMMIT DROP`)
      await trx.raw(
        `INSERT INTO bench_p SELECT i, gen_random_uuid(), ${ID_SQL} FROM generate_series(?::int, ?::int - 1) i`,
        [from, to],
      )
      await trx.raw(`INSERT INTO entities (id, entity_type, created_txid) SELECT id, 'PERSON', ? FROM bench_p`, [txid])
      await trx.raw(
        `INSERT INTO persons (id, id_number, name, employment_status, death_date, household_address_key, household_address_id, updated_txid)
         SELECT p.id, p.id_number, 'bench', CASE WHEN i % 10 < 3 THEN 'EMPLOYED' ELSE 'UNEMPLOYED' END,
                CASE WHEN i % 100 = 7 THEN date '2024-03-01' END, k.key, a.id, ?
           FROM bench_p p
           CROSS JOIN LATERAL (SELECT CASE WHEN i % 200 = 3 THEN '安徽省合肥市长江西路' || i || '号' ELSE 'BENCH-ADDR-' || (i % 10000) END AS key) k
           LEFT JOIN addresses a ON a.normalized_text = k.key`,
        [txid],
      )
      // Employment observed on a day spread over 2023-06 … 2024-12: one in three after SINCE.
      await trx.raw(
        `INSERT INTO field_history (entity_id, entity_type, field, new_value, status, source_department, observed_at, recorded_at, txid)
         SELECT id, 'PERSON', f.field, f.value, 'AUTHORITATIVE', f.dept, f.observed, now() - interval '1 day', ?
           FROM bench_p p, LATERAL (VALUES
             ('idNumber', to_jsonb(p.id_number), 'PSB', timestamptz '2020-01-01'),
             ('employmentStatus', to_jsonb(CASE WHEN i % 10 < 3 THEN 'EMPLOYED' ELSE 'UNEMPLOYED' END), 'HRSS',
                timestamptz '2023-06-01' + ((i::bigint * 7919) % 550) * interval '1 day'),
             ('householdAddress', to_jsonb(CASE WHEN i % 200 = 3 THEN '安徽省合肥市长江西路' || i || '号' ELSE 'BENCH-ADDR-' || (i % 10000) END), 'PSB', timestamptz '2020-01-01'),
             ('deathDate', CASE WHEN i % 100 = 7 THEN to_jsonb('2024-03-01'::text) END, 'PSB', timestamptz '2024-03-02')
           ) AS f(field, value, dept, observed)
          WHERE f.value IS NOT NULL`,
        [txid],
      )
      await trx.raw(
        `INSERT INTO golden_values (entity_id, field, value, status, source_department, observed_at, txid)
         SELECT id, 'employmentStatus', to_jsonb(CASE WHEN i % 10 < 3 THEN 'EMPLOYED' ELSE 'UNEMPLOYED' END), 'AUTHORITATIVE', 'HRSS',
                timestamptz '2023-06-01' + ((i::bigint * 7919) % 550) * interval '1 day', ? FROM bench_p`,
        [txid],
      )
      // One legal entity per 10 persons, represented by person i (one in five CANCELLED).
      await trx.raw(
        `WITH le AS (SELECT gen_random_uuid() AS le_id, p.id AS person_id, p.id_number, p.i FROM bench_p p WHERE i % 10 = 1),
              e AS (INSERT INTO entities (id, entity_type, created_txid) SELECT le_id, 'LEGAL_ENTITY', ? FROM le),
              r AS (INSERT INTO legal_entities (id, credit_code, name, status, legal_representative_key, legal_representative_id, updated_txid)
                    SELECT le_id, '91330106B' || lpad(i::text, 9, '0'), 'bench', CASE WHEN i % 50 = 1 THEN 'CANCELLED' ELSE 'ACTIVE' END, id_number, person_id, ?
                      FROM le)
         INSERT INTO field_history (entity_id, entity_type, field, new_value, status, source_department, observed_at, recorded_at, txid)
         SELECT le.le_id, 'LEGAL_ENTITY', f.field, f.value, 'AUTHORITATIVE', 'AMR', timestamptz '2022-01-01', now() - interval '1 day', ?
           FROM le, LATERAL (VALUES ('legalRepresentative', to_jsonb(le.id_number)),
                                    ('status', to_jsonb(CASE WHEN i % 50 = 1 THEN 'CANCELLED' ELSE 'ACTIVE' END))) AS f(field, value)`,
        [txid, txid, txid],
      )
    })
    log(`${to.toLocaleString('en')} persons loaded`)
  }
  await knex.raw(
    'ANALYZE persons; ANALYZE field_history; ANALYZE legal_entities; ANALYZE golden_values; ANALYZE addresses',
  )
}

interface Lookup {
  idNumber: string
  status: string
  person: {
    employmentStatus: string | null
    deathDate: string | null
    householdAddress: { id: string } | null
    provenance: { observedAt: string | null; source: { code: string } | null }[]
    representativeOf: { status: string | null }[]
  } | null
}

async function main() {
  const knex = createKnex({ url: databaseUrl!, poolMax: 1 })
  await migrateLatest(knex)
  await seedReference(knex)
  await load(knex)
  // Every seventh person or so, in id (random) order.
  const subjects: { key: string; since: string }[] = (
    await knex.raw(`SELECT id_number AS key FROM persons WHERE name = 'bench' ORDER BY id LIMIT ?`, [SUBJECTS])
  ).rows.map((r: { key: string }) => ({ key: r.key, since: SINCE }))
  await knex.destroy()
  log(`${subjects.length.toLocaleString('en')} subjects chosen`)

  const config = {
    ...loadConfig({ ...process.env, LOG_LEVEL: 'warn', PORT: '0', HOST: '127.0.0.1', SEED_DEMO: 'false' }),
    maxQueryCost: 10_000_000,
    rateLimitBurst: 100_000,
    rateLimitPerSecond: 100_000,
    statementTimeoutMs: 600_000,
  }
  const server = await createServer(config)
  const { principal, key } = await createPrincipal(server.knex, {
    name: 'bench HRSS',
    departmentCode: 'HRSS',
    roles: ['DEPARTMENT_APP', 'STEWARD'],
  })

  // Set-based: the whole path of a file check, on one connection of its own, so the CPU seconds
  // of its database backend (same machine, /proc) can be read: steadier than wall time on a
  // loaded machine.
  const setKnex = createKnex({ url: databaseUrl!, poolMax: 1, statementTimeoutMs: 600_000 })
  const {
    rows: [{ pid }],
  } = await setKnex.raw('SELECT pg_backend_pid() AS pid')
  const backendCpu = () => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return (Number(f[11]) + Number(f[12])) / 100
    } catch {
      return Number.NaN
    }
  }
  const cpu0 = backendCpu()
  const node0 = process.cpuUsage()
  const s0 = performance.now()
  const check = await createCrossCheck(
    setKnex,
    principal,
    { type: 'EMPLOYMENT_WHILE_ON_BENEFIT', subjects, purpose: 'bench' },
    null,
  )
  const s1 = performance.now()
  const runner = new CrossCheckRunner(
    setKnex,
    { info: () => {}, warn: console.warn, error: console.error },
    { chunkSize: 25_000 },
  )
  await runner.runToEnd(check.id)
  const s2 = performance.now()
  const hits = await allHits(setKnex, check.id)
  const s3 = performance.now()
  const dbCpu = backendCpu() - cpu0
  const nodeCpu = process.cpuUsage(node0)
  const nodeCpuSeconds = (nodeCpu.user + nodeCpu.system) / 1e6
  await setKnex.destroy()
  const done = (await findCheck(server.knex, check.id))!
  if (done.status !== 'DONE') throw new Error(`check ${done.status}: ${done.error}`)
  const setSeconds = (s3 - s0) / 1000
  log(
    `set-based: ${setSeconds.toFixed(2)} s (store ${((s1 - s0) / 1000).toFixed(2)}, compare ${((s2 - s1) / 1000).toFixed(2)}, read hits ${((s3 - s2) / 1000).toFixed(2)}); ${done.hit_subject_count} subjects hit, ${hits.length} hits`,
  )

  // Baseline: bulk lookups through the API and the comparisons in JS, on the first BASELINE subjects.
  const Q = `query($k: [String!]!) { personsByIdNumbers(idNumbers: $k) { idNumber status person {
      employmentStatus deathDate householdAddress { id }
      provenance(fields: ["employmentStatus"]) { observedAt source { code } } representativeOf { status } } } }`
  const b0 = performance.now()
  const baselineHit = new Map<string, string[]>()
  const asOfDay = done.as_of.toISOString().slice(0, 10)
  for (let i = 0; i < BASELINE; i += 1000) {
    const keys = subjects.slice(i, Math.min(BASELINE, i + 1000)).map((s) => s.key)
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: Q, variables: { k: keys } }),
    })
    const body = (await res.json()) as { data?: { personsByIdNumbers: Lookup[] }; errors?: unknown }
    if (!body.data) throw new Error(`baseline lookup failed: ${JSON.stringify(body.errors).slice(0, 500)}`)
    for (const l of body.data.personsByIdNumbers) {
      const p = l.person
      if (!p) continue
      const rules: string[] = []
      const prov = p.provenance[0]
      if (
        p.employmentStatus === 'EMPLOYED' &&
        prov?.source?.code === 'HRSS' &&
        prov.observedAt &&
        prov.observedAt >= `${SINCE}T00:00:00`
      )
        rules.push('EMPLOYED_SINCE')
      if (p.representativeOf.some((e) => e.status === 'ACTIVE')) rules.push('REPRESENTS_ACTIVE_ENTITY')
      if (p.deathDate && p.deathDate <= asOfDay) rules.push('DECEASED')
      // Every registered bench address lies in 330106001: a household address the register does not
      // hold is outside the city (the set-based rule also checks a registered address's division).
      if (!p.householdAddress) rules.push('HOUSEHOLD_OUTSIDE_CITY')
      if (rules.length) baselineHit.set(l.idNumber, rules.sort())
    }
  }
  const baseSeconds = (performance.now() - b0) / 1000
  const perSubject = baseSeconds / BASELINE
  const extrapolated = perSubject * SUBJECTS
  log(
    `baseline: ${baseSeconds.toFixed(2)} s for ${BASELINE.toLocaleString('en')} subjects → ${extrapolated.toFixed(1)} s extrapolated to ${SUBJECTS.toLocaleString('en')}`,
  )

  // Oracle: the baseline's hits on its sample are the set-based hits of the same subjects.
  const sample = new Set(subjects.slice(0, BASELINE).map((s) => s.key))
  const setHit = new Map<string, string[]>()
  for (const h of hits)
    if (sample.has(h.subject_key)) setHit.set(h.subject_key, [...(setHit.get(h.subject_key) ?? []), h.rule_code].sort())
  const differ = [...new Set([...setHit.keys(), ...baselineHit.keys()])].filter(
    (k) => JSON.stringify(setHit.get(k)) !== JSON.stringify(baselineHit.get(k)),
  )
  await server.close()
  if (differ.length)
    throw new Error(
      `set-based and baseline hits differ for ${differ.length} subjects, e.g. ${differ.slice(0, 3).join(', ')}`,
    )
  log(
    `oracle: set-based and baseline agree on all ${BASELINE.toLocaleString('en')} sampled subjects (${setHit.size} hit)`,
  )

  const cpu = os.cpus()
  const section = `
## Cross-checks (bench:crosscheck), ${new Date().toISOString().slice(0, 10)}

\`DATABASE_URL=… npm run bench:crosscheck -- --persons ${PERSONS} --subjects ${SUBJECTS} --baseline ${BASELINE}\`
on ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, PostgreSQL on the same machine,
**shared with other engineers' builds and tests while it ran** (load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ')}).

| path | subjects | seconds | subjects/s |
|---|---:|---:|---:|
| set-based (store subjects, 4 rules per 25,000-subject slice, access log, DONE, read all hits) | ${SUBJECTS.toLocaleString('en')} | ${setSeconds.toFixed(2)} | ${Math.round(SUBJECTS / setSeconds).toLocaleString('en')} |
| baseline: personsByIdNumbers over HTTP (1,000 keys a call) + comparisons in JS | ${BASELINE.toLocaleString('en')} (measured) | ${baseSeconds.toFixed(2)} | ${Math.round(BASELINE / baseSeconds).toLocaleString('en')} |
| baseline extrapolated | ${SUBJECTS.toLocaleString('en')} | ${extrapolated.toFixed(1)} | |

Registers: ${PERSONS.toLocaleString('en')} persons, ${Math.round(PERSONS / 10).toLocaleString('en')} legal entities, 10,000 addresses.
Set-based: ${done.hit_subject_count.toLocaleString('en')} subjects hit (${hits.length.toLocaleString('en')} hits); store ${((s1 - s0) / 1000).toFixed(2)} s,
compare ${((s2 - s1) / 1000).toFixed(2)} s, read hits ${((s3 - s2) / 1000).toFixed(2)} s. CPU of the set-based path: database backend
${dbCpu.toFixed(2)} s, bench process (key checks, arrays) ${nodeCpuSeconds.toFixed(2)} s — ${(dbCpu + nodeCpuSeconds).toFixed(1)} CPU-seconds in all.
**Ratio baseline/set-based (wall time): ${(extrapolated / setSeconds).toFixed(1)}×.**
Goal < 10 s: ${setSeconds < 10 ? 'met' : `missed by ${(setSeconds - 10).toFixed(1)} s`}. Oracle: both paths find the same hits on the ${BASELINE.toLocaleString('en')} sampled subjects.
`
  appendFileSync(new URL('./RESULTS.md', import.meta.url), section)
  log('bench/RESULTS.md updated')
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
