import type { Knex } from 'knex'
import { seedReference } from '../../seeds/reference.js'
import type { Config } from '../config.js'
import { startEmbeddedDatabase } from '../db/embedded.js'
import { createKnex, migrateLatest } from '../db/knex.js'

/**
 * Opens the configured database for a command-line tool (DATABASE_URL, else the embedded one in
 * DATA_DIR — which only one process may hold, so stop the server first), migrated and with the
 * reference data. close() releases it.
 */
export async function openCliDatabase(config: Config): Promise<{ knex: Knex; close(): Promise<void> }> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedDatabase(config.dataDir)
  const knex = createKnex({ url: config.databaseUrl ?? embedded!.url, poolMax: 1 })
  await migrateLatest(knex)
  await seedReference(knex)
  return {
    knex,
    async close() {
      await knex.destroy()
      await embedded?.stop()
    },
  }
}
