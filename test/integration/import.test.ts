import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Knex } from 'knex'
import { describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { idNumberCheckChar } from '../../src/reconciliation/rules/id-number.js'
import type { RecordInput } from '../../src/reconciliation/rules/validate.js'
import { submitRecords } from '../../src/reconciliation/submission.service.js'
import type { EntityTypeName } from '../../src/shared/entity-types.js'
import { createRng } from '../../src/shared/random.js'
import { testKnex, uniqueSuffix } from '../helpers.js'

// The CLI runs as a child process on the run's database. The embedded database takes one session,
// so this file holds no connection while the CLI runs: every check opens and closes its own.
async function withDb<T>(fn: (knex: Knex) => Promise<T>): Promise<T> {
  const knex = testKnex()
  try {
    return await fn(knex)
  } finally {
    await knex.destroy()
  }
}

interface CliRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs the import command; with killAfterChunks, it is killed hard after that many committed chunks. */
function runImport(args: string[], killAfterChunks?: number): Promise<CliRun> {
  const script = killAfterChunks
    ? ['test/support/import-killed-after-chunks.ts', String(killAfterChunks)]
    : ['src/cli/import.ts']
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...script, ...args], {
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
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

interface Summary {
  records: number
  resumedFrom: number
  accepted: number
  created: number
  updated: number
  unchanged: number
  conflictsOpened: number
  rejected: number
  rejectionReport: string | null
}

async function importJson(args: string[]): Promise<Summary> {
  const r = await runImport(['--json', ...args])
  expect(r.stderr.match(/import(?: failed)?: .*/)?.[0] ?? null).toBe(null)
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Summary
}

const config = loadConfig({ ...process.env, DATABASE_URL: 'postgres://unused' })
const dir = join(tmpdir(), `import-test-${uniqueSuffix()}`)
mkdirSync(dir, { recursive: true })
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

/**
 * n valid persons; everything but the key and ID number comes from attrSeed, so two sets with the
 * same seed differ only there. The ID number's sequence part is set*100 + i: distinct across sets.
 */
function persons(keyPrefix: string, set: number, attrSeed: string, n: number): RecordInput[] {
  const attrs = createRng(attrSeed)
  return Array.from({ length: n }, (_, i) => {
    const year = attrs.int(1950, 2005)
    const birthDate = `${year}-${String(attrs.int(1, 12)).padStart(2, '0')}-${String(attrs.int(1, 28)).padStart(2, '0')}`
    const body = `330106${birthDate.replace(/-/g, '')}${String(set * 100 + i).padStart(3, '0')}`
    return {
      sourceKey: `${keyPrefix}-${i}`,
      observedAt: '2024-06-01T00:00:00.000Z',
      attributes: {
        idNumber: body + idNumberCheckChar(body),
        name: `${attrs.pick(['王', '李', '张'])}${attrs.pick(['伟', '芳', '娜', '敏'])}${i}`,
        gender: attrs.pick(['MALE', 'FEMALE']),
        birthDate,
        ethnicity: '汉族',
      },
    }
  })
}

function addresses(keyPrefix: string, textPart: string, n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    sourceKey: `${keyPrefix}-${i}`,
    attributes: {
      fullText: `杭州市西湖区${textPart}路${i + 1}号`,
      divisionCode: '330106',
      road: `${textPart}路`,
      doorNumber: `${i + 1}号`,
    },
    geometry: { type: 'Point', coordinates: [120.1 + i / 1000, 30.25] },
  }))
}

