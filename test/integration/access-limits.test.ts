import { auditServer } from 'graphql-http'
import { inject } from 'vitest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, type TestServer } from '../helpers.js'

// Abuse-proof errors: every bad request gets its coded error, and the service keeps answering.
let server: TestServer
let key: Record<string, string>

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as any }
}

async function stillUp() {
  const r = await server.gql('{ departments { code } }', undefined, key)
  expect(r.data!.departments.length).toBeGreaterThan(5)
}

describe('query limits and malformed requests', () => {
  beforeAll(async () => {
    server = await startTestServer()
    key = await createTestKey(server.knex, { department: 'PSB' })
  })
  afterAll(async () => server?.close())

  it('a 30-level nested query is refused as QUERY_TOO_COMPLEX', async () => {
    const deep = `{ adminDivision(code: "330100") { ${'parent { '.repeat(29)}code${' }'.repeat(29)} } }`
    const r = await post(JSON.stringify({ query: deep }), key)
    expect(r.status).toBe(400)
    expect(r.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', depth: 31, maxDepth: 12 })
    await stillUp()
  })

  it('first: 1000000 is a coded BAD_USER_INPUT', async () => {
    const r = await server.gql('{ persons(first: 1000000) { totalCount } }', undefined, key)
    expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' })
    await stillUp()
  })

  it('nested pages multiply: a costly query is refused with its cost', async () => {
    const q = '{ legalEntities(first: 500) { nodes { employees(first: 500) { nodes { name } } } } }'
    const r = await server.gql(q, undefined, key)
    expect(r.errors![0].extensions!.code).toBe('QUERY_TOO_COMPLEX')
    expect(r.errors![0].extensions!.cost).toBeGreaterThan(20_000)
    const vars = await server.gql(
      'query ($n: Int) { legalEntities(first: $n) { nodes { employees(first: $n) { nodes { name } } } } }',
      { n: 400 },
      key,
    )
    expect(vars.errors![0].extensions!.code).toBe('QUERY_TOO_COMPLEX')
    await stillUp()
  })

  it('thousands of aliases are refused', async () => {
    // Under the document-size cap, but over the cost limit: refused with its cost.
    const many = `{ ${Array.from({ length: 1500 }, (_, i) => `a${i}: departments { code }`).join(' ')} }`
    const r = await post(JSON.stringify({ query: many }), key)
    expect(r.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX')
    expect(r.json.errors[0].extensions.cost).toBeGreaterThan(20_000)
    // Over the document-size cap: refused before validation runs.
    const huge = `{ ${Array.from({ length: 20000 }, (_, i) => `a${i}: __typename`).join(' ')} }`
    const h = await post(JSON.stringify({ query: huge }), key)
    expect(h.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX')
    await stillUp()
  })

  it('a 10 MB body is refused with 413 and a coded JSON error', async () => {
    const body = JSON.stringify({ query: `{ departments { code } } # ${'x'.repeat(10 * 1024 * 1024)}` })
    const r = await post(body, key)
    expect(r.status).toBe(413)
    expect(r.json.errors[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      reason: 'PAYLOAD_TOO_LARGE',
      field: 'body',
    })
    await stillUp()
  })

  it('invalid JSON is a coded 400, without a stack', async () => {
    const r = await post('{"query": "{ departments { code } }"', key)
    expect(r.status).toBe(400)
    expect(r.json.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_JSON' })
    expect(r.text).not.toMatch(/at .*\.js|node_modules/)
    await stillUp()
  })

  it('variables of the wrong type are BAD_USER_INPUT', async () => {
    const r = await post(
      JSON.stringify({
        query: 'query ($n: Int) { persons(first: $n) { totalCount } }',
        variables: { n: 'many' },
      }),
      key,
    )
    expect(r.status).toBe(400)
    expect(r.json.errors[0].extensions.code).toBe('BAD_USER_INPUT')
    await stillUp()
  })

  it('internal errors are hidden behind an error id that the log also holds', async () => {
    await server.knex.raw('ALTER TABLE departments RENAME TO departments_hidden_for_test')
    let r
    try {
      r = await server.gql('{ departments { code } }', undefined, key)
    } finally {
      await server.knex.raw('ALTER TABLE departments_hidden_for_test RENAME TO departments')
    }
    expect(r.errors![0].extensions!.code).toBe('INTERNAL_SERVER_ERROR')
    expect(r.errors![0].extensions!.errorId).toMatch(/^[0-9a-f-]{36}$/)
    expect(JSON.stringify(r)).not.toMatch(/departments_hidden|relation|select|stack/i)
    await stillUp()
  })

  it('conforms to GraphQL over HTTP (graphql-http audit): no audit is an error', async () => {
    const results = await auditServer({ url: `${server.url}/graphql` })
    const errors = results.filter((r) => r.status === 'error')
    expect(errors.map((e) => `${e.id} ${e.name}: ${'reason' in e ? e.reason : ''}`)).toEqual([])
    const warnings = results.filter((r) => r.status === 'warn' || r.status === 'notice')
    console.log(
      `[graphql-http audit] ${results.length} audits, ${results.filter((r) => r.status === 'ok').length} ok, warnings:\n${warnings.map((w) => `  ${w.id} ${w.name}: ${'reason' in w ? w.reason : ''}`).join('\n')}`,
    )
  })

  it('an address sending wrong keys is stopped before their verification; known keys keep working', async () => {
    await stillUp() // the good key is verified (and cached) before the flood
    const statuses: number[] = []
    // Every wrong key costs a full scrypt (unknown prefixes too, so timing tells nothing), and the
    // budget refills while they run: keep going until the address is stopped.
    for (let i = 0; i < 80 && statuses.at(-1) !== 429; i++)
      statuses.push(
        (await post(JSON.stringify({ query: '{ me { id } }' }), { authorization: `Bearer cfd_wrong${i}` })).status,
      )
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true)
    expect(statuses.at(-1)).toBe(429)
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true)
    await stillUp()
  })

  it.skipIf(inject('embedded'))('statement timeout stops a runaway statement (real PostgreSQL)', async () => {
    await server.knex.raw('SET statement_timeout = 300')
    try {
      await expect(server.knex.raw('SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' })
    } finally {
      await server.knex.raw('RESET statement_timeout')
    }
    const shown = await server.knex.raw('SHOW statement_timeout')
    expect(shown.rows[0].statement_timeout).toBe('15s')
  })
})

describe('rate limit', () => {
  beforeAll(async () => {
    server = await startTestServer({ rateLimitBurst: 5, rateLimitPerSecond: 0.2 })
    key = await createTestKey(server.knex, { department: 'PSB' })
  })
  afterAll(async () => server?.close())

  it('a caller over its budget gets 429 RATE_LIMITED with Retry-After; another caller is still served', async () => {
    const noisy = await createTestKey(server.knex, { department: 'EDU' })
    const statuses: number[] = []
    let limited
    for (let i = 0; i < 8; i++) {
      const r = await post(JSON.stringify({ query: '{ me { id } }' }), noisy)
      statuses.push(r.status)
      if (r.status === 429) limited = r
    }
    expect(statuses.slice(0, 5).every((s) => s === 200)).toBe(true)
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true)
    expect(limited!.json.errors[0].extensions.code).toBe('RATE_LIMITED')
    expect(limited!.json.errors[0].extensions.retryAfter).toBeGreaterThanOrEqual(1)
    expect(Number(limited!.headers.get('retry-after'))).toBe(limited!.json.errors[0].extensions.retryAfter)
    await stillUp()
  })

  it('anonymous callers are limited per IP address, on the OGC routes too', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) statuses.push((await fetch(`${server.url}/ogc/collections`)).status)
    expect(statuses).toContain(429)
    expect(statuses.slice(statuses.indexOf(429)).every((s) => s === 429)).toBe(true)
    await stillUp()
  })
})
