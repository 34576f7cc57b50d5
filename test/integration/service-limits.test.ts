import 'reflect-metadata'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_OPERATION_LABELS } from '../../src/graphql/metrics.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { random } from '../support/ids.js'

// Inputs that used to answer 500 or grow the service without bound: a subscription operation,
// absurd OGC paging numbers, /metrics labels chosen by callers; and spreadsheet formulas in CSV.

let server: TestServer
const TOKEN = `metrics-${uniqueSuffix()}`

beforeAll(async () => {
  server = await startTestServer({ metricsToken: TOKEN })
})

afterAll(async () => {
  await server?.close()
})

const post = (body: unknown) =>
  fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  })

describe('a subscription operation → 400 BAD_USER_INPUT (UNSUPPORTED_OPERATION)', () => {
  for (const query of [
    'subscription { persons { totalCount } }',
    'subscription Watch { changes { totalCount } }',
    'subscription { nothing }',
  ])
    it(query, async () => {
      const res = await post({ query })
      expect(res.status).toBe(400)
      const body = (await res.json()) as any
      expect(body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'UNSUPPORTED_OPERATION' })
      expect(JSON.stringify(body)).not.toMatch(/INTERNAL_SERVER_ERROR|stack/)
    })
})

describe('OGC paging parameters → 400 InvalidParameterValue, never 500', () => {
  for (const q of [
    'offset=9223372036854775808',
    'offset=99999999999999999999999',
    'offset=-1',
    'offset=abc',
    'offset=1.5',
    'limit=-5',
    'limit=abc',
    'limit=1e3',
    'limit=0',
    'limit=1&limit=2',
  ])
    it(q, async () => {
      const res = await fetch(`${server.url}/ogc/collections/addresses/items?${q}`)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ code: 'InvalidParameterValue' })
    })

  it('the largest exact offset is accepted (an empty page)', async () => {
    const res = await fetch(`${server.url}/ogc/collections/addresses/items?offset=${Number.MAX_SAFE_INTEGER}`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as any).features).toEqual([])
  })
})

describe('/metrics', () => {
  const metrics = async () =>
    (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()

  it('needs the token when METRICS_TOKEN is set', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toMatch(/cfd_graphql_requests_total/)
  })

  it('keeps a bounded set of operation labels, whatever names callers send', async () => {
    const sfx = uniqueSuffix().replace(/[^A-Za-z0-9]/g, '')
    const names = Array.from({ length: MAX_OPERATION_LABELS + 50 }, (_, i) => `Op${sfx}_${i}`)
    for (let i = 0; i < names.length; i += 25)
      await Promise.all(names.slice(i, i + 25).map((n) => post({ query: `query ${n} { __typename }` })))
    const long = `L${'x'.repeat(5000)}`
    await post({ query: `query ${long} { __typename }` })
    await post({ query: 'query Two { __typename }', operationName: `Claimed${'y'.repeat(3000)}` })
    const text = await metrics()
    const labels = new Set([...text.matchAll(/cfd_graphql_requests_total\{operation="([^"]*)"/g)].map((m) => m[1]))
    expect(labels.size).toBeLessThanOrEqual(MAX_OPERATION_LABELS + 2) // + "other" and "anonymous"
    expect(labels.has('other')).toBe(true)
    expect(text).not.toMatch(/x{100}|y{100}/)
    expect(text.length).toBeLessThan(1_000_000)
  })
})

describe('/stats/*.csv neutralises spreadsheet formulas', () => {
  it('prefixes text starting with = + - @ tab or CR with an apostrophe; numbers stay numbers', async () => {
    const code = `T_F_${uniqueSuffix()}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_')
    const district = `65${String(10 + Math.floor(random() * 89))}${String(10 + Math.floor(random() * 89))}`
    const submit = async (entityType: string, records: unknown[], department = 'STATS') => {
      const r = await server.gql(
        `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { accepted rejected { code field message } } }`,
        { input: { entityType, records } },
        { 'X-Department': department },
      )
      expect(r.errors).toBeUndefined()
      expect(r.data.submitRecords.rejected).toEqual([])
    }
    await submit('ADMIN_DIVISION', [{ sourceKey: `div-${code}`, attributes: { code: district, name: '-区' } }], 'CAB')
    await submit('INDICATOR', [
      {
        sourceKey: `indicator-${code}`,
        attributes: {
          code,
          name: '=HYPERLINK("http://evil.example/","open")',
          unit: '@SUM(A1)',
          category: '+cmd',
          subcategory: '-x',
          ownerCode: 'STATS',
        },
      },
    ])
    await submit('OBSERVATION', [
      {
        sourceKey: `obs-${code}`,
        attributes: { indicatorCode: code, regionCode: district, period: '2024', value: -3.5 },
      },
    ])
    const text = await (await fetch(`${server.url}/stats/${code}.csv`)).text()
    const row = text.split('\r\n')[1]
    expect(row.startsWith(`${code},"'=HYPERLINK(""http://evil.example/"",""open"")",${district},`)).toBe(true)
    expect(row).toMatch(/,2024,-3\.5,'@SUM\(A1\),/)
    for (const field of row.split(',')) expect(field.replace(/^"/, ''), field).not.toMatch(/^[=+@\t\r]|^-(?![\d.])/)
  })
})
