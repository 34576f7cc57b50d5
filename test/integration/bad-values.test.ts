import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { asDept, makeCreditCode, makeIdNumber, SUBMIT, submit, type RecordIn } from './scenario.fixtures.js'

// Values PostgreSQL cannot store (NUL, lone surrogates, year 0, 3-D positions, …) and values a
// lenient parser would have turned into something else ("0x10" → 16, 12345 → "12345"): each is a
// coded per-record rejection, quarantined, while the rest of the same batch is applied.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

interface Bad {
  why: string
  record: Omit<RecordIn, 'sourceKey'> & { sourceKey?: string }
  code: string
  field: string
}

/** Submits every bad record and one good one in one batch; the good one is applied, each bad one rejected and quarantined. */
async function batchRejects(department: string, entityType: string, bad: Bad[], good: RecordIn) {
  const batchKey = `bv-${uniqueSuffix()}`
  const records = [...bad.map((b, i) => ({ sourceKey: `bad${i}-${batchKey}`, ...b.record })), good]
  const r = await submit(server, department, entityType, records as RecordIn[], batchKey)
  expect(r.created + r.updated).toBe(1)
  expect(r.rejected.map((x) => [bad[x.index]?.why, x.code, x.field])).toEqual(bad.map((b) => [b.why, b.code, b.field]))
  for (const x of r.rejected) expect(x.message).not.toMatch(/\u0000|syntax|SQL|stack/i)
  const q = await server.knex('quarantined_records').where({ batch_key: batchKey }).orderBy('record_index')
  expect(q.map((x) => [x.record_index, x.code])).toEqual(r.rejected.map((x) => [x.index, x.code]))
  return { result: r, quarantined: q }
}

