import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
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

/** Exit code of every command that finds the embedded data directory in use (EX_TEMPFAIL: retry later). */
export const DATA_DIR_IN_USE_EXIT = 75

/** Another process has the embedded data directory open; the message is one line meant for the user. */
export class DataDirectoryInUseError extends Error {
  readonly exitCode = DATA_DIR_IN_USE_EXIT
  constructor(
    readonly dataDir: string,
    readonly holder: { pid: number; command: string; since: string },
  ) {
    super(
      `the embedded database directory ${dataDir} is in use by process ${holder.pid} (${holder.command}, since ${holder.since}); ` +
        'stop that process first (PGlite is a single-process database: a second opener would corrupt it), or set DATABASE_URL',
    )
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the lock file next to the data directory (<dir>.lock, holding pid, command and start
 * time), so that one process at a time opens it: PGlite has no locking of its own, and a second
 * opener (npm run keys/seed/import/migrate next to npm start) wrote rows whose indexes the first
 * never saw. A lock left by a process that no longer runs (kill -9) is taken over. Returns the
 * release function. Throws DataDirectoryInUseError.
 */
export function lockDataDirectory(dataDir: string): () => void {
  const dir = resolve(dataDir)
  const lockPath = join(dirname(dir), `${basename(dir)}.lock`)
  const mine = JSON.stringify({
    pid: process.pid,
    command:
      process.argv
        .slice(1)
        .map((a) => basename(a))
        .join(' ') || 'node',
    since: new Date().toISOString(),
  })
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx')
      writeSync(fd, mine)
      closeSync(fd)
      const release = () => {
        try {
          if (readFileSync(lockPath, 'utf8') === mine) unlinkSync(lockPath)
        } catch {
          // Already gone.
        }
      }
      process.once('exit', release)
      return () => {
        process.off('exit', release)
        release()
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    let holder: { pid: number; command: string; since: string } | undefined
    try {
      holder = JSON.parse(readFileSync(lockPath, 'utf8'))
    } catch {
      // Unreadable or half-written: treated as stale below only if still so on the next attempt.
    }
    if (holder && typeof holder.pid === 'number' && holder.pid !== process.pid && alive(holder.pid))
      throw new DataDirectoryInUseError(dir, holder)
    if (holder && holder.pid === process.pid)
      throw new DataDirectoryInUseError(dir, { ...holder, command: `${holder.command}, this same process` })
    try {
      unlinkSync(lockPath)
    } catch {
      // Someone else removed it first.
    }
  }
  throw new Error(`could not take the lock ${lockPath} on the embedded database directory`)
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
 * PGlite is a single session: callers must use one connection (pool max 1). A data directory is
 * locked for the life of the process (see lockDataDirectory); throws DataDirectoryInUseError.
 */
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const persistent = !dataDir.startsWith('memory://')
  if (persistent) mkdirSync(dataDir, { recursive: true })
  const unlock = persistent ? lockDataDirectory(dataDir) : () => {}
  let db: PGlite
  try {
    db = await PGlite.create({ dataDir, extensions: { postgis, pg_trgm }, startParams: EMBEDDED_START_PARAMS })
  } catch (e) {
    unlock()
    throw e
  }
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
      try {
        await server.stop()
        await db.close()
      } finally {
        unlock()
      }
    },
  }
}
