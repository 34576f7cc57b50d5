import { seedReference } from '../../seeds/reference.js'
import { ConfigError, loadConfig } from '../config.js'
import { createKnex, migrateLatest } from '../db/knex.js'
import { startCliEmbeddedDatabase } from './database.js'

// `npm run migrate`: applies pending migrations and the reference data (departments, authority
// rules) to DATABASE_URL, or to the embedded database when it is not set. `-- --down` rolls back
// the last batch.
async function main(): Promise<void> {
  const config = loadConfig()
  const embedded = config.databaseUrl ? undefined : await startCliEmbeddedDatabase(config.dataDir)
  const knex = createKnex({ url: config.databaseUrl ?? embedded!.url, poolMax: 1 })
  try {
    if (process.argv.includes('--down')) {
      const [, undone] = await knex.migrate.rollback()
      console.log(undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back')
    } else {
      const applied = await migrateLatest(knex)
      await seedReference(knex)
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date')
    }
  } finally {
    await knex.destroy()
    await embedded?.stop()
  }
}

main().catch((e) => {
  console.error(
    e instanceof ConfigError
      ? `configuration error: ${e.message}`
      : `migrate failed: ${(e as Error).message.split('\n')[0]}`,
  )
  process.exit(1)
})
