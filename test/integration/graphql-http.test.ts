import { request as httpRequest } from 'node:http'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers.js'

// The GraphQL endpoint's own HTTP layer (src/graphql/http-handler.ts): the fast JSON reader and
// the general one (express.json) must answer every body the same way.

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A raw HTTP request, so the test controls Content-Length, chunking and encoding exactly. */
function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'POST',
        headers: opts.headers,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        )
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body)
    if (body && opts.chunked) {
      // Several writes without a Content-Length: the reader sees the size only as it grows.
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024))
      req.end()
    } else req.end(body)
  })
}

const QUERY = JSON.stringify({ query: '{ departments { code } }' })

describe('GraphQL over HTTP: request bodies', () => {
  let server: TestServer
  let url: string
  beforeAll(async () => {
    server = await startTestServer()
    url = `${server.url}/graphql`
  })
  afterAll(async () => server?.close())

  const departmentsOf = (a: Answer) => (JSON.parse(a.body).data.departments as { code: string }[]).map((d) => d.code)

  it('answers the same query the same way as plain JSON, with a charset, and gzip-encoded', async () => {
    const plain = await send(url, { headers: { 'content-type': 'application/json' }, body: QUERY })
    const charset = await send(url, { headers: { 'content-type': 'application/json; charset=utf-8' }, body: QUERY })
    const gzip = await send(url, {
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(QUERY),
    })
    for (const a of [plain, charset, gzip]) {
      expect(a.status).toBe(200)
      expect(a.headers['content-type']).toMatch(/^application\/(graphql-response\+)?json/)
      expect(departmentsOf(a)).toContain('PSB')
    }
    expect(charset.body).toBe(plain.body)
    expect(gzip.body).toBe(plain.body)
    // The length sent is the length of the body, and no ETag is computed for a GraphQL answer.
    expect(Number(plain.headers['content-length'])).toBe(Buffer.byteLength(plain.body))
    expect(plain.headers.etag).toBeUndefined()
  })

  it('reads a body sent in many chunks without a Content-Length', async () => {
    const padded = JSON.stringify({ query: `{ departments { code } }${' '.repeat(300_000)}` })
    const a = await send(url, { headers: { 'content-type': 'application/json' }, body: padded, chunked: true })
    expect(a.status).toBe(200)
    expect(departmentsOf(a)).toContain('PSB')
  })

  it('refuses a body over 2 MB with a coded 413, declared or chunked, and keeps serving', async () => {
    const big = JSON.stringify({ query: `{ departments { code } }${' '.repeat(2 * 1024 * 1024)}` })
    for (const chunked of [false, true]) {
      const a = await send(url, { headers: { 'content-type': 'application/json' }, body: big, chunked })
      expect(a.status).toBe(413)
      expect(JSON.parse(a.body).errors[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'PAYLOAD_TOO_LARGE',
      })
    }
    const after = await send(url, { headers: { 'content-type': 'application/json' }, body: QUERY })
    expect(after.status).toBe(200)
  })

  it('answers malformed JSON, a bare JSON value and NUL bytes with coded 400s, never a stack', async () => {
    for (const body of ['{"query": ', '123', '"{ departments { code } }"', '\u0000{}', 'null']) {
      const a = await send(url, { headers: { 'content-type': 'application/json' }, body })
      expect(a.status, body).toBe(400)
      expect(a.body).not.toMatch(/at .+\.[jt]s:\d+/)
      expect(JSON.parse(a.body).errors[0].extensions, body).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_JSON',
      })
    }
    // The same malformed body gzip-encoded goes through the general reader: same answer.
    const gz = await send(url, {
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync('{"query": '),
    })
    expect(gz.status).toBe(400)
    expect(JSON.parse(gz.body).errors[0].extensions).toMatchObject({ reason: 'INVALID_JSON' })
  })

  it('answers an empty body and a body that is not JSON with a 400, never a 500', async () => {
    const empty = await send(url, { headers: { 'content-type': 'application/json' }, body: '' })
    expect(empty.status).toBe(400)
    const text = await send(url, { headers: { 'content-type': 'text/plain' }, body: QUERY })
    expect(text.status).toBe(400)
    expect(text.body).not.toMatch(/at .+\.[jt]s:\d+/)
  })

  it('answers the same on the front fast path and through express: queries, refused keys, a trailing slash', async () => {
    // Plain JSON POST /graphql is answered by the server's front dispatcher; a gzip body, another
    // path spelling (/graphql/) or a GET go through express. Both use one gate and one responder.
    const viaFront = await send(url, { headers: { 'content-type': 'application/json' }, body: QUERY })
    const viaExpress = await send(`${url}/`, { headers: { 'content-type': 'application/json' }, body: QUERY })
    expect(viaExpress.status).toBe(200)
    expect(viaExpress.body).toBe(viaFront.body)
    for (const authorization of ['Bearer not-a-key', 'Basic abc']) {
      const front = await send(url, { headers: { 'content-type': 'application/json', authorization }, body: QUERY })
      const general = await send(url, {
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization },
        body: gzipSync(QUERY),
      })
      expect(front.status, authorization).toBe(401)
      expect(general.status, authorization).toBe(401)
      expect(front.body).toBe(general.body)
      expect(JSON.parse(front.body).errors[0].extensions.code).toBe('UNAUTHENTICATED')
      expect(front.headers['www-authenticate']).toBe(general.headers['www-authenticate'])
    }
  })

  it('serves GET queries with their variables from the query string', async () => {
    const q = new URLSearchParams({
      query: 'query($c: ID!) { dataItem(code: $c) { code } }',
      variables: '{"c":"PERSON.name"}',
    })
    const a = await send(`${url}?${q}`, {
      method: 'GET',
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    })
    expect(a.status, a.body).toBe(200)
    expect(JSON.parse(a.body).data.dataItem).toEqual({ code: 'PERSON.name' })
  })
})