const cell = (v: unknown) => {
  const s = v === undefined || v === null ? '' : String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

function toCsv(records: RecordInput[], geometry: 'none' | 'lonlat' | 'geojson' = 'none'): string {
  const names = [...new Set(records.flatMap((r) => Object.keys(r.attributes as object)))]
  const head = [
    'sourceKey',
    'observedAt',
    ...names,
    ...(geometry === 'lonlat' ? ['lon', 'lat'] : geometry === 'geojson' ? ['geometry'] : []),
  ]
  const rows = records.map((r) => {
    const a = r.attributes as Record<string, unknown>
    const g = r.geometry as { coordinates: number[] } | undefined
    return [
      r.sourceKey,
      r.observedAt,
      ...names.map((n) => a[n]),
      ...(geometry === 'lonlat'
        ? [g?.coordinates[0], g?.coordinates[1]]
        : geometry === 'geojson'
          ? [g ? JSON.stringify(g) : '']
          : []),
    ]
      .map(cell)
      .join(',')
  })
  return `${head.join(',')}\n${rows.join('\n')}\n`
}

const toNdjson = (records: RecordInput[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n'

const toGeoJson = (records: RecordInput[]) =>
  JSON.stringify({
    type: 'FeatureCollection',
    features: records.map((r) => ({
      type: 'Feature',
      properties: { sourceKey: r.sourceKey, ...(r.attributes as object) },
      geometry: r.geometry ?? null,
    })),
  })

/**
 * Golden values of the entities behind the given source keys, in key order, with the key-specific
 * parts masked (idNumber dropped, `mask` replaced by "*"), so two imports of the same data compare.
 */
async function goldenOf(
  department: string,
  entityType: EntityTypeName,
  keys: string[],
  mask: string,
): Promise<unknown[]> {
  return withDb(async (knex) => {
    const recs = await knex('source_records')
      .select('source_key', 'entity_id')
      .where({ department_code: department, entity_type: entityType })
      .whereIn('source_key', keys)
    const byKey = new Map(recs.map((r: { source_key: string; entity_id: string }) => [r.source_key, r.entity_id]))
    const ids = [...byKey.values()]
    const golden = await knex('golden_values')
      .select('entity_id', 'field', 'value', 'status', 'source_department')
      .whereIn('entity_id', ids)
      .whereNot('field', 'idNumber')
      .orderBy('field')
    const claims = await knex('claims')
      .select('entity_id')
      .count('* as n')
      .whereIn('entity_id', ids)
      .groupBy('entity_id')
    const history = await knex('field_history')
      .select('entity_id')
      .count('* as n')
      .whereIn('entity_id', ids)
      .groupBy('entity_id')
    const count = (rows: Record<string, unknown>[], id: string) => Number(rows.find((r) => r.entity_id === id)?.n ?? 0)
    return keys.map((k) => {
      const id = byKey.get(k)
      if (!id) return null
      return {
        golden: golden
          .filter((g: { entity_id: string }) => g.entity_id === id)
          .map((g: { field: string; value: unknown; status: string; source_department: string }) => ({
            field: g.field,
            value: JSON.parse(JSON.stringify(g.value).split(mask).join('*')),
            status: g.status,
            dept: g.source_department,
          })),
        claims: count(claims, id),
        history: count(history, id),
      }
    })
  })
}

async function submitViaApi(department: string, entityType: EntityTypeName, records: RecordInput[]) {
  return withDb((knex) => submitRecords(knex, { department, entityType, records }, config))
}

const keysOf = (records: RecordInput[]) => records.map((r) => r.sourceKey as string)

describe('npm run import', { timeout: 180_000 }, () => {
  it('CSV and NDJSON persons get the same golden values as the same records through submitRecords', async () => {
    const s = uniqueSuffix()
    const viaCsv = persons(`csv-${s}`, 1, `attrs-${s}`, 6)
    const viaNd = persons(`nd-${s}`, 2, `attrs-${s}`, 6)
    const viaApi = persons(`api-${s}`, 3, `attrs-${s}`, 6)
    const csv = await importJson(['--department', 'PSB', '--entity-type', 'PERSON', file(`p-${s}.csv`, toCsv(viaCsv))])
    expect(csv).toMatchObject({ records: 6, created: 6, rejected: 0, rejectionReport: null })
    const nd = await importJson([
      '--department',
      'PSB',
      '--entity-type',
      'PERSON',
      file(`p-${s}.ndjson`, toNdjson(viaNd)),
    ])
    expect(nd).toMatchObject({ records: 6, created: 6, rejected: 0 })
    const api = await submitViaApi('PSB', 'PERSON', viaApi)
    expect(api.created).toBe(6)

    const expected = await goldenOf('PSB', 'PERSON', keysOf(viaApi), `api-${s}`)
    expect(expected.every((e) => e !== null && (e as { golden: unknown[] }).golden.length === 4)).toBe(true)
    expect(await goldenOf('PSB', 'PERSON', keysOf(viaCsv), `csv-${s}`)).toEqual(expected)
    expect(await goldenOf('PSB', 'PERSON', keysOf(viaNd), `nd-${s}`)).toEqual(expected)
  })

  it('GeoJSON and CSV (lon/lat and geometry columns) addresses get the same golden values as submitRecords', async () => {
    const s = uniqueSuffix()
    const sets = {
      geo: addresses(`geo-${s}`, `geo${s}`, 4),
      lonlat: addresses(`ll-${s}`, `ll${s}`, 4),
      gcol: addresses(`gc-${s}`, `gc${s}`, 4),
      api: addresses(`api-${s}`, `api${s}`, 4),
    }
    expect(
      await importJson([
        '--department',
        'CAB',
        '--entity-type',
        'ADDRESS',
        file(`a-${s}.geojson`, toGeoJson(sets.geo)),
      ]),
    ).toMatchObject({ created: 4, rejected: 0 })
    expect(
      await importJson([
        '--department',
        'CAB',
        '--entity-type',
        'ADDRESS',
        file(`ll-${s}.csv`, toCsv(sets.lonlat, 'lonlat')),
      ]),
    ).toMatchObject({ created: 4, rejected: 0 })
    expect(
      await importJson([
        '--department',
        'CAB',
        '--entity-type',
        'ADDRESS',
        '--format',
        'csv',
        file(`gc-${s}.txt`, toCsv(sets.gcol, 'geojson')),
      ]),
    ).toMatchObject({ created: 4, rejected: 0 })
    expect((await submitViaApi('CAB', 'ADDRESS', sets.api)).created).toBe(4)

    const expected = await goldenOf('CAB', 'ADDRESS', keysOf(sets.api), `api${s}`)
    const location = (expected[0] as { golden: { field: string; value: unknown }[] }).golden.find(
      (g) => g.field === 'location',
    )
    expect(location?.value).toEqual({ type: 'Point', coordinates: [120.1, 30.25] })
    expect(await goldenOf('CAB', 'ADDRESS', keysOf(sets.geo), `geo${s}`)).toEqual(expected)
    expect(await goldenOf('CAB', 'ADDRESS', keysOf(sets.lonlat), `ll${s}`)).toEqual(expected)
    expect(await goldenOf('CAB', 'ADDRESS', keysOf(sets.gcol), `gc${s}`)).toEqual(expected)
  })

  it('reports rejected rows with their codes without blocking the others, and a re-run is unchanged', async () => {
    const s = uniqueSuffix()
    const records = persons(`rej-${s}`, 4, `attrs-rej-${s}`, 5)
    ;(records[1].attributes as Record<string, unknown>).idNumber = '330106199001011234'
    ;(records[3].attributes as Record<string, unknown>).birthDate = '1990-02-30'
    const path = file(`rej-${s}.csv`, toCsv(records))
    const first = await importJson(['--department', 'PSB', '--entity-type', 'PERSON', path])
    expect(first).toMatchObject({
      records: 5,
      accepted: 3,
      created: 3,
      rejected: 2,
      rejectionReport: `${path}.rejected.ndjson`,
    })
    const report = () =>
      readFileSync(`${path}.rejected.ndjson`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    expect(report()).toEqual([
      {
        index: 1,
        line: 3,
        sourceKey: `rej-${s}-1`,
        code: 'INVALID_ID_NUMBER',
        field: 'idNumber',
        message: expect.any(String),
      },
      {
        index: 3,
        line: 5,
        sourceKey: `rej-${s}-3`,
        code: 'INVALID_DATE',
        field: 'birthDate',
        message: expect.any(String),
      },
    ])
    const quarantined = await withDb((knex) =>
      knex('quarantined_records')
        .whereIn('source_key', [`rej-${s}-1`, `rej-${s}-3`])
        .orderBy('source_key')
        .pluck('code'),
    )
    expect(quarantined).toEqual(['INVALID_ID_NUMBER', 'INVALID_DATE'])

    const again = await importJson(['--department', 'PSB', '--entity-type', 'PERSON', path])
    expect(again).toMatchObject({
      records: 5,
      resumedFrom: 0,
      accepted: 3,
      created: 0,
      updated: 0,
      unchanged: 3,
      rejected: 2,
    })
    expect(report().map((r) => r.index)).toEqual([1, 3])
  })

  it('resumes after a crash: re-running the same command ends in the state of a clean run', async () => {
    const s = uniqueSuffix()
    const crashed = persons(`crash-${s}`, 5, `attrs-crash-${s}`, 9)
    const clean = persons(`clean-${s}`, 6, `attrs-crash-${s}`, 9)
    for (const set of [crashed, clean]) (set[6].attributes as Record<string, unknown>).gender = 'NOT_A_GENDER'
    const path = file(`crash-${s}.ndjson`, toNdjson(crashed))
    const args = ['--department', 'PSB', '--entity-type', 'PERSON', '--chunk-size', '2', path]

    // Killed hard (SIGKILL, no clean-up) right after its second chunk committed.
    const killed = await runImport(args, 2)
    expect(killed.signal).toBe('SIGKILL')
    const run = await withDb((knex) =>
      knex('import_runs')
        .where({ file_name: `crash-${s}.ndjson` })
        .first(),
    )
    expect(run).toMatchObject({ records_committed: 4, finished_at: null })
    const linked = await withDb((knex) =>
      knex('source_records')
        .where({ department_code: 'PSB' })
        .whereLike('source_key', `crash-${s}-%`)
        .count('* as n')
        .first(),
    )
    expect(Number(linked!.n)).toBe(4)

    const resumed = await importJson(args)
    expect(resumed).toMatchObject({
      records: 9,
      resumedFrom: 4,
      accepted: 8,
      created: 8,
      unchanged: 0,
      rejected: 1,
    })
    expect(
      readFileSync(`${path}.rejected.ndjson`, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      {
        index: 6,
        line: 7,
        sourceKey: `crash-${s}-6`,
        code: 'INVALID_VALUE',
        field: 'gender',
        message: expect.any(String),
      },
    ])
    const finished = await withDb((knex) => knex('import_runs').where({ id: run.id }).first())
    expect(finished.finished_at).not.toBe(null)

    const cleanRun = await importJson([
      '--department',
      'PSB',
      '--entity-type',
      'PERSON',
      '--chunk-size',
      '2',
      file(`clean-${s}.ndjson`, toNdjson(clean)),
    ])
    expect(cleanRun).toMatchObject({ created: 8, rejected: 1 })
    const mask = (set: string) => `${set}-${s}`
    expect(await goldenOf('PSB', 'PERSON', keysOf(crashed), mask('crash'))).toEqual(
      await goldenOf('PSB', 'PERSON', keysOf(clean), mask('clean')),
    )
  })

  it('refuses bad files and bad command lines with a clear message and exit code', async () => {
    const s = uniqueSuffix()
    const noKey = await runImport([
      '--department',
      'PSB',
      '--entity-type',
      'PERSON',
      file(`nokey-${s}.csv`, 'key,name\nk1,王伟\n'),
    ])
    expect(noKey.code).toBe(3)
    expect(noKey.stderr).toMatch(/line 1: the header row has no "sourceKey" column/)

    const badLine = await runImport([
      '--department',
      'PSB',
      '--entity-type',
      'PERSON',
      file(
        `bad-${s}.ndjson`,
        `${JSON.stringify({ sourceKey: `bad-${s}`, attributes: {} })}\n{"sourceKey": "x", attributes}\n`,
      ),
    ])
    expect(badLine.code).toBe(3)
    expect(badLine.stderr).toMatch(/line 2: not valid JSON/)

    const notCollection = await runImport([
      '--department',
      'NRP',
      '--entity-type',
      'ADDRESS',
      file(`f-${s}.geojson`, '{"type":"Feature","properties":{},"geometry":null}'),
    ])
    expect(notCollection.code).toBe(3)
    expect(notCollection.stderr).toMatch(/not a GeoJSON FeatureCollection/)

    const unknownExt = await runImport([
      '--department',
      'PSB',
      '--entity-type',
      'PERSON',
      file(`x-${s}.txt`, 'sourceKey\n'),
    ])
    expect(unknownExt.code).toBe(2)
    expect(unknownExt.stderr).toMatch(/cannot tell the format of .* from its extension/)

    const badFormat = await runImport([
      '--department',
      'PSB',
      '--entity-type',
      'PERSON',
      '--format',
      'xml',
      join(dir, `x-${s}.txt`),
    ])
    expect(badFormat.code).toBe(2)
    expect(badFormat.stderr).toMatch(/unknown --format "xml"/)

    const badDept = await runImport([
      '--department',
      'NOPE',
      '--entity-type',
      'PERSON',
      file(`d-${s}.csv`, 'sourceKey\n'),
    ])
    expect(badDept.code).toBe(2)
    expect(badDept.stderr).toMatch(/unknown department "NOPE"/)

    const missing = await runImport(['--department', 'PSB', '--entity-type', 'PERSON', join(dir, 'does-not-exist.csv')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/no such file/)
    expect(existsSync(join(dir, `bad-${s}.ndjson.rejected.ndjson`))).toBe(false)
  })
})
