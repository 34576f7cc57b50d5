/**
 * Ingest benchmark: bulk import of generated PSB person records (CSV) plus HEALTH birth records
 * (a fifth as many; 5 % of them a day off PSB's birth date, so VALUE_MISMATCH conflicts open) into
 * a FRESH real-PostGIS database, next to a raw `\copy` of the same CSV into a plain table.
 *
 *   npm run bench:ingest -- [--persons 1000000] [--database-url postgres://…] [--keep]
 *
 * The server of --database-url (or DATABASE_URL) gets a new database ingest_bench_<pid>, dropped
 * at the end unless --keep. Results are printed and written to bench/RESULTS.md ("Ingest").
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { csvCell, writeLines } from './csv-file.js'
import { benchDatabase } from './fresh-database.js'
import { createKnex } from '../src/db/knex.js'
import { defineDataItems } from '../src/reconciliation/data-items.service.js'
import { HANGZHOU } from '../seeds/demo.js'
import { generatePersons } from '../seeds/demo/generators.js'
import { createRng } from '../src/shared/random.js'

const { values } = parseArgs({
  options: {
    persons: { type: 'string' },
    'database-url': { type: 'string' },
    keep: { type: 'boolean' },
    items: { type: 'string' },
  },
})
// Item counts of the HRSS extended-item passes (records of N catalogue items each), e.g. "5,50".
const itemCounts = (values.items ?? '5,50')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0)
const persons = Number(values.persons ?? 1_000_000)
const baseUrl = values['database-url'] ?? process.env.DATABASE_URL
if (!baseUrl || !Number.isInteger(persons) || persons < 1) {
  console.error(
    'usage: npm run bench:ingest -- [--persons N] --database-url postgres://… (or DATABASE_URL): a real PostgreSQL + PostGIS server',
  )
  process.exit(2)
}
const { dbName, url, admin } = benchDatabase(baseUrl, 'ingest_bench')

const dir = new URL('./tmp/', import.meta.url).pathname
mkdirSync(dir, { recursive: true })
const personsCsv = `${dir}psb-persons-${persons}.csv`
const healthCsv = `${dir}health-births-${persons}.csv`
const observedAt = '2024-12-31T00:00:00Z'
const columns = [
  'sourceKey',
  'observedAt',
  'idNumber',
  'name',
  'gender',
  'birthDate',
  'ethnicity',
  'householdAddressText',
  'residenceAddressText',
] as const

function* personLines(): Generator<string> {
  yield `${columns.join(',')}\n`
  for (const p of generatePersons(createRng('bench-ingest'), persons, { districts: HANGZHOU.districts })) {
    const a = p.attributes
    yield `${[p.sourceKey, observedAt, a.idNumber, a.name, a.gender, a.birthDate, a.ethnicity, a.householdAddressText, a.residenceAddressText].map(csvCell).join(',')}\n`
  }
}

let disagreeing = 0
function* healthLines(): Generator<string> {
  yield 'sourceKey,observedAt,idNumber,birthDate\n'
  const rng = createRng('bench-ingest-health')
  let i = 0
  for (const p of generatePersons(createRng('bench-ingest'), persons, { districts: HANGZHOU.districts })) {
    if (i++ % 5 !== 0) continue
    const d = new Date(`${p.attributes.birthDate}T00:00:00Z`)
    if (rng.chance(0.05)) {
      d.setUTCDate(d.getUTCDate() + 1)
      disagreeing++
    }
    yield `health-${p.sourceKey},${observedAt},${p.attributes.idNumber},${d.toISOString().slice(0, 10)}\n`
  }
}

interface CliSummary {
  records: number
  accepted: number
  created: number
  updated: number
  unchanged: number
  conflictsOpened: number
  rejected: number
  seconds: number
  recordsPerSecond: number
  peakRssMb: number
}

/** The HRSS items of an items pass: n INTEGER items (0–100) named bench<n>x<i>. */
const itemNames = (n: number) => Array.from({ length: n }, (_, i) => `bench${n}x${i}`)

/** HRSS records of every person carrying n extended items, under their own source keys. */
function* itemLines(n: number): Generator<string> {
  yield `sourceKey,observedAt,idNumber,${itemNames(n).join(',')}\n`
  const rng = createRng(`bench-ingest-items-${n}`)
  for (const p of generatePersons(createRng('bench-ingest'), persons, { districts: HANGZHOU.districts }))
    yield `items${n}-${p.sourceKey},${observedAt},${p.attributes.idNumber},${itemNames(n)
      .map(() => rng.int(0, 100))
      .join(',')}\n`
}

