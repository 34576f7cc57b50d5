/**
 * Per-statement profile of a bulk import (client-side timing through knex query events): the
 * share of time per statement shape. Uses the CSVs bench/ingest.ts leaves in bench/tmp/.
 *
 *   tsx bench/profile-ingest.ts --database-url postgres://…/fresh_db --persons 50000 [--chunk-size 5000] [--items 20]
 *
 * --items N then also defines the N HRSS items of bench/ingest.ts and profiles the import of its
 * hrss-items<N>-<persons>.csv (updates of every person with N item claims).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadConfig } from '../src/config.js'
import { openCliDatabase } from '../src/cli/database.js'
import { importFile } from '../src/reconciliation/import.service.js'
import { defineDataItems } from '../src/reconciliation/data-items.service.js'

const { values } = parseArgs({
  options: {
    persons: { type: 'string' },
    'database-url': { type: 'string' },
    'chunk-size': { type: 'string' },
    items: { type: 'string' },
  },
})
const persons = Number(values.persons ?? 50000)
const config = loadConfig({
  ...process.env,
  DATABASE_URL: values['database-url'] ?? process.env.DATABASE_URL,
})
const db = await openCliDatabase(config)
const stats = new Map<string, { n: number; ms: number }>()
const started = new Map<string, number>()
const shape = (sql: string) =>
  sql
    .replace(/\s+/g, ' ')
    .replace(/\$\d+(, \$\d+)*/g, '$n')
    .replace(/\?(, \?)*/g, '?')
    .slice(0, 150)
db.knex.on('query', (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()))
db.knex.on('query-response', (_r: unknown, q: { __knexQueryUid: string; sql: string }) => {
  const t = started.get(q.__knexQueryUid)
  if (t === undefined) return
  started.delete(q.__knexQueryUid)
  const k = shape(q.sql)
  const s = stats.get(k) ?? { n: 0, ms: 0 }
  s.n++
  s.ms += performance.now() - t
  stats.set(k, s)
})
// CPU seconds of the database backend (same machine) and of this process: steadier than wall time
// on a shared machine.
const {
  rows: [{ pid }],
} = await db.knex.raw('SELECT pg_backend_pid() AS pid')
const backendCpu = () => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return NaN
  }
}
const dir = new URL('./tmp/', import.meta.url).pathname
const items = Number(values.items ?? 0)
const files: [string, string][] = [
  ['PSB', `${dir}psb-persons-${persons}.csv`],
  ['HEALTH', `${dir}health-births-${persons}.csv`],
]
if (items) files.push(['HRSS', `${dir}hrss-items${items}-${persons}.csv`])
for (const [department, file] of files) {
  if (department === 'HRSS')
    await defineDataItems(
      db.knex,
      { principalId: null, departmentCode: null },
      Array.from({ length: items }, (_, i) => ({
        entityType: 'PERSON' as const,
        name: `bench${items}x${i}`,
        title: `bench${items}x${i}`,
        dataType: 'INTEGER' as const,
        min: 0,
        max: 100,
        authority: 'HRSS',
        sharingClass: 'CONDITIONAL' as const,
      })),
    )
  stats.clear()
  const t = performance.now()
  const cpu0 = process.cpuUsage()
  const db0 = backendCpu()
  const r = await importFile(
    db.knex,
    {
      file,
      format: 'csv',
      department,
      entityType: 'PERSON',
      chunkSize: Number(values['chunk-size'] ?? 5000),
    },
    config,
  )
  const total = performance.now() - t
  const inSql = [...stats.values()].reduce((a, s) => a + s.ms, 0)
  const cpu = process.cpuUsage(cpu0)
  console.log(
    `\n${department} CPU: database backend ${(backendCpu() - db0).toFixed(1)} s, import process ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
  )
  console.log(
    `\n${department}: ${r.records} records in ${(total / 1000).toFixed(1)} s = ${Math.round(r.records / (total / 1000))}/s; SQL ${(inSql / 1000).toFixed(1)} s, JS ${((total - inSql) / 1000).toFixed(1)} s`,
  )
  for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25))
    console.log(`${(s.ms / 1000).toFixed(2).padStart(7)} s ${String(s.n).padStart(6)}× ${k}`)
}
await db.close()
