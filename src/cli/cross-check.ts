import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { Knex } from 'knex'
import { createPrincipal, principalForKey } from '../access/keys.js'
import type { Principal } from '../access/principal.js'
import { errorCode } from '../shared/errors.js'
import { CrossCheckRunner } from '../cross-check/cross-check.runner.js'
import {
  createCrossCheck,
  evidenceViewer,
  requireType,
  showEvidence,
  type SubjectInput,
} from '../cross-check/cross-check.service.js'
import { allHits, findCheck } from '../cross-check/cross-check.store.js'
import { csvRows } from '../reconciliation/import.readers.js'
import { toCsv, UTF8_BOM } from '../statistics/csv.js'
import { CliError, EXIT, loadCliConfig, openCliDatabase } from './database.js'

const USAGE = `usage: npm run cross-check -- --type TYPE [--key API_KEY] [--as-of ISO-TIME] [--out HITS.csv] [--purpose TEXT] [--json] SUBJECTS.csv

Compares a list of subjects with the registers (as they stood at --as-of, default now), in the same
way as startCrossCheck but for files of any size, printing progress, then writes the hits to
--out (default SUBJECTS.hits.csv): subjectKey, subjectRef, rule, hitId, field, value, source,
observedAt, entityId — one line per evidence item, masked or withheld as the API would for the
requester. SUBJECTS.csv: a header row with a "key" column (ID number or credit code) and optional
"ref" and "since" (YYYY-MM-DD) columns. The requester is --key's principal, else a "cross-check
CLI" app of the type's owner department. The check is written to the access log with --purpose.
Uses DATABASE_URL, or the embedded database (DATA_DIR; stop the server first).
Exit codes: 0 done, 1 failure, 2 bad command line or input, 3 malformed file.`

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
        type: { type: 'string' },
        key: { type: 'string' },
        'as-of': { type: 'string' },
        out: { type: 'string' },
        purpose: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    })
  } catch (e) {
    usage((e as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) return null
  if (positionals.length !== 1) usage(positionals.length ? 'give exactly one SUBJECTS.csv' : 'SUBJECTS.csv is missing')
  if (!values.type) usage('--type is required')
  const file = positionals[0]
  if (!existsSync(file) || !statSync(file).isFile()) throw new CliError(`no such file: ${file}`, EXIT.USAGE)
  let asOf: Date | null = null
  if (values['as-of']) {
    asOf = new Date(values['as-of'])
    if (Number.isNaN(asOf.getTime())) usage(`--as-of "${values['as-of']}" is not a date-time`)
  }
  return {
    file,
    type: values.type,
    key: values.key,
    asOf,
    out: values.out ?? file.replace(/(\.csv)?$/i, '.hits.csv'),
    purpose: values.purpose ?? null,
    json: !!values.json,
  }
}

/** Subjects of a CSV file with a "key" column (and optional "ref", "since"). */
export async function readSubjects(file: string): Promise<SubjectInput[]> {
  const subjects: SubjectInput[] = []
  let header: string[] | null = null
  for await (const { line, cells } of csvRows(createReadStream(file, { encoding: 'utf8' }))) {
    if (!header) {
      header = cells.map((c) => c.trim())
      if (!header.includes('key')) throw new CliError(`${file}: the header row has no "key" column`, EXIT.BAD_FILE)
      continue
    }
    if (cells.length === 1 && cells[0] === '') continue
    const get = (name: string) => {
      const i = header!.indexOf(name)
      const v = i >= 0 ? cells[i]?.trim() : undefined
      return v ? v : null
    }
    const key = get('key')
    if (!key) throw new CliError(`${file}: line ${line} has no key`, EXIT.BAD_FILE)
    subjects.push({ key, ref: get('ref'), since: get('since') })
  }
  return subjects
}

/** The principal of --key, or the owner department's CLI app (created on first use, no key shown). */
async function requester(knex: Knex, key: string | undefined, ownerCode: string): Promise<Principal> {
  if (key) {
    const p = await principalForKey(knex, key)
    if (!p) throw new CliError('--key is not a valid API key', EXIT.USAGE)
    return p
  }
  const name = `cross-check CLI (${ownerCode})`
  const row = await knex('principals').where({ name, department_code: ownerCode }).whereNull('revoked_at').first()
  if (row) return { id: row.id, name: row.name, departmentCode: row.department_code, roles: row.roles }
  return (await createPrincipal(knex, { name, departmentCode: ownerCode, roles: ['DEPARTMENT_APP'] })).principal
}

/** The cross-check command on argv (without node and script); throws CliError with an exit code. */
export async function runCrossCheckCli(argv: string[]): Promise<void> {
  const args = parse(argv)
  if (!args) {
    console.log(USAGE)
    return
  }
  const config = loadCliConfig()
  const db = await openCliDatabase(config)
  const started = Date.now()
  try {
    const type = await requireType(db.knex, args.type, '--type')
    const principal = await requester(db.knex, args.key, type.owner_code)
    const subjects = await readSubjects(args.file)
    const check = await createCrossCheck(
      db.knex,
      principal,
      { type: type.code, asOf: args.asOf, subjects, purpose: args.purpose },
      null,
    )
    const tty = process.stderr.isTTY
    let last = 0
    const runner = new CrossCheckRunner(
      db.knex,
      { info: () => {}, warn: (o: unknown) => console.error(o), error: (o: unknown) => console.error(o) },
      {
        staleMs: config.crossCheckStaleMs,
        onProgress: (checked, total) => {
          const now = Date.now()
          if (checked < total && now - last < (tty ? 250 : 10_000)) return
          last = now
          const line = `${checked.toLocaleString('en')} / ${total.toLocaleString('en')} subjects compared`
          process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`)
        },
      },
    )
    await runner.runToEnd(check.id)
    if (tty) process.stderr.write('\n')
    const done = (await findCheck(db.knex, check.id))!
    if (done.status !== 'DONE') throw new CliError(`check ${check.id} ${done.status}: ${done.error ?? ''}`, EXIT.FAILED)
    const viewer = await evidenceViewer(db.knex, principal)
    const rows: unknown[][] = [
      ['subjectKey', 'subjectRef', 'rule', 'hitId', 'field', 'value', 'source', 'observedAt', 'entityId'],
    ]
    for (const h of await allHits(db.knex, check.id))
      for (const e of showEvidence(viewer, h.evidence))
        rows.push([
          h.subject_key,
          h.subject_ref,
          h.rule_code,
          h.id,
          `${e.entityType}.${e.field}`,
          e.withheld
            ? '(withheld)'
            : typeof e.value === 'object' && e.value !== null
              ? JSON.stringify(e.value)
              : e.value,
          e.source,
          e.observedAt,
          e.entityId,
        ])
    writeFileSync(args.out, UTF8_BOM + toCsv(rows))
    const seconds = (Date.now() - started) / 1000
    const summary = {
      checkId: done.id,
      type: done.type_code,
      asOf: done.as_of,
      subjects: done.subject_count,
      invalid: done.invalid_count,
      notFound: done.not_found_count,
      hitSubjects: done.hit_subject_count,
      hits: new Set(rows.slice(1).map((r) => r[3])).size,
      out: args.out,
      seconds,
    }
    if (args.json) console.log(JSON.stringify(summary))
    else {
      console.log(`cross-check ${done.id} (${done.type_code}, registers as of ${done.as_of.toISOString()})`)
      console.log(
        `subjects ${done.subject_count}  invalid ${done.invalid_count}  notFound ${done.not_found_count}  hitSubjects ${done.hit_subject_count}`,
      )
      console.log(`hits: ${args.out}  (${seconds.toFixed(1)} s)`)
    }
  } catch (e) {
    if (errorCode(e)) throw new CliError((e as Error).message, EXIT.USAGE)
    throw e
  } finally {
    await db.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  runCrossCheckCli(process.argv.slice(2)).catch((e) => {
    if (e instanceof CliError) {
      console.error(`cross-check: ${e.message}`)
      process.exit(e.exitCode)
    }
    console.error(`cross-check failed: ${(e as Error).message}`)
    process.exit(EXIT.FAILED)
  })
