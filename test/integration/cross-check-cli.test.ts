import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Knex } from 'knex'
import { describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { csvRows } from '../../src/reconciliation/import.readers.js'
import type { RecordInput } from '../../src/reconciliation/rules/validate.js'
import { submitRecords } from '../../src/reconciliation/submission.service.js'
import type { EntityTypeName } from '../../src/shared/entity-types.js'
import { testKnex, uniqueSuffix } from '../helpers.js'
import { makeIdNumber } from './scenario.fixtures.js'

// `npm run cross-check` as a child process on the run's database (the embedded one takes one
// session, so this file holds no connection while the CLI runs).
async function withDb<T>(fn: (knex: Knex) => Promise<T>): Promise<T> {
  const knex = testKnex()
  try {
    return await fn(knex)
  } finally {
    await knex.destroy()
  }
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/cross-check.ts', ...args], {
      env: { ...process.env, DATABASE_URL: inject('databaseUrl') },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const config = loadConfig({ ...process.env, DATABASE_URL: 'postgres://unused' })
const submit = (department: string, entityType: EntityTypeName, records: RecordInput[]) =>
  withDb((knex) => submitRecords(knex, { department, entityType, records }, config))
const dir = join(tmpdir(), `cross-check-cli-${uniqueSuffix()}`)
mkdirSync(dir, { recursive: true })

describe('npm run cross-check', { timeout: 180_000 }, () => {
  it('compares a file, prints progress and writes the hits as CSV, masked as the API would', async () => {
    const employed = makeIdNumber('1982-02-02')
    const dead = makeIdNumber('1950-02-02')
    const plain = makeIdNumber('1983-03-03')
    await submit(
      'PSB',
      'PERSON',
      [employed, dead, plain].map((idNumber) => ({
        sourceKey: `cli-${idNumber}`,
        attributes: { idNumber, name: '比对', ...(idNumber === dead ? { deathDate: '2024-04-04' } : {}) },
      })),
    )
    await submit('HRSS', 'PERSON', [
      {
        sourceKey: `cli-h-${employed}`,
        observedAt: '2024-08-01T00:00:00Z',
        attributes: { idNumber: employed, employmentStatus: 'EMPLOYED' },
      },
    ])
    const bad = `${plain.slice(0, 17)}${plain[17] === '0' ? '1' : '0'}`
    const file = join(dir, 'subjects.csv')
    writeFileSync(
      file,
      `key,ref,since\r\n${employed},A-1,2024-03-01\r\n${dead},"A-2, died",2024-03-01\r\n${plain},A-3,2024-03-01\r\n${bad},A-4,2024-03-01\r\n`,
    )
    const out = join(dir, 'hits.csv')
    const r = await runCli([
      '--type',
      'EMPLOYMENT_WHILE_ON_BENEFIT',
      '--out',
      out,
      '--purpose',
      'cli test',
      '--json',
      file,
    ])
    expect(r.stderr).toContain('4 / 4 subjects compared')
    expect(r.code).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!)
    expect(summary).toMatchObject({ subjects: 4, invalid: 1, notFound: 0, hitSubjects: 2, hits: 2, out })
    const text = readFileSync(out, 'utf8')
    expect(text.startsWith('\uFEFF')).toBe(true)
    const rows: string[][] = []
    for await (const { cells } of csvRows(
      (async function* () {
        yield text
      })(),
    ))
      rows.push(cells)
    expect(rows[0].join(',')).toBe('subjectKey,subjectRef,rule,hitId,field,value,source,observedAt,entityId')
    const byRule = Object.fromEntries(rows.slice(1).map((c) => [c[2], c]))
    expect(byRule.EMPLOYED_SINCE.slice(0, 2)).toEqual([employed, 'A-1'])
    expect(byRule.EMPLOYED_SINCE.slice(4, 8)).toEqual([
      'PERSON.employmentStatus',
      'EMPLOYED',
      'HRSS',
      '2024-08-01T00:00:00.000Z',
    ])
    // The CLI acts as an HRSS app: HRSS has no grant on deathDate, so the value is withheld.
    expect(text).toContain('"A-2, died",DECEASED')
    expect(byRule.DECEASED.slice(0, 2)).toEqual([dead, 'A-2, died'])
    expect(byRule.DECEASED.slice(4, 7)).toEqual(['PERSON.deathDate', '(withheld)', 'PSB'])
    await withDb(async (knex) => {
      const log = await knex('access_log').where(
        'operation_name',
        `crossCheck EMPLOYMENT_WHILE_ON_BENEFIT ${summary.checkId}`,
      )
      expect(log).toHaveLength(1)
      expect(log[0].purpose).toBe('cli test')
      expect(log[0].person_ids).toHaveLength(3)
    })
  })

  it('refuses an unknown type (exit 2) and a file without a key column (exit 3)', async () => {
    const file = join(dir, 'nokey.csv')
    writeFileSync(file, 'id,ref\r\n1,2\r\n')
    const unknown = await runCli(['--type', 'NO_SUCH_TYPE', file])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('unknown cross-check type NO_SUCH_TYPE')
    const noKey = await runCli(['--type', 'EMPLOYMENT_WHILE_ON_BENEFIT', file])
    expect(noKey.code).toBe(3)
    expect(noKey.stderr).toContain('no "key" column')
  })
})
