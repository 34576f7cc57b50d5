/**
 * Rule-change benchmark (issue 11): `setAuthorityRule` on a database of N engine-loaded persons
 * re-decides one field's golden values in chunks; how long in all, how long each chunk's
 * transaction (the upper bound of any lock it holds), and whether the change feed (field_history)
 * shows exactly the values that changed.
 *
 *   npm run bench:authority -- [--persons 1000000] [--database-url postgres://…] [--keep]
 *
 * Loads a fresh database `authority_bench_<pid>` through the engine (`npm run import`): PSB persons
 * with birth dates, and HEALTH birth records for every fifth person (5 % of them a day off, so
 * VALUE_MISMATCH conflicts open), as bench:ingest does. Then PERSON.birthDate's authority moves
 * from PSB to HEALTH (PSB as fallback) and back, each timed. Every person has a claim on the field,
 * so every person is recomputed. Writes "## Authority rule change" in bench/RESULTS.md.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { csvCell, writeLines } from './csv-file.js'
import { benchDatabase } from './fresh-database.js'
import { HANGZHOU } from '../seeds/demo.js'
import { generatePersons } from '../seeds/demo/generators.js'
import { createKnex, migrateLatest } from '../src/db/knex.js'
import { type RecomputeChunk, setAuthorityRule } from '../src/reconciliation/authority.service.js'
import { createRng } from '../src/shared/random.js'

const { values } = parseArgs({
  options: {
    persons: { type: 'string' },
    'database-url': { type: 'string' },
    keep: { type: 'boolean' },
    // An existing database loaded by an earlier run with --keep: migrated, then timed without loading.
    reuse: { type: 'string' },
  },
})
const persons = Number(values.persons ?? 1_000_000)
const baseUrl = values['database-url'] ?? process.env.DATABASE_URL
if (!baseUrl || !Number.isInteger(persons) || persons < 1) {
  console.error('usage: npm run bench:authority -- [--persons N] --database-url postgres://… (or DATABASE_URL)')
  process.exit(2)
}
const fresh = benchDatabase(baseUrl, 'authority_bench')
const dbName = values.reuse ?? fresh.dbName
const url = new URL(fresh.url)
url.pathname = `/${dbName}`
const admin = fresh.admin
const started = Date.now()
const say = (m: string) => console.error(`${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s  ${m}`)
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')
const loadAtStart = load()

const dir = new URL('./tmp/', import.meta.url).pathname
mkdirSync(dir, { recursive: true })
const observedAt = '2024-12-31T00:00:00Z'

function* psbLines(): Generator<string> {
  yield 'sourceKey,observedAt,idNumber,name,gender,birthDate,residenceAddressText\n'
  for (const p of generatePersons(createRng('bench-authority'), persons, { districts: HANGZHOU.districts })) {
    const a = p.attributes
    yield `${[p.sourceKey, observedAt, a.idNumber, a.name, a.gender, a.birthDate, a.residenceAddressText].map(csvCell).join(',')}\n`
  }
}
function* healthLines(): Generator<string> {
  yield 'sourceKey,observedAt,idNumber,birthDate\n'
  const rng = createRng('bench-authority-health')
  let i = 0
  for (const p of generatePersons(createRng('bench-authority'), persons, { districts: HANGZHOU.districts })) {
    if (i++ % 5 !== 0) continue
    const d = new Date(`${p.attributes.birthDate}T00:00:00Z`)
    if (rng.chance(0.05)) d.setUTCDate(d.getUTCDate() + 1)
    yield `health-${p.sourceKey},${observedAt},${p.attributes.idNumber},${d.toISOString().slice(0, 10)}\n`
  }
}
function importWithCli(department: string, file: string): { records: number; seconds: number } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/import.ts', '--json', '--department', department, '--entity-type', 'PERSON', file],
    { env: { ...process.env, DATABASE_URL: url.toString() }, encoding: 'utf8', maxBuffer: 1 << 26 },
  )
  if (r.status !== 0) throw new Error(`import of ${file} failed (${r.status}): ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!)
}

interface Run {
  label: string
  seconds: number
  chunks: RecomputeChunk[]
  changedValues: number
  feedEntries: number
  feedMatches: boolean
}
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0
}

async function main(): Promise<void> {
  const psbCsv = `${dir}authority-psb-${persons}.csv`
  const healthCsv = `${dir}authority-health-${persons}.csv`
  if (!values.reuse) {
    say(`generating ${persons} PSB persons and ${persons / 5} HEALTH birth records`)
    await writeLines(psbCsv, psbLines())
    await writeLines(healthCsv, healthLines())
    await admin(`DROP DATABASE IF EXISTS ${dbName}`)
    await admin(`CREATE DATABASE ${dbName}`)
  }
  const knex = createKnex({ url: url.toString(), poolMax: 2, statementTimeoutMs: 600_000 })
  try {
    let psb = { records: 0, seconds: 0 }
    let health = { records: 0, seconds: 0 }
    if (values.reuse) {
      say(`reusing ${dbName}: ${(await migrateLatest(knex)).length} migrations applied`)
      const count = async (department: string) =>
        Number(
          (
            await knex('source_records').where({ department_code: department, entity_type: 'PERSON' }).count({ n: '*' })
          )[0].n,
        )
      psb = { records: await count('PSB'), seconds: Number.NaN }
      health = { records: await count('HEALTH'), seconds: Number.NaN }
    } else {
      psb = importWithCli('PSB', psbCsv)
      say(`PSB: ${psb.records} records in ${psb.seconds.toFixed(0)} s`)
      health = importWithCli('HEALTH', healthCsv)
      say(`HEALTH: ${health.records} records in ${health.seconds.toFixed(0)} s`)
    }
    await knex.raw('VACUUM ANALYZE')
    const actor = { principalId: null as unknown as string, departmentCode: null }
    const runs: Run[] = []
    // From the stored rule to the other department and back (a reused database may hold either).
    const current = (await knex('authority_rules')
      .where({ entity_type: 'PERSON', field: 'birthDate', entity_kind: '' })
      .first()) as { authority: string; fallbacks: string[] }
    const other = current.authority === 'PSB' ? 'HEALTH' : 'PSB'
    for (const [label, authority, fallbacks] of [
      [`${current.authority} → ${other} (${current.authority} fallback)`, other, [current.authority]],
      [
        `${other} → ${current.authority} (${current.fallbacks.join(', ') || 'no'} fallback), back`,
        current.authority,
        current.fallbacks,
      ],
    ] as const) {
      await knex.raw('DROP TABLE IF EXISTS bench_golden_before')
      await knex.raw(
        `CREATE TABLE bench_golden_before AS SELECT g.entity_id, g.value, g.status FROM golden_values g
           JOIN entities e ON e.id = g.entity_id WHERE e.entity_type = 'PERSON' AND g.field = 'birthDate'`,
      )
      await knex.raw('CREATE UNIQUE INDEX ON bench_golden_before (entity_id)')
      await knex.raw('ANALYZE bench_golden_before')
      const chunks: RecomputeChunk[] = []
      const t = performance.now()
      await setAuthorityRule(
        knex,
        actor,
        { entityType: 'PERSON', field: 'birthDate', authority, fallbacks: [...fallbacks] },
        { onChunk: (c) => chunks.push(c) },
      )
      const seconds = (performance.now() - t) / 1000
      const txids = chunks.map((c) => c.txid)
      const { rows: changed } = await knex.raw(
        `SELECT count(*)::int AS n FROM golden_values g JOIN bench_golden_before b ON b.entity_id = g.entity_id
          WHERE g.field = 'birthDate' AND g.value IS DISTINCT FROM b.value`,
      )
      const { rows: feed } = await knex.raw(
        `SELECT count(*)::int AS n,
                count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM bench_golden_before b JOIN golden_values g
                   ON g.entity_id = b.entity_id AND g.field = 'birthDate'
                  WHERE b.entity_id = h.entity_id AND g.value IS DISTINCT FROM b.value))::int AS unexplained
           FROM field_history h WHERE h.field = 'birthDate' AND h.txid = ANY(?::bigint[])
            AND h.old_value IS DISTINCT FROM h.new_value`,
        [txids],
      )
      const run: Run = {
        label,
        seconds,
        chunks,
        changedValues: changed[0].n,
        feedEntries: feed[0].n,
        feedMatches: feed[0].n === changed[0].n && feed[0].unexplained === 0,
      }
      runs.push(run)
      say(
        `${label}: ${seconds.toFixed(1)} s, ${chunks.length} chunks, max chunk ${Math.max(...chunks.map((c) => c.ms)).toFixed(0)} ms, ${run.changedValues} values changed, ${run.feedEntries} feed entries`,
      )
    }
    await knex.raw('DROP TABLE IF EXISTS bench_golden_before')
    const pgVersion = execFileSync('psql', [url.toString(), '-tAc', 'SHOW server_version'], { encoding: 'utf8' }).trim()
    const f = (x: number) => x.toFixed(0)
    const section = `## Authority rule change

Command: \`npm run bench:authority -- --persons ${persons}\` (real PostGIS via DATABASE_URL; a fresh database per run).
Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, PostgreSQL ${pgVersion}, Node ${process.version}; ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; load average ${loadAtStart} at the start, ${load()} at the end (1 / 5 / 15 min).
Data: ${psb.records.toLocaleString('en')} PSB persons and ${health.records.toLocaleString('en')} HEALTH birth records (5 % a day off) loaded through the engine (\`npm run import\`${Number.isNaN(psb.seconds) ? `, in an earlier run (--reuse ${dbName})` : `, ${f(psb.seconds + health.seconds)} s`}). Every person has a claim on birthDate, so every person is re-decided; chunks of 1,000 entities, one transaction each (the longest any lock is held).

| rule change | persons re-decided | seconds | chunks | chunk ms p50 | chunk ms p99 | chunk ms max | values changed | feed entries (field_history) | feed = changes |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---|
${runs
  .map((r) => {
    const ms = r.chunks.map((c) => c.ms)
    return `| ${r.label} | ${r.chunks.reduce((a, c) => a + c.entities, 0).toLocaleString('en')} | ${r.seconds.toFixed(1)} | ${r.chunks.length} | ${f(quantile(ms, 0.5))} | ${f(quantile(ms, 0.99))} | ${f(Math.max(...ms))} | ${r.changedValues.toLocaleString('en')} | ${r.feedEntries.toLocaleString('en')} | ${r.feedMatches ? 'yes' : '**no**'} |`
  })
  .join('\n')}

Goals (issue 11, at 1,000,000 persons): the whole recompute in under 60 s; no chunk holding the write lock for more than a second; the change feed showing every value that changed.
`
    console.log(section)
    const resultsFile = new URL('./RESULTS.md', import.meta.url).pathname
    const old = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '# Benchmark results\n'
    const re = /## Authority rule change\n[\s\S]*?(?=\n## |$)/
    writeFileSync(resultsFile, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`)
    say('written to bench/RESULTS.md')
  } finally {
    await knex.destroy()
    if (!values.keep && !values.reuse) await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