describe('unstorable and leniently parsed values are per-record rejections', () => {
  it('PERSON: NUL, lone surrogates, year 0, numbers as names, over-long, bad keys', async () => {
    const idNumber = makeIdNumber('1990-01-01')
    const bad: Bad[] = [
      { why: 'NUL in a value', record: { attributes: { name: 'Li\u0000Lei' } }, code: 'INVALID_VALUE', field: 'name' },
      {
        why: 'NUL in sourceKey',
        record: { sourceKey: 'k\u0000', attributes: { name: 'Li' } },
        code: 'INVALID_VALUE',
        field: 'sourceKey',
      },
      {
        why: 'NUL in an attribute name',
        record: { attributes: { 'na\u0000me': 'Li' } },
        code: 'UNKNOWN_FIELD',
        field: 'na\uFFFDme',
      },
      {
        why: 'lone high surrogate',
        record: { attributes: { name: 'Li\uD800' } },
        code: 'INVALID_VALUE',
        field: 'name',
      },
      { why: 'lone low surrogate', record: { attributes: { name: '\uDC00Li' } }, code: 'INVALID_VALUE', field: 'name' },
      {
        why: 'lone surrogate in sourceKey',
        record: { sourceKey: '\uDFFFk', attributes: { name: 'Li' } },
        code: 'INVALID_VALUE',
        field: 'sourceKey',
      },
      {
        why: 'year 0 date',
        record: { attributes: { name: 'Li', birthDate: '0000-01-01' } },
        code: 'INVALID_DATE',
        field: 'birthDate',
      },
      {
        why: 'year 0 observedAt',
        record: { observedAt: '0000-06-01T00:00:00Z', attributes: { name: 'Li' } } as never,
        code: 'INVALID_DATE',
        field: 'observedAt',
      },
      { why: 'number as a name', record: { attributes: { name: 12345 } }, code: 'INVALID_VALUE', field: 'name' },
      {
        why: 'over-long name',
        record: { attributes: { name: '李'.repeat(101) } },
        code: 'INVALID_VALUE',
        field: 'name',
      },
      { why: 'object as a name', record: { attributes: { name: { a: 'b' } } }, code: 'INVALID_VALUE', field: 'name' },
      {
        why: 'NUL in a reference key',
        record: { attributes: { name: 'Li', residenceAddress: '杭州\u0000' } },
        code: 'INVALID_VALUE',
        field: 'residenceAddress',
      },
      {
        why: 'employer key not a credit code',
        record: { attributes: { name: 'Li', employerCreditCode: 'ACME' } },
        code: 'INVALID_CREDIT_CODE',
        field: 'employerCreditCode',
      },
      {
        why: 'number as an ID number',
        // A JSON number (the digits lose precision as a double: one more reason to refuse it).
        // biome-ignore lint/correctness/noPrecisionLoss: the imprecise number is the bad input under test
        record: { attributes: { idNumber: 330106199001011234 } },
        code: 'INVALID_ID_NUMBER',
        field: 'idNumber',
      },
    ]
    const { quarantined } = await batchRejects('PSB', 'PERSON', bad, {
      sourceKey: `good-${uniqueSuffix()}`,
      attributes: { idNumber, name: 'Good Person' },
    })
    // The quarantined payload is kept, with what could not be stored replaced by U+FFFD.
    expect(quarantined[0].payload.attributes.name).toBe('Li\uFFFDLei')
    expect(quarantined[1].source_key).toBe('k\uFFFD')
  })

  it('LEGAL_ENTITY: "0x10", "Infinity", "1e400", "" and binary literals are not numbers', async () => {
    const bad: Bad[] = ['0x10', '0X10', '0b11', '0o7', 'Infinity', '-Infinity', 'NaN', '1e400', '', ' ', '1,000'].map(
      (v) => ({
        why: `capital ${JSON.stringify(v)}`,
        record: { attributes: { creditCode: makeCreditCode(), name: 'Firm', registeredCapital: v } },
        code: 'INVALID_VALUE',
        field: 'registeredCapital',
      }),
    )
    const good = {
      sourceKey: `g-${uniqueSuffix()}`,
      attributes: { creditCode: makeCreditCode(), name: 'Good firm', registeredCapital: '1.5e6' },
    }
    await batchRejects('AMR', 'LEGAL_ENTITY', bad, good)
    const row = await server.knex('legal_entities').where('name', 'Good firm').orderBy('updated_txid', 'desc').first()
    expect(Number(row.registered_capital)).toBe(1_500_000)
  })

  it('ADDRESS: 3-D and 4-D positions, NUL in the geometry, non-finite text numbers', async () => {
    const sfx = uniqueSuffix()
    const at = (i: number) => ({ fullText: `杭州市西湖区测试路${i}号${sfx}` })
    const bad: Bad[] = [
      {
        why: '3-D point',
        record: { attributes: at(1), geometry: { type: 'Point', coordinates: [120.1, 30.2, 12] } },
        code: 'INVALID_GEOMETRY',
        field: 'geometry',
      },
      {
        why: '4-D point',
        record: { attributes: at(2), geometry: { type: 'Point', coordinates: [120.1, 30.2, 12, 1] } },
        code: 'INVALID_GEOMETRY',
        field: 'geometry',
      },
      {
        why: '1-D point',
        record: { attributes: at(3), geometry: { type: 'Point', coordinates: [120.1] } },
        code: 'INVALID_GEOMETRY',
        field: 'geometry',
      },
      {
        why: 'NUL in geometry type',
        record: { attributes: at(4), geometry: { type: 'Point\u0000', coordinates: [120.1, 30.2] } },
        code: 'INVALID_GEOMETRY',
        field: 'geometry',
      },
      {
        why: 'text coordinates',
        record: { attributes: at(5), geometry: { type: 'Point', coordinates: ['120.1', '30.2'] } },
        code: 'INVALID_GEOMETRY',
        field: 'geometry',
      },
      {
        why: 'deeply nested',
        record: {
          attributes: at(6),
          geometry: { type: 'Point', coordinates: JSON.parse('['.repeat(40) + ']'.repeat(40)) },
        },
        code: 'INVALID_GEOMETRY',
        field: 'geometry',
      },
      {
        why: 'NUL in full text',
        record: { attributes: { fullText: `杭州\u0000${sfx}` } },
        code: 'INVALID_VALUE',
        field: 'fullText',
      },
    ]
    await batchRejects('CAB', 'ADDRESS', bad, {
      sourceKey: `good-${sfx}`,
      attributes: at(9),
      geometry: { type: 'Point', coordinates: [120.1, 30.2] },
    })
  })

  it('BUILDING and OBSERVATION: reference keys are validated like the key they name', async () => {
    await batchRejects(
      'NRP',
      'BUILDING',
      [
        {
          why: 'parcel key with spaces',
          record: { attributes: { name: 'B', parcelCode: 'not a parcel' } },
          code: 'INVALID_VALUE',
          field: 'parcelCode',
        },
        { why: 'number as a name', record: { attributes: { name: 7 } }, code: 'INVALID_VALUE', field: 'name' },
        {
          why: '"0x10" floors',
          record: { attributes: { name: 'B', floors: '0x10' } },
          code: 'INVALID_VALUE',
          field: 'floors',
        },
      ],
      { sourceKey: `good-${uniqueSuffix()}`, attributes: { name: 'Good building', floors: '16' } },
    )
    await batchRejects(
      'STATS',
      'OBSERVATION',
      [
        {
          why: 'indicator key with a space',
          record: { attributes: { indicatorCode: 'GDP total', regionCode: '330106', period: '2024', value: 1 } },
          code: 'INVALID_VALUE',
          field: 'indicatorCode',
        },
        {
          why: 'NUL in period',
          record: { attributes: { indicatorCode: 'GDP', regionCode: '330106', period: '2024\u0000', value: 1 } },
          code: 'INVALID_VALUE',
          field: 'period',
        },
      ],
      {
        sourceKey: `good-${uniqueSuffix()}`,
        attributes: { indicatorCode: `GDP${uniqueSuffix()}`, regionCode: '330106', period: '2024', value: 2 },
      },
    )
  })

  it('a batchKey that cannot be stored refuses the batch with a coded error, applying nothing', async () => {
    for (const batchKey of ['b\u0000', 'b\uD800', 'x'.repeat(201)]) {
      const sourceKey = `bk-${uniqueSuffix()}`
      const r = await server.gql(
        SUBMIT,
        { input: { entityType: 'PERSON', batchKey, records: [{ sourceKey, attributes: { name: 'Batch' } }] } },
        asDept('PSB'),
      )
      expect(r.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: expect.stringMatching(/batchKey/),
      })
      expect(await server.knex('source_records').where('source_key', sourceKey).first()).toBeUndefined()
    }
  })
})

