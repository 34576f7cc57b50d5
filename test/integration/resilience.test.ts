import { execFile } from 'node:child_process'
import { createServer as createTcpServer, connect, type Server, type Socket } from 'node:net'
import { promisify } from 'node:util'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers.js'

const run = promisify(execFile)

/** A TCP relay in front of the database that the test can cut and restore: a real network fault. */
class Relay {
  private server?: Server
  private sockets = new Set<Socket>()
  port = 0
  constructor(private readonly target: { host: string; port: number }) {}

  async start(port = 0): Promise<void> {
    this.server = createTcpServer((client) => {
      const upstream = connect(this.target.port, this.target.host)
      for (const s of [client, upstream]) {
        this.sockets.add(s)
        s.on('close', () => this.sockets.delete(s))
        s.on('error', () => s.destroy())
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve))
    this.port = (this.server.address() as { port: number }).port
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server!.close(() => resolve()))
  }
}

describe('database faults', () => {
  let server: TestServer | undefined
  afterAll(async () => server?.close())

  it('refuses to start with a one-line error naming DATABASE_URL when the database is unreachable', async () => {
    const err = await run('npx', ['tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none',
        PORT: '0',
        SEED_DEMO: 'false',
      },
      timeout: 60_000,
    }).then(
      () => null,
      (e) => e as { code: number; stderr: string },
    )
    expect(err).not.toBeNull()
    expect(err!.code).toBe(1)
    const lines = err!.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('DATABASE_URL')
    expect(lines[0]).not.toMatch(/\bat .+:\d+:\d+/)
  })

  it('says so on /readyz while the database is gone, hides the fault in GraphQL, and recovers by itself', async () => {
    const url = new URL(inject('databaseUrl'))
    const relay = new Relay({ host: url.hostname, port: Number(url.port || 5432) })
    await relay.start()
    const viaRelay = new URL(url.href)
    viaRelay.port = String(relay.port)
    server = await startTestServer({ databaseUrl: viaRelay.href })
    const ready = () => fetch(`${server!.url}/readyz`).then((r) => r.status)
    const query = () => server!.gql('{ departments { code } }')

    expect(await ready()).toBe(200)
    expect((await query()).data?.departments.length).toBe(10)

    await relay.cut()
    expect(await ready()).toBe(503)
    const failed = await query()
    const error = failed.errors?.[0]
    // A lost database is a passing condition: a coded, retryable answer that names no internals.
    expect(error?.extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'DATABASE_UNAVAILABLE', retryable: true })
    expect(error?.extensions?.retryAfter).toBeGreaterThan(0)
    expect(JSON.stringify(failed)).not.toMatch(/ECONNREFUSED|ECONNRESET|stack|SELECT|knex/i)
    expect(error?.extensions).not.toHaveProperty('stacktrace')

    await relay.start(relay.port)
    let status = 0
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await ready()
      if (status !== 200) await new Promise((r) => setTimeout(r, 200))
    }
    expect(status).toBe(200)
    expect((await query()).data?.departments.length).toBe(10)
    await server.close()
    server = undefined
    await relay.cut()
  })
})
