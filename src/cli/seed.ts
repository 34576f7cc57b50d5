import { seedDemoIfEmpty } from '../../seeds/demo.js'
import { activeDemoKeys, seedDemoAccess } from '../access/demo.js'
import { ConfigError, loadConfig } from '../config.js'
import { openCliDatabase } from './database.js'

// `npm run seed`: loads the Hangzhou demo into an empty database (DATABASE_URL, or the embedded
// one when unset) through the reconciliation engine, with the demo API keys and sharing grants.
// On a database that already holds data it only makes sure the demo keys and grants exist.
async function main(): Promise<void> {
  const config = loadConfig()
  const db = await openCliDatabase(config)
  try {
    await seedDemoIfEmpty(db.knex, { info: (m: string) => console.log(m) }, config)
    await seedDemoAccess(db.knex)
    console.log(`demo API keys (Authorization: Bearer <key>): ${(await activeDemoKeys(db.knex)).join(', ')}`)
  } finally {
    await db.close()
  }
}

main().catch((e) => {
  console.error(e instanceof ConfigError ? `configuration error: ${e.message}` : `seed failed: ${(e as Error).message.split('\n')[0]}`)
  process.exit(1)
})
