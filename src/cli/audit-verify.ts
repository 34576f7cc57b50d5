import { verifyAccessLog } from '../access/access-log.store.js'
import { loadConfig } from '../config.js'
import { openCliDatabase } from './database.js'

/** `npm run audit:verify`: walks the access-log hash chain; exit 1 naming the first broken row. */
async function main(): Promise<number> {
  const db = await openCliDatabase(loadConfig())
  try {
    const verdict = await verifyAccessLog(db.knex)
    if (verdict.ok) {
      console.log(`access log intact: ${verdict.rows} rows, every hash verified`)
      return 0
    }
    console.error(`access log BROKEN at row id ${verdict.brokenId}: ${verdict.reason}`)
    return 1
  } finally {
    await db.close()
  }
}

process.exitCode = await main().catch((e) => {
  console.error(`audit:verify: ${(e as Error).message}`)
  return 2
})
