import { existsSync, statSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import {
  formatFromFileName,
  IMPORT_FORMATS,
  ImportFileError,
  type ImportFormat,
} from '../reconciliation/import.readers.js'
import { importFile, ImportRequestError, type ImportProgress } from '../reconciliation/import.service.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import { CliError, EXIT, loadCliConfig, openCliDatabase } from './database.js'

const USAGE = `usage: npm run import -- --department CODE --entity-type TYPE [--format csv|ndjson|geojson] [--chunk-size N] [--json] FILE

Submits every record of FILE for the department through the reconciliation engine, in chunks of
--chunk-size records (default 5000), each its own transaction. Formats (by extension or --format):
  csv      header row = attribute names; a sourceKey column; optional observedAt; geometry as a
           GeoJSON text column "geometry" or as "lon" + "lat" columns (points)
  ndjson   one {"sourceKey", "observedAt"?, "attributes", "geometry"?} object per line (.ndjson, .jsonl)
  geojson  a FeatureCollection; properties = attributes + sourceKey (+ observedAt) (.geojson, .json)
Rejected records (and, marked "warning": true, accepted records whose reference matches nothing,
code UNRESOLVED_REFERENCE) are listed in FILE.rejected.ndjson. After a crash, run the same command again: it
resumes after the last committed chunk. Uses DATABASE_URL, or the embedded database (DATA_DIR).
Exit codes: 0 done (even with rejected records), 1 failure, 2 bad command line, 3 malformed file.`

function usage(message: string): never {
  throw new CliError(`${message}\n\n${USAGE}`, EXIT.USAGE)
}

function parse(argv: string[]) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        department: { type: 'string' },
        'entity-type': { type: 'string' },
        format: { type: 'string' },
        'chunk-size': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    })
  } catch (e) {
    usage((e as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) return null
  if (positionals.length !== 1) usage(positionals.length ? 'give exactly one FILE' : 'FILE is missing')
  const file = positionals[0]
  if (!values.department) usage('--department is required')
  const entityType = values['entity-type']
  if (!entityType) usage('--entity-type is required')
  if (!(ENTITY_TYPES as readonly string[]).includes(entityType))
    usage(`unknown --entity-type "${entityType}" (one of ${ENTITY_TYPES.join(', ')})`)
  let format: ImportFormat | null
  if (values.format) {
    if (!(IMPORT_FORMATS as readonly string[]).includes(values.format))
      usage(`unknown --format "${values.format}" (one of ${IMPORT_FORMATS.join(', ')})`)
    format = values.format as ImportFormat
  } else {
    format = formatFromFileName(file)
    if (!format)
      usage(`cannot tell the format of "${file}" from its extension; give --format ${IMPORT_FORMATS.join('|')}`)
  }
  const chunkSize = values['chunk-size'] === undefined ? 5000 : Number(values['chunk-size'])
  if (!Number.isInteger(chunkSize) || chunkSize < 1) usage('--chunk-size must be a whole number ≥ 1')
  if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`no such file: ${file}`, EXIT.USAGE)
  return {
    file,
    format,
    department: values.department,
    entityType: entityType as EntityTypeName,
    chunkSize,
    json: !!values.json,
  }
}

/** A \r-refreshed progress line on a terminal; a plain line every 10 s otherwise (logs). */
function progressReporter() {
  const started = Date.now()
  let last = 0
  const tty = process.stderr.isTTY
  return {
    update(p: ImportProgress, force = false) {
      const now = Date.now()
      if (!force && now - last < (tty ? 250 : 10_000)) return
      last = now
      const s = (now - started) / 1000
      const rate = s > 0 ? Math.round(p.applied / s) : 0
      const line =
        `${p.records.toLocaleString('en')} records read, ${p.applied.toLocaleString('en')} applied, ${rate.toLocaleString('en')} records/s` +
        (p.skipped ? `, ${p.skipped.toLocaleString('en')} skipped (committed by an earlier run)` : '')
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`)
    },
    done() {
      if (tty && last) process.stderr.write('\n')
    },
  }
}

/** Extension points of one run (the crash-and-resume test kills the process after a chunk). */
export interface ImportCliHooks {
  /** Called after each committed chunk with the number of chunks committed so far. */
  afterChunk?: (chunks: number) => void
}

/** The import command on argv (without node and script); throws CliError with an exit code. */
export async function runImportCli(argv: string[], hooks: ImportCliHooks = {}): Promise<void> {
  const args = parse(argv)
  if (!args) {
    console.log(USAGE)
    return
  }
  const config = loadCliConfig()
  const db = await openCliDatabase(config)
  const progress = progressReporter()
  const started = Date.now()
  try {
    const r = await importFile(
      db.knex,
      {
        ...args,
        onProgress: (p) => progress.update(p),
        afterChunk: hooks.afterChunk,
      },
      config,
    )
    progress.done()
    const seconds = (Date.now() - started) / 1000
    const applied = r.records - r.resumedFrom
    if (args.json) {
      console.log(
        JSON.stringify({
          ...r,
          seconds,
          recordsPerSecond: Math.round(applied / seconds),
          peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
        }),
      )
    } else {
      console.log(
        `${r.records} records in ${args.file}${r.resumedFrom ? ` (resumed after ${r.resumedFrom} committed by an earlier run)` : ''}`,
      )
      console.log(
        `accepted ${r.accepted}  created ${r.created}  updated ${r.updated}  unchanged ${r.unchanged}  conflictsOpened ${r.conflictsOpened}  possibleDuplicates ${r.possibleDuplicates}  rejected ${r.rejected}  unresolved references ${r.unresolved}`,
      )
      if (r.rejectionReport) console.log(`rejected records and unresolved references: ${r.rejectionReport}`)
      console.log(`${applied} records applied in ${seconds.toFixed(1)} s (${Math.round(applied / seconds)} records/s)`)
    }
  } catch (e) {
    progress.done()
    if (e instanceof ImportFileError) throw new CliError(`malformed file ${args.file}: ${e.message}`, EXIT.BAD_FILE)
    if (e instanceof ImportRequestError) throw new CliError(e.message, EXIT.USAGE)
    throw e
  } finally {
    await db.close()
  }
}

/** Runs the command and turns its outcome into a message and an exit code. */
export function runImportMain(argv: string[], hooks: ImportCliHooks = {}): void {
  runImportCli(argv, hooks).catch((e) => {
    if (e instanceof CliError) {
      console.error(`import: ${e.message}`)
      process.exit(e.exitCode)
    }
    console.error(`import failed: ${(e as Error).message}`)
    process.exit(EXIT.FAILED)
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runImportMain(process.argv.slice(2))
