import type { Server } from 'node:http'
import { createServer as createNetServer } from 'node:net'

/** The HTTP port is taken (or not allowed): start-up stops with a message naming it. */
export class PortUnavailableError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
    readonly reason: string,
  ) {
    super(`port ${port} on ${host} is ${reason}`)
  }
}

function describe(err: NodeJS.ErrnoException): string {
  if (err.code === 'EADDRINUSE') return 'already in use by another process'
  if (err.code === 'EACCES') return 'not allowed for this user'
  if (err.code === 'EADDRNOTAVAIL') return 'on an address this machine does not have'
  return `unusable (${err.code ?? err.message})`
}

/**
 * Checks that port can be bound on host, then frees it again; resolves at once for port 0.
 * Called before the slow part of start-up (database, migrations, demo seed), so a taken port is
 * reported in a second instead of after the seed, and never as a database error.
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return
  await new Promise<void>((resolve, reject) => {
    const probe = createNetServer()
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new PortUnavailableError(port, host, describe(err))))
    probe.listen(port, host, () => probe.close(() => resolve()))
  })
}

/** Starts listening; rejects with PortUnavailableError instead of emitting an unhandled 'error'. */
export function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new PortUnavailableError(port, host, describe(err)))
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
