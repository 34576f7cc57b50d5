import { parseArgs } from 'node:util'
import { seedDemo } from '../../seeds/demo.js'
import { CliError, EXIT, loadCliConfig, openCliDatabase } from './database.js'

const USAGE = `usage: npm run seed -- [--persons N] [--legal-entities N] [--seed TEXT] [--chunk-size N]
Loads the Hangzhou demo through the reconciliation engine into DATABASE_URL, or the embedded
database (DATA_DIR, default ./.data/pglite) when DATABASE_URL is unset. Re-running is idempotent.`

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a whole number ≥ 0, got "${raw}"\n${USAGE}`)
    process.exit(EXIT.USAGE)
  }
  return n
}

async function main(): Promise<void> {
  let args
  try {
    args = parseArgs({
      options: {
        persons: { type: 'string' },
        'legal-entities': { type: 'string' },
        seed: { type: 'string' },
        'chunk-size': { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`)
    process.exit(EXIT.USAGE)
  }
  if (args.help) {
    console.log(USAGE)
    return
  }
  const config = loadCliConfig()
  const persons = positiveInt('persons', args.persons, config.demoPersons)
  const legalEntities = positiveInt('legal-entities', args['legal-entities'], config.demoLegalEntities)
  const chunkSize = positiveInt('chunk-size', args['chunk-size'], 2000) || 2000
  const db = await openCliDatabase(config)
  const started = Date.now()
  const log = {
    info: (msg: string) => console.error(`${((Date.now() - started) / 1000).toFixed(1)} s  ${msg}`),
  }
  try {
    log.info(`seeding ${persons} persons and ${legalEntities} legal entities into the ${db.description}`)
    const totals = await seedDemo(db.knex, {
      persons,
      legalEntities,
      seed: args.seed,
      chunkSize,
      matchHigh: config.matchHigh,
      matchLow: config.matchLow,
      extent: config.extent,
      log,
    })
    const seconds = (Date.now() - started) / 1000
    let records = 0
    for (const [key, t] of totals) {
      records += t.accepted + t.rejected.length
      console.log(
        `${key.padEnd(22)} accepted ${t.accepted}  created ${t.created}  updated ${t.updated}  unchanged ${t.unchanged}  conflictsOpened ${t.conflictsOpened}  possibleDuplicates ${t.possibleDuplicates}  rejected ${t.rejected.length}`,
      )
    }
    console.log(
      `${records} records in ${seconds.toFixed(1)} s (${Math.round(records / seconds)} records/s); peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
    )
  } finally {
    await db.close()
  }
}

main().catch((e) => {
  if (e instanceof CliError) {
    console.error(e.message)
    process.exit(e.exitCode)
  }
  console.error(`seed failed: ${(e as Error).message}`)
  process.exit(EXIT.FAILED)
})
