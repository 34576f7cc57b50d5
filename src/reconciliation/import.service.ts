import { createHash } from 'node:crypto'
import { appendFileSync, createReadStream, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { Knex } from 'knex'
import { isDepartment } from './authority.store.js'
import { withTransaction } from '../db/transaction.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import { ImportFileError, readRecords, type ImportFormat } from './import.readers.js'
import type { RecordInput } from './rules/validate.js'
import { applySubmission, type SubmissionOptions, type SubmissionResult } from './submission.service.js'

/**
 * Bulk import of one department's file through the same path as submitRecords: every chunk is one
 * transaction running applySubmission (same validation, rules, quarantine and counts), and the
 * run's checkpoint (import_runs) advances in that same transaction. Re-running the same command
 * after a crash resumes after the last committed chunk; re-running a finished import applies the
 * file again, and every record comes back `unchanged`.
 */

export interface ImportRequest {
  file: string
  format: ImportFormat
  department: string
  entityType: EntityTypeName
  /** Records per transaction (default 5,000). */
  chunkSize?: number
  /** Called after every committed chunk (and once at the start of a resumed run). */
  onProgress?: (p: ImportProgress) => void
  /** Called after every committed chunk with its 1-based number; tests use it to simulate a crash. */
  afterChunk?: (chunk: number) => void
}

export interface ImportProgress {
  /** Records read so far (including those skipped because an earlier run committed them). */
  records: number
  /** Records applied by this run. */
  applied: number
  /** Records skipped because an earlier run of the same file had committed them. */
  skipped: number
}

export type ImportTotals = Omit<SubmissionResult, 'batchKey' | 'rejected' | 'warnings'> & {
  rejected: number
  /** Accepted records with a reference that matches nothing (UNRESOLVED_REFERENCE lines of the report). */
  unresolved: number
}

export interface ImportResult extends ImportTotals {
  runId: number
  /** Records in the file. */
  records: number
  /** Records an earlier, interrupted run had committed (0 for a fresh run). */
  resumedFrom: number
  /** Path of the rejection report (`<file>.rejected.ndjson`), or null when nothing was rejected. */
  rejectionReport: string | null
}

/** One line of the rejection report. */
export interface RejectionLine {
  /** 0-based position of the record in the file. */
  index: number
  /** Line (CSV, NDJSON) or feature number (GeoJSON) where it starts, 1-based. */
  line: number
  sourceKey: string | null
  code: string
  field: string | null
  message: string
  /** true: an UNRESOLVED_REFERENCE warning about an accepted record (it was applied). */
  warning?: boolean
}

export { ImportFileError }

/** A request that cannot run (unknown department or entity type). */
export class ImportRequestError extends Error {}

const ZERO: ImportTotals = {
  accepted: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  conflictsOpened: 0,
  possibleDuplicates: 0,
  rejected: 0,
  unresolved: 0,
}

/** sha256 of the file's bytes, streamed. */
export async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** Path of the rejection report written next to the input. */
export function rejectionReportPath(file: string): string {
  return `${file}.rejected.ndjson`
}

/**
 * Imports the file; returns the totals of the whole file (a resumed run adds the interrupted run's
 * counts). Throws ImportFileError on a structural problem in the file (chunks before it stay
 * committed), ImportRequestError for an unknown department or entity type.
 */
export async function importFile(knex: Knex, req: ImportRequest, opts: SubmissionOptions): Promise<ImportResult> {
  if (!(ENTITY_TYPES as readonly string[]).includes(req.entityType))
    throw new ImportRequestError(`unknown entity type "${req.entityType}" (one of ${ENTITY_TYPES.join(', ')})`)
  const known = await isDepartment(knex, req.department)
  if (!known) throw new ImportRequestError(`unknown department "${req.department}"`)
  const chunkSize = req.chunkSize ?? 5000
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new ImportRequestError('chunk size must be a whole number ≥ 1')

  const fileHash = await hashFile(req.file)
  const key = { file_hash: fileHash, department_code: req.department, entity_type: req.entityType }
  let run = await knex('import_runs').where(key).whereNull('finished_at').first()
  const resumedFrom = run ? Number(run.records_committed) : 0
  if (!run) {
    ;[run] = await knex('import_runs')
      .insert({ ...key, file_name: basename(req.file), chunk_size: chunkSize })
      .returning('*')
  }
  const runId = Number(run.id)
  const totals: ImportTotals = { ...ZERO, ...(resumedFrom ? (run.totals as Partial<ImportTotals>) : {}) }

  // The report holds exactly the rejections of committed chunks: lines of a chunk that did not
  // commit (written just before a crash) are dropped on resume.
  const report = rejectionReportPath(req.file)
  if (resumedFrom && existsSync(report)) {
    const kept = readFileSync(report, 'utf8')
      .split('\n')
      .filter((l) => l && (JSON.parse(l) as RejectionLine).index < resumedFrom)
    writeFileSync(report, kept.map((l) => `${l}\n`).join(''))
  } else if (existsSync(report)) {
    unlinkSync(report)
  }

  let index = 0
  let applied = 0
  let chunkNo = 0
  let buffer: { index: number; position: number; record: RecordInput }[] = []
  const flush = async () => {
    if (!buffer.length) return
    const chunk = buffer
    buffer = []
    const first = chunk[0].index
    const committed = first + chunk.length
    await withTransaction(
      knex,
      {
        operation: 'import',
        departmentCode: req.department,
        reason: `import of ${basename(req.file)}, records ${first + 1}–${committed}`,
      },
      async (tx) => {
        const r = await applySubmission(
          tx,
          {
            department: req.department,
            entityType: req.entityType,
            batchKey: `import:${fileHash.slice(0, 16)}:${first}`,
            records: chunk.map((c) => c.record),
          },
          opts,
        )
        const next: ImportTotals = {
          accepted: totals.accepted + r.accepted,
          created: totals.created + r.created,
          updated: totals.updated + r.updated,
          unchanged: totals.unchanged + r.unchanged,
          conflictsOpened: totals.conflictsOpened + r.conflictsOpened,
          possibleDuplicates: totals.possibleDuplicates + r.possibleDuplicates,
          rejected: totals.rejected + r.rejected.length,
          unresolved: (totals.unresolved ?? 0) + r.warnings.length,
        }
        await tx
          .trx('import_runs')
          .where({ id: runId })
          .update({ records_committed: committed, totals: JSON.stringify(next), updated_at: tx.at })
        // Rejections and unresolved references share the report, in file order (warnings say so).
        const lines = [
          ...r.rejected.map((x) => ({ ...x, warning: false })),
          ...r.warnings.map((x) => ({ ...x, warning: true })),
        ].sort((a, b) => a.index - b.index)
        if (lines.length) {
          appendFileSync(
            report,
            lines
              .map(
                (x) =>
                  `${JSON.stringify({
                    index: first + x.index,
                    line: chunk[x.index].position,
                    sourceKey: x.sourceKey,
                    code: x.code,
                    field: x.field,
                    message: x.message,
                    ...(x.warning ? { warning: true } : {}),
                  } satisfies RejectionLine)}\n`,
              )
              .join(''),
          )
        }
        Object.assign(totals, next)
      },
    )
    applied += chunk.length
    chunkNo++
    req.onProgress?.({ records: index, applied, skipped: resumedFrom })
    req.afterChunk?.(chunkNo)
  }

  if (resumedFrom) req.onProgress?.({ records: 0, applied: 0, skipped: resumedFrom })
  for await (const { position, record } of readRecords(req.file, req.format)) {
    const i = index++
    if (i < resumedFrom) continue
    buffer.push({ index: i, position, record })
    if (buffer.length >= chunkSize) await flush()
  }
  await flush()
  if (index < resumedFrom)
    throw new ImportFileError(`the file has ${index} records but an earlier run committed ${resumedFrom}`)
  await knex('import_runs')
    .where({ id: runId })
    .update({ finished_at: knex.fn.now(), updated_at: knex.fn.now(), totals: JSON.stringify(totals) })
  return {
    runId,
    records: index,
    resumedFrom,
    ...totals,
    rejectionReport: totals.rejected || totals.unresolved ? report : null,
  }
}
