import { ConfigError, loadConfig } from './config.js'
import { DataDirectoryInUseError } from './db/embedded.js'
import { createServer } from './server.js'
import { PortUnavailableError } from './shared/listen.js'
import { activeDemoKeys } from './access/demo.js'
import { seedDemoIfEmpty } from '../seeds/demo.js'

// Start-up only: configuration, server, signals.
async function main(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`configuration error: ${e.message}`)
      process.exit(2)
    }
    throw e
  }
  // Signals are handled from the start: a stop requested while the service is still starting
  // (migrating, seeding) is carried out as soon as there is something to close.
  let server: Awaited<ReturnType<typeof createServer>> | undefined
  let stopRequested: string | undefined
  let stopping = false
  const stop = async (signal: string) => {
    if (!server) {
      stopRequested = signal
      return
    }
    if (stopping) return
    stopping = true
    server.log.info({ signal }, 'shutting down')
    await server.close()
    process.exit(0)
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))

  try {
    server = await createServer(config, {
      beforeListen: config.seedDemo ? (knex, log) => seedDemoIfEmpty(knex, log, config) : undefined,
    })
  } catch (e) {
    if (e instanceof DataDirectoryInUseError) {
      console.error(`cannot start: ${e.message}`)
      process.exit(e.exitCode)
    }
    if (e instanceof PortUnavailableError) {
      console.error(`cannot start: ${e.message}; stop that process or set PORT (and HOST) to another one`)
      process.exit(1)
    }
    const reason = (e as Error).message?.split('\n')[0]
    console.error(
      config.databaseUrl
        ? `cannot start: the database at DATABASE_URL is not reachable or not usable (${reason})`
        : `cannot start: the embedded database in ${config.dataDir} could not be opened (${reason}); set DATABASE_URL to use PostgreSQL + PostGIS`,
    )
    process.exit(1)
  }
  if (stopRequested) return stop(stopRequested)
  const demo = await activeDemoKeys(server.knex)
  if (demo.length) server.log.info(`demo API keys (send "Authorization: Bearer <key>"): ${demo.join(', ')}`)
  server.log.info(
    `GraphQL at http://localhost:${new URL(server.url).port}/graphql (GraphiQL in a browser), OGC API at /ogc`,
  )
}

void main()
