import { mkdirSync } from 'node:fs'
import type { AddressInfo, Socket } from 'node:net'
import { PGlite } from '@electric-sql/pglite'
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm'
import { postgis } from '@electric-sql/pglite-postgis'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { dropPrematureReadyForQuery } from './ready-for-query.js'

export interface EmbeddedDatabase {
  /** postgres:// URL of the wire-protocol socket in front of PGlite. */
  url: string
  stop(): Promise<void>
}

/**
 * pglite-socket 0.2.11 frees a connection slot only when the socket closes cleanly; a connection
 * that ends in an error (a client reset, e.g. a killed process) keeps its slot forever, and with
 * one slot the database then refuses every new connection. Before each new connection, drop the
 * handlers whose socket is gone. (Fixed upstream in 0.2.15, which needs a newer PGlite than the
 * PostGIS extension supports.)
 */
function freeSlotsOfFailedConnections(server: PGLiteSocketServer): void {
  const internals = server as unknown as {
    handlers: Set<{ isAttached: boolean }>
    handleConnection(socket: Socket): Promise<void>
  }
  const handleConnection = internals.handleConnection.bind(server)
  internals.handleConnection = (socket: Socket) => {
    for (const handler of internals.handlers) if (!handler.isAttached) internals.handlers.delete(handler)
    return handleConnection(socket)
  }
}

/**
 * PGlite's own start parameters plus a small write-ahead log: the embedded database is a demo and
 * developer default, and with PostgreSQL's 1 GB max_wal_size the demo seed left ~560 MB of WAL
 * segments in the data directory for good (they are recycled, never removed). With these, a
 * checkpoint runs every 128 MB of WAL and at most that much is kept.
 */
const EMBEDDED_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'max_wal_size=128MB', '-c', 'min_wal_size=32MB']

/**
 * Starts PGlite with PostGIS and pg_trgm behind a loopback wire-protocol socket, so the same
 * pg/knex code runs against it and against a real server. dataDir 'memory://' keeps nothing.
 * PGlite is a single session: callers must use one connection (pool max 1).
 */
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  const db = await PGlite.create({ dataDir, extensions: { postgis, pg_trgm }, startParams: EMBEDDED_START_PARAMS })
  // Without this, a failing statement sent with bindings desyncs pg from the socket and a later
  // query gets a wrong (empty) answer; see ready-for-query.ts.
  dropPrematureReadyForQuery(db)
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 })
  freeSlotsOfFailedConnections(server)
  await server.start()
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop()
      await db.close()
    },
  }
}
