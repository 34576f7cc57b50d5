import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SERVICE_ENTRY } from '../support/entry.js'
import { startTestServer, type TestServer } from '../helpers.js'

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

describe('HTTP endpoints beside GraphQL', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer()
  })
  afterAll(async () => server?.close())

  it('/healthz and /readyz answer', async () => {
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    expect((await health.json()) as unknown).toEqual({ status: 'ok' })
    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(((await ready.json()) as { status: string }).status).toBe('ready')
  })

  it('/metrics counts GraphQL operations in Prometheus text format', async () => {
    await server.gql('query MetricsProbe { departments { code } }')
    const res = await fetch(`${server.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(text).toMatch(/cfd_graphql_requests_total\{operation="MetricsProbe",outcome="ok"\} [1-9]/)
    expect(text).toContain('cfd_open_conflicts')
  })

  it('answers an unknown route with a coded 404', async () => {
    const res = await fetch(`${server.url}/nope`)
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
  })

  it('answers a malformed JSON body with a coded 400, not a stack trace', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    })
    expect(res.status).toBe(400)
    const text = await res.text()
    expect(text).not.toMatch(/at .+\.js:\d+/)
    expect(JSON.parse(text).errors[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_JSON',
      field: 'body',
    })
  })

  it('answers a query that is not valid GraphQL with a coded error', async () => {
    const r = await server.gql('{ persons { nosuchfield } }')
    expect(r.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED')
  })
})

describe('start-up and shutdown', () => {
  it('serves, then stops cleanly on SIGTERM', async () => {
    const port = await freePort()
    const child = spawn(process.execPath, [SERVICE_ENTRY], {
      env: {
        ...process.env,
        DATABASE_URL: inject('databaseUrl'),
        DB_POOL_MAX: '1',
        PORT: String(port),
        HOST: '127.0.0.1',
        SEED_DEMO: 'false',
        LOG_LEVEL: 'warn',
        // As deployed, not as under vitest (NODE_ENV=test switches off Apollo's own signal handlers,
        // which once raced the service's and kept the process alive after SIGTERM).
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    let up = false
    for (let i = 0; i < 150 && !up; i++) {
      up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
      if (!up) await new Promise((r) => setTimeout(r, 200))
    }
    expect(up).toBe(true)
    // Run-time files are found from the project root, not next to the compiled module.
    const consolePage = await fetch(`http://127.0.0.1:${port}/console/`)
    expect(consolePage.status).toBe(200)
    expect(await consolePage.text()).toContain('<html')
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => 'up',
        () => 'down',
      ),
    ).toBe('down')
  }, 60_000)

  it('names a port that is already taken, before touching the database, and exits 1', async () => {
    const taken = createServer()
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)),
    )
    try {
      // An embedded data directory that cannot exist: reaching the database would fail differently.
      const child = spawn(process.execPath, [SERVICE_ENTRY], {
        env: {
          ...process.env,
          DATABASE_URL: '',
          DATA_DIR: '/nonexistent/never-created',
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
      expect(code).toBe(1)
      expect(stderr).toContain(`port ${port} on 127.0.0.1 is already in use`)
      expect(stderr).toContain('set PORT')
      expect(stderr).not.toMatch(/embedded database|DATABASE_URL is not reachable/)
    } finally {
      await new Promise((r) => taken.close(r))
    }
  }, 60_000)
})
