/**
 * Parallel-writers benchmark: four departments import their own files (about disjoint persons)
 * one after the other, then four other files of the same size and kind all at once, into one
 * FRESH real-PostGIS database. The ratio of the two throughputs is the gain from per-entity locks
 * (with one global write lock it was ~1).
 *
 *   npm run bench:parallel -- [--persons 4000] [--database-url postgres://…] [--keep]
 *
 * --persons is per department (the PSB set-up creates 4 × that many persons first, untimed).
 * Each department's file: one record per person of its slice (idNumber + birthDate, agreeing
 * with PSB), a new source record linked by natural key, claims and golden values re-decided.
 * Results are printed and written to bench/RESULTS.md ("Parallel writers").
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { writeLines } from './csv-file.js'
import { benchDatabase } from './fresh-database.js'
import { HANGZHOU } from '../seeds/demo.js'
import { generatePersons } from '../seeds/demo/generators.js'
import { createRng } from '../src/shared/random.js'

const { values } = parseArgs({
  options: { persons: { type: 'string' }, 'database-url': { type: 'string' }, keep: { type: 'boolean' } },
})
const perDepartment = Number(values.persons ?? 4000)
const baseUrl = values['database-url'] ?? process.env.DATABASE_URL
if (!baseUrl || !Number.isInteger(perDepartment) || perDepartment < 1) {
  console.error('usage: npm run bench:parallel -- [--persons N] --database-url postgres://… (or DATABASE_URL)')
  process.exit(2)
}
const DEPARTMENTS = ['HEALTH', 'HRSS', 'CAB', 'EDU']
const { dbName, url, admin } = benchDatabase(baseUrl, 'parallel_bench')

const dir = new URL('./tmp/', import.meta.url).pathname
mkdirSync(dir, { recursive: true })
const people = [
  ...generatePersons(createRng('bench-parallel'), perDepartment * DEPARTMENTS.length, {
    districts: HANGZHOU.districts,
  }),
]

const psbFile = `${dir}parallel-psb-${perDepartment}.csv`
function* psbLines(): Generator<string> {
  yield 'sourceKey,observedAt,idNumber,name,gender,birthDate\n'
  for (const p of people) {
    const a = p.attributes
    yield `${p.sourceKey},2024-01-01T00:00:00Z,${a.idNumber},${a.name},${a.gender},${a.birthDate}\n`
  }
}
/** Department d's file for a round: its slice of persons, new source keys. */
function* departmentLines(d: number, round: string): Generator<string> {
  yield 'sourceKey,observedAt,idNumber,birthDate\n'
  for (let i = d * perDepartment; i < (d + 1) * perDepartment; i++) {
    const a = people[i].attributes
    yield `${DEPARTMENTS[d]}-${round}-${i},2024-06-01T00:00:00Z,${a.idNumber},${a.birthDate}\n`
  }
}

interface CliSummary {
  records: number
  seconds: number
  recordsPerSecond: number
}

/** Runs the import CLI as its own process; resolves with its summary. */
function importWithCli(department: string, file: string): Promise<CliSummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/import.ts', '--json', '--department', department, '--entity-type', 'PERSON', file],
      { env: { ...process.env, DATABASE_URL: url.toString() }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (b) => {
      out += b
    })
    child.stderr.on('data', (b) => {
      err += b
    })
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`import of ${file} failed (${code}): ${err}`))
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as CliSummary)
    })
  })
}

async function main(): Promise<void> {
  await writeLines(psbFile, psbLines())
  const files: Record<string, string[]> = { sequential: [], parallel: [] }
  for (const round of ['sequential', 'parallel'])
    for (let d = 0; d < DEPARTMENTS.length; d++) {
      const f = `${dir}parallel-${round}-${DEPARTMENTS[d]}-${perDepartment}.csv`
      await writeLines(f, departmentLines(d, round))
      files[round].push(f)
    }
  await admin(`DROP DATABASE IF EXISTS ${dbName}`)
  await admin(`CREATE DATABASE ${dbName}`)
  try {
    // Set-up (untimed): the CLI migrates the fresh database; PSB creates every person.
    const psb = await importWithCli('PSB', psbFile)
    console.error(`set-up: PSB created ${psb.records} persons in ${psb.seconds.toFixed(1)} s`)

    let t = performance.now()
    const sequential: CliSummary[] = []
    for (let d = 0; d < DEPARTMENTS.length; d++)
      sequential.push(await importWithCli(DEPARTMENTS[d], files.sequential[d]))
    const sequentialSeconds = (performance.now() - t) / 1000
    console.error(`one importer at a time: ${4 * perDepartment} records in ${sequentialSeconds.toFixed(1)} s`)

    t = performance.now()
    const parallel = await Promise.all(DEPARTMENTS.map((dep, d) => importWithCli(dep, files.parallel[d])))
    const parallelSeconds = (performance.now() - t) / 1000
    console.error(`four importers at once: ${4 * perDepartment} records in ${parallelSeconds.toFixed(1)} s`)

    const total = DEPARTMENTS.length * perDepartment
    const seqRate = total / sequentialSeconds
    const parRate = total / parallelSeconds
    const ratio = parRate / seqRate
    // Without the processes' start-up (tsx, connecting, migrations check): the import loops only.
    const seqImport = sequential.reduce((a, p) => a + p.seconds, 0)
    const parImport = Math.max(...parallel.map((p) => p.seconds))
    const importRatio = total / parImport / (total / seqImport)
    const pgVersion = execFileSync('psql', [url.toString(), '-tAc', 'SHOW server_version'], {
      encoding: 'utf8',
    }).trim()
    const machine = `${cpus().length} vCPU (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, PostgreSQL ${pgVersion}, Node ${process.version}`
    const section = `## Parallel writers

Command: \`npm run bench:parallel -- --persons ${perDepartment}\` (real PostGIS via DATABASE_URL; a fresh database per run).
Machine: ${machine}; ${new Date().toISOString().slice(0, 10)}. **The machine is shared with other engineers' builds and
tests while this runs**, so absolute numbers are noisy; both rounds run in the same process minutes apart.

Four departments (${DEPARTMENTS.join(', ')}) each import a file of ${perDepartment.toLocaleString('en')} records about their own
slice of ${(total).toLocaleString('en')} persons that PSB created first (untimed). Round 1: the four files one after the other;
round 2: four other files of the same size and kind, four import processes at once. Round 2 does slightly more
work per record (each person has one more department's claims to weigh), so the ratio is if anything understated.

| | records | seconds | records/s |
|---|---:|---:|---:|
| one importer at a time (4 files in turn) | ${total} | ${sequentialSeconds.toFixed(1)} | ${Math.round(seqRate)} |
| four importers at once | ${total} | ${parallelSeconds.toFixed(1)} | ${Math.round(parRate)} |

**Ratio (wall clock, start-up of each process included): ${ratio.toFixed(2)}×** (goal ≥ 1.6×).
Import loops only (the CLI's own seconds; round 1 summed, round 2 the slowest of the four):
${seqImport.toFixed(1)} s vs ${parImport.toFixed(1)} s, **${importRatio.toFixed(2)}×**.
Per-process rates, round 1: ${sequential.map((p) => p.recordsPerSecond).join(', ')}; round 2: ${parallel.map((p) => p.recordsPerSecond).join(', ')} records/s.
`
    console.log(section)
    const resultsFile = new URL('./RESULTS.md', import.meta.url).pathname
    const old = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '# Benchmark results\n'
    const re = /## Parallel writers\n[\s\S]*?(?=\n## |$)/
    writeFileSync(resultsFile, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`)
  } finally {
    if (!values.keep) await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