describe('observedAt is bounded by the service clock', () => {
  it('a claim from the future is refused and says by how much it may lead; the batch goes on', async () => {
    const idNumber = makeIdNumber('1988-08-08')
    const soon = new Date(Date.now() + 60_000).toISOString()
    const r = await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `f1-${uniqueSuffix()}`,
        observedAt: '2999-01-01T00:00:00Z',
        attributes: { idNumber, name: 'Future' },
      },
      {
        sourceKey: `f2-${uniqueSuffix()}`,
        observedAt: soon,
        attributes: { idNumber: makeIdNumber(), name: 'Within skew' },
      },
      {
        sourceKey: `f3-${uniqueSuffix()}`,
        observedAt: '2024-12-01T00:00:00Z',
        attributes: { idNumber, name: 'Present' },
      },
    ])
    expect(r.rejected.map((x) => [x.index, x.code, x.field])).toEqual([[0, 'INVALID_DATE', 'observedAt']])
    expect(r.rejected[0].message).toMatch(/future.*300 s after the service's clock/)
    expect(r.created).toBe(2)
    // A later real correction is applied (no claim from 2999 outranks it).
    const next = await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `f3b-${uniqueSuffix()}`,
        observedAt: '2025-01-01T00:00:00Z',
        attributes: { idNumber, name: 'Corrected' },
      },
    ])
    expect(next.updated).toBe(1)
    const p = await server.gql('query($n: String!) { person(idNumber: $n) { name } }', { n: idNumber }, asDept('PSB'))
    expect(p.data.person.name).toBe('Corrected')
  })

  it('the allowed skew is configurable (OBSERVED_AT_MAX_SKEW_SECONDS)', async () => {
    const { loadConfig } = await import('../../src/config.js')
    expect(loadConfig({ OBSERVED_AT_MAX_SKEW_SECONDS: '30' }).observedAtMaxSkewMs).toBe(30_000)
    expect(() => loadConfig({ OBSERVED_AT_MAX_SKEW_SECONDS: 'soon' })).toThrow(/OBSERVED_AT_MAX_SKEW_SECONDS/)
  })
})

