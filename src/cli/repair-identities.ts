import { parseArgs } from 'node:util'
import { repairSplitIdentities } from '../reconciliation/identity-repair.service.js'
import { CliError, EXIT, loadCliConfig, openCliDatabase } from './database.js'

const USAGE = `usage: npm run repair:identities [-- --dry-run]
Finds entities that share a natural key (ID number, credit code, division code, …) and merges each
group into one entity through the stewards' merge (audited, reversible with unmergeEntity).`

/** `npm run repair:identities`: prints one line per merge; exit 0 also when there was nothing to do. */
async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'dry-run': { type: 'boolean' }, help: { type: 'boolean' } } })
  if (values.help) {
    console.log(USAGE)
    return EXIT.OK
  }
  const db = await openCliDatabase(loadCliConfig())
  try {
    const dryRun = values['dry-run'] ?? false
    const r = await repairSplitIdentities(db.knex, { dryRun })
    const by = new Map<string, string>()
    for (const s of r.splits) for (const id of s.entityIds.slice(1)) by.set(id, `${s.entityType} ${s.naturalKey}`)
    for (const [keep, merged] of r.merged)
      console.log(`${dryRun ? 'would merge' : 'merged'} ${merged} into ${keep} (${by.get(merged)})`)
    for (const [keep, other] of r.excluded)
      console.log(`left apart ${other} and ${keep}: a steward declared them NOT_DUPLICATE`)
    console.log(
      `${r.splits.length} split natural key(s) in ${db.description}; ${r.merged.length} merge(s)${dryRun ? ' needed (dry run, nothing changed)' : ' done'}`,
    )
    return EXIT.OK
  } finally {
    await db.close()
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((e) => {
  console.error(`repair:identities: ${(e as Error).message}`)
  return e instanceof CliError ? e.exitCode : EXIT.FAILED
})
