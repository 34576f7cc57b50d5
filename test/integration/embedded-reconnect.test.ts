import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.js'

// The embedded database takes one connection. A connection that ends in an error (a client
// killed mid-session resets its socket) must give its slot back, or the service can never
// reconnect. This starts its own embedded database, whatever the run's database is.
describe('embedded database after a reset connection', () => {
  let db: EmbeddedDatabase
  beforeAll(async () => {
    db = await startEmbeddedDatabase('memory://')
  })
  afterAll(async () => db?.stop())

  /** Connects; the server may need a moment to see the reset, so a refused attempt is retried (20 at most). */
  async function connect(): Promise<pg.Client> {
    let lastError: unknown
    for (let attempt = 0; attempt < 20; attempt++) {
      const client = new pg.Client({ connectionString: db.url })
      client.on('error', () => {})
      try {
        await client.connect()
        await client.query('SELECT 1')
        return client
      } catch (e) {
        lastError = e
        await client.end().catch(() => {})
        await new Promise((r) => setImmediate(r))
      }
    }
    throw lastError
  }

  it('accepts a new connection after the previous one was reset', async () => {
    for (let round = 0; round < 3; round++) {
      const client = await connect()
      expect((await client.query('SELECT $1::int + 1 AS n', [round])).rows[0].n).toBe(round + 1)
      // An abrupt end: TCP reset, no Terminate message.
      const socket = (client as unknown as { connection: { stream: import('node:net').Socket } }).connection.stream
      socket.resetAndDestroy()
    }
    const last = await connect()
    expect((await last.query('SELECT 42 AS n')).rows[0].n).toBe(42)
    await last.end()
  })
})
