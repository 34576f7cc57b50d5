import type { Knex } from 'knex'
import { seedReference } from '../../seeds/reference.js'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { DataDirectoryInUseError, type EmbeddedDatabase, startEmbeddedDatabase } from '../db/embedded.js'
import { createKnex, migrateLatest } from '../db/knex.js'

export interface CliDatabase {
  knex: Knex
  /** Where the data lives, for messages. */
  description: string
  close(): Promise<void>
}

/**
 * Opens DATABASE_URL, or the embedded database in config.dataDir when unset, migrated and with the
 * reference data. Batch commands run without a statement timeout (a chunk may take longer than a
 * GraphQL request is allowed to).
 */
export async function openCliDatabase(config: Config): Promise<CliDatabase> {
  const embedded = config.databaseUrl ? undefined : await startCliEmbeddedDatabase(config.dataDir)
  const url = config.databaseUrl ?? embedded!.url
  const knex = createKnex({ url, poolMax: 1 })
  try {
    await migrateLatest(knex)
    await seedReference(knex)
  } catch (e) {
    await knex.destroy()
    await embedded?.stop()
    throw e
  }
  return {
    knex,
    description: embedded ? `embedded database in ${config.dataDir}` : 'DATABASE_URL',
    async close() {
      await knex.destroy()
      await embedded?.stop()
    },
  }
}

/**
 * The embedded database for a batch command. When another process (npm start, another command)
 * has the directory open, prints one line naming it and exits with EXIT.DATA_DIR_IN_USE at once:
 * every command behaves alike, whatever its own error handling.
 */
export async function startCliEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  try {
    return await startEmbeddedDatabase(dataDir)
  } catch (e) {
    if (!(e instanceof DataDirectoryInUseError)) throw e
    console.error(`error: ${e.message}`)
    process.exit(e.exitCode)
  }
}

/** Exit codes shared by the batch commands. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, BAD_FILE: 3, DATA_DIR_IN_USE: 75 } as const

/** An error whose message is meant for the user as is, with the exit code to leave with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

/** The configuration for a batch command; a bad variable becomes a CliError (exit code USAGE). */
export function loadCliConfig(): Config {
  try {
    return loadConfig()
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`configuration error: ${e.message}`, EXIT.USAGE)
    throw e
  }
}
