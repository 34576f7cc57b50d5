import { verifyAccessLog, verifyAccessLogAnchored } from '../access/access-log.store.js'
import { EXIT, loadCliConfig, openCliDatabase } from './database.js'

/**
 * `npm run audit:verify`: walks the access-log hash chain and, when AUDIT_ANCHOR_FILE and
 * AUDIT_ANCHOR_KEY are set, checks it against every signed checkpoint of the anchor (a removed
 * tail or a rewritten-and-recomputed chain). Exit 0 intact, 1 broken (naming the first bad row),
 * 2 usage or configuration error.
 */
async function main(): Promise<number> {
  const config = loadCliConfig()
  const db = await openCliDatabase(config)
  try {
    const verdict = config.auditAnchor
      ? await verifyAccessLogAnchored(db.knex, config.auditAnchor)
      : await verifyAccessLog(db.knex)
    if (!verdict.ok) {
      console.error(`access log BROKEN at row id ${verdict.brokenId}: ${verdict.reason}`)
      return EXIT.FAILED
    }
    if (verdict.checkpoints === undefined) {
      console.log(`access log intact: ${verdict.rows} rows, every hash verified`)
      console.warn(
        'warning: no anchor configured (AUDIT_ANCHOR_FILE, AUDIT_ANCHOR_KEY): removing the last rows or rewriting and recomputing the chain cannot be detected',
      )
    } else
      console.log(
        `access log intact: ${verdict.rows} rows, every hash verified, ${verdict.checkpoints} signed checkpoints match; ${verdict.unanchoredRows} rows after the last checkpoint`,
      )
    return EXIT.OK
  } finally {
    await db.close()
  }
}

process.exitCode = await main().catch((e) => {
  console.error(`audit:verify: ${(e as Error).message}`)
  return (e as { exitCode?: number }).exitCode ?? EXIT.USAGE
})
