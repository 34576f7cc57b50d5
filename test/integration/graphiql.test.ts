import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { graphiqlRouter } from '../../src/graphql/graphiql.js'

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

let server: Server
let base: string

beforeAll(async () => {
  const app = express()
  app.use(graphiqlRouter({ endpoint: '/graphql' }))
  // Stands in for Apollo: anything the router passes on ends up here.
  app.all('/graphql', (_req, res) => {
    res.status(299).json({ fellThrough: true })
  })
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s))
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()))
    server.closeAllConnections() // fetch keeps connections alive
  })
})

async function getPage(): Promise<{ res: Response; html: string }> {
  const res = await fetch(`${base}/graphql`, { headers: { Accept: BROWSER_ACCEPT } })
  return { res, html: await res.text() }
}

function referencedUrls(html: string): { scripts: string[]; styles: string[] } {
  const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/gi)].map((m) => m[1]!)
  const styles = [...html.matchAll(/<link\b[^>]*\bhref="([^"]+)"/gi)].map((m) => m[1]!)
  return { scripts, styles }
}

describe('graphiqlRouter', () => {
  it('serves an HTML page for browsers at GET /graphql', async () => {
    const { res, html } = await getPage()
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(html).toContain('<div id="graphiql"')
    expect(html).toContain('"endpoint":"/graphql"')
    // The helpful default query, with the headers example as a comment.
    expect(html).toContain('Bearer demo-steward')
    expect(html).toContain('__schema')
  })

  it('references only local assets', async () => {
    const { html } = await getPage()
    const { scripts, styles } = referencedUrls(html)
    expect(scripts.length).toBeGreaterThanOrEqual(4) // react, react-dom, graphiql, init
    expect(styles.length).toBeGreaterThanOrEqual(1)
    for (const url of [...scripts, ...styles]) {
      expect(url).toMatch(/^\/graphiql\/assets\//)
    }
    // No remote URL anywhere in script/link tags (nor protocol-relative ones).
    expect(html).not.toMatch(/<(script|link)\b[^>]*\b(src|href)="(https?:)?\/\//i)
    expect(html).not.toMatch(/https?:\/\//i)
    // The page forbids loading scripts from anywhere else.
    const { res } = await getPage()
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
  })

  it('serves every referenced asset with the right content type', async () => {
    const { html } = await getPage()
    const { scripts, styles } = referencedUrls(html)
    for (const [urls, type] of [
      [scripts, /^text\/javascript/],
      [styles, /^text\/css/],
    ] as const) {
      for (const url of urls) {
        const res = await fetch(`${base}${url}`)
        expect(res.status, url).toBe(200)
        expect(res.headers.get('content-type'), url).toMatch(type)
        const body = await res.text()
        expect(body.length, url).toBeGreaterThan(100)
      }
    }
    const graphiqlJs = await (await fetch(`${base}/graphiql/assets/graphiql.min.js`)).text()
    expect(graphiqlJs).toContain('GraphiQL')
  })

  it('404s for unknown asset names and does not serve arbitrary files', async () => {
    for (const name of ['nope.js', '..%2Fpackage.json', '%2E%2E%2F%2E%2E%2Fpackage.json']) {
      const res = await fetch(`${base}/graphiql/assets/${name}`)
      expect(res.status, name).toBe(404)
    }
  })

  it('falls through to the next handler when the client does not ask for HTML', async () => {
    for (const accept of ['application/json', '*/*', 'application/graphql-response+json']) {
      const res = await fetch(`${base}/graphql?query=%7B__typename%7D`, { headers: { Accept: accept } })
      expect(res.status, accept).toBe(299)
      expect(await res.json()).toEqual({ fellThrough: true })
    }
    const post = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { Accept: BROWSER_ACCEPT, 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: '{__typename}' }),
    })
    expect(post.status).toBe(299)
  })

  it('builds asset URLs under the mount path when mounted below the root', async () => {
    const app = express()
    app.use('/api', graphiqlRouter({ endpoint: '/api/graphql', path: '/graphql' }))
    const s = await new Promise<Server>((resolve) => {
      const srv = app.listen(0, '127.0.0.1', () => resolve(srv))
    })
    try {
      const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`
      const html = await (await fetch(`${url}/api/graphql`, { headers: { Accept: BROWSER_ACCEPT } })).text()
      const { scripts, styles } = referencedUrls(html)
      for (const u of [...scripts, ...styles]) {
        expect(u).toMatch(/^\/api\/graphiql\/assets\//)
        expect((await fetch(`${url}${u}`)).status, u).toBe(200)
      }
    } finally {
      await new Promise<void>((resolve) => {
        s.close(() => resolve())
        s.closeAllConnections()
      })
    }
  })
})