describe('the same inputs in GraphQL arguments and URL parameters are coded 400s', () => {
  const BAD_STRINGS = ['a\u0000b', 'a\uD800', '\uDC00']
  const queries: [string, (v: string) => Record<string, unknown>, string][] = [
    ['query($v: String!) { adminDivision(code: $v) { code } }', (v) => ({ v }), 'code'],
    ['query($v: String) { person(idNumber: $v) { id } }', (v) => ({ v }), 'idNumber'],
    [
      'query($v: String!) { persons(filter: { nameContains: $v }) { totalCount } }',
      (v) => ({ v }),
      'filter.nameContains',
    ],
    [
      'query($v: String!) { addresses(filter: { textContains: $v }) { totalCount } }',
      (v) => ({ v }),
      'filter.textContains',
    ],
    ['query($v: [String!]!) { personsByIdNumbers(idNumbers: $v) { status } }', (v) => ({ v: ['x', v] }), 'idNumbers.1'],
    ['query($v: String!) { changes(after: $v) { __typename } }', (v) => ({ v }), 'after'],
    ['query($v: String!) { observations(indicatorCode: $v) { value } }', (v) => ({ v }), 'indicatorCode'],
  ]
  it('GraphQL: NUL and lone surrogates in arguments, inline or as variables', async () => {
    for (const [query, vars, field] of queries)
      for (const bad of BAD_STRINGS) {
        const r = await server.gql(query, vars(bad), asDept('PSB'))
        expect([query, r.errors?.[0]?.extensions?.code, r.errors?.[0]?.extensions?.field]).toEqual([
          query,
          'BAD_USER_INPUT',
          field,
        ])
      }
    const inline = await server.gql('{ adminDivision(code: "33\\u0000") { code } }')
    expect(inline.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('GraphQL: dates outside years 1..9999 in asOf', async () => {
    for (const asOf of ['0000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+010000-01-01T00:00:00Z']) {
      const r = await server.gql(
        'query($a: DateTime) { person(idNumber: "330106199001011234", asOf: $a) { id } }',
        { a: asOf },
        asDept('PSB'),
      )
      expect([asOf, r.errors?.[0]?.extensions?.code]).toEqual([asOf, 'BAD_USER_INPUT'])
    }
  })

  it('URLs: /ogc and /stats answer 400 with their error format', async () => {
    const cases: [string, (body: any) => unknown][] = [
      ['/ogc/collections/%00/items', (b) => b.code],
      ['/ogc/collections/addresses/items?bbox=%00', (b) => b.code],
      ['/ogc/collections/addresses/items/%ED%A0%80', (b) => b.code],
      ['/ogc/collections/addresses/items?%00=1', (b) => b.code],
      ['/stats/%00.csv', (b) => b.error?.code],
      ['/stats/GDP.csv?region=33%00', (b) => b.error?.code],
      ['/stats/%E0%A4%A.csv', (b) => b.error?.code],
    ]
    for (const [path, code] of cases) {
      const res = await fetch(`${server.url}${path}`)
      const body = await res.json()
      expect([path, res.status, code(body)]).toEqual([
        path,
        400,
        path.startsWith('/ogc') ? 'InvalidParameterValue' : 'BAD_USER_INPUT',
      ])
    }
  })
})