function importWithCli(department: string, file: string): CliSummary {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/import.ts', '--json', '--department', department, '--entity-type', 'PERSON', file],
    {
      env: { ...process.env, DATABASE_URL: url.toString() },
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    },
  )
  if (r.status !== 0) throw new Error(`import of ${file} failed (${r.status}): ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as CliSummary
}

async function main(): Promise<void> {
  console.error(`generating ${persons} PSB persons and ${persons / 5} HEALTH birth records in ${dir} …`)
  await writeLines(personsCsv, personLines())
  await writeLines(healthCsv, healthLines())
  await admin(`DROP DATABASE IF EXISTS ${dbName}`)
  await admin(`CREATE DATABASE ${dbName}`)
  try {
    // Baseline: the same CSV into a plain table of text columns, no constraints or indexes.
    const psql = (cmd: string) =>
      execFileSync('psql', [url.toString(), '-v', 'ON_ERROR_STOP=1', '-qc', cmd], { encoding: 'utf8' })
    psql(`CREATE TABLE copy_baseline (${columns.map((c) => `"${c}" text`).join(', ')})`)
    const t = performance.now()
    psql(`\\copy copy_baseline FROM '${personsCsv}' WITH (FORMAT csv, HEADER true)`)
    const copySeconds = (performance.now() - t) / 1000
    const copyRate = persons / copySeconds
    console.error(`raw \\copy: ${persons} rows in ${copySeconds.toFixed(1)} s (${Math.round(copyRate)} rows/s)`)

    // The CLI migrates the fresh database itself, before its clock starts.
    const psb = importWithCli('PSB', personsCsv)
    console.error(
      `PSB import: ${psb.records} records in ${psb.seconds.toFixed(1)} s (${psb.recordsPerSecond} records/s), peak RSS ${psb.peakRssMb} MB`,
    )
    const health = importWithCli('HEALTH', healthCsv)
    console.error(
      `HEALTH import: ${health.records} records in ${health.seconds.toFixed(1)} s (${health.recordsPerSecond} records/s), conflicts opened ${health.conflictsOpened}`,
    )

    // Extended items: define them (ADMIN's defineDataItem, as data), then HRSS sends records of n
    // items for every person: each record is an update of an existing person with n claims.
    const itemRuns: { n: number; r: CliSummary }[] = []
    for (const n of itemCounts) {
      const knex = createKnex({ url: url.toString(), poolMax: 1 })
      try {
        await defineDataItems(
          knex,
          { principalId: null, departmentCode: null },
          itemNames(n).map((name) => ({
            entityType: 'PERSON' as const,
            name,
            title: name,
            dataType: 'INTEGER' as const,
            min: 0,
            max: 100,
            authority: 'HRSS',
            sharingClass: 'CONDITIONAL' as const,
          })),
        )
      } finally {
        await knex.destroy()
      }
      const file = `${dir}hrss-items${n}-${persons}.csv`
      await writeLines(file, itemLines(n))
      const r = importWithCli('HRSS', file)
      console.error(
        `HRSS ${n}-item import: ${r.records} records in ${r.seconds.toFixed(1)} s (${r.recordsPerSecond} records/s)`,
      )
      itemRuns.push({ n, r })
    }

    const total = psb.records + health.records
    const seconds = psb.seconds + health.seconds
    const rate = total / seconds
    const pgVersion = execFileSync('psql', [url.toString(), '-tAc', 'SHOW server_version'], {
      encoding: 'utf8',
    }).trim()
    const machine = `${cpus().length} vCPU (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, PostgreSQL ${pgVersion}, Node ${process.version}`
    const section = `## Ingest

Command: \`npm run bench:ingest -- --persons ${persons}\` (real PostGIS via DATABASE_URL; a fresh database per run)${
      persons < 1_000_000
        ? `

**Run at ${persons.toLocaleString('en')} persons, not the 1,000,000 of the goal** (time budget); the full run is
\`npm run bench:ingest -- --persons 1000000\`.`
        : ''
    }

Machine: ${machine}; ${new Date().toISOString().slice(0, 10)}. The server was shared with other work while this ran, so absolute numbers are noisy; the ratio is taken in the same run.

| | records | seconds | records/s |
|---|---:|---:|---:|
| raw \`\\copy\` of the PSB CSV into a plain text table | ${persons} | ${copySeconds.toFixed(1)} | ${Math.round(copyRate)} |
| \`npm run import\` PSB persons (CSV, chunks of 5,000, all created) | ${psb.records} | ${psb.seconds.toFixed(1)} | ${psb.recordsPerSecond} |
| \`npm run import\` HEALTH birth records (${health.records}, ${disagreeing} a day off) | ${health.records} | ${health.seconds.toFixed(1)} | ${health.recordsPerSecond} |
| **reconciled, both files** | ${total} | ${seconds.toFixed(1)} | **${Math.round(rate)}** |

- Ratio reconciled / raw COPY: **${(rate / copyRate).toFixed(3)}** (goal ≥ 0.2).
- Peak RSS of the import process: PSB ${psb.peakRssMb} MB, HEALTH ${health.peakRssMb} MB (streaming: flat in the file size).
- Conflicts opened: ${health.conflictsOpened} VALUE_MISMATCH on birthDate (${disagreeing} disagreeing HEALTH records); rejected: ${psb.rejected + health.rejected}.
${
  itemRuns.length
    ? `
Records of extended items (HRSS updates of every person, each record carrying n catalogue items, INTEGER):

| items per record | records | seconds | records/s | item values/s | ratio to raw \`\\copy\` |
|---:|---:|---:|---:|---:|---:|
${itemRuns.map(({ n, r }) => `| ${n} | ${r.records} | ${r.seconds.toFixed(1)} | ${r.recordsPerSecond} | ${Math.round(r.recordsPerSecond * n)} | ${(r.recordsPerSecond / copyRate).toFixed(3)} |`).join('\n')}
`
    : ''
}
- "Reconciled" means every record went through validation, identity resolution, source record, claims,
  golden values, field history, conflicts and the persons projection, in transactions of 5,000.
`
    console.log(section)
    const resultsFile = new URL('./RESULTS.md', import.meta.url).pathname
    const old = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '# Benchmark results\n'
    const re = /## Ingest\n[\s\S]*?(?=\n## |$)/
    writeFileSync(resultsFile, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`)
    console.error(`written to ${resultsFile}; CSV ${Math.round(statSync(personsCsv).size / 2 ** 20)} MB`)
  } finally {
    if (!values.keep) await admin(`DROP DATABASE IF EXISTS ${dbName}`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
