import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Knex } from 'knex'
import type { Logger } from 'pino'
import { typeFields, logCrossCheckRead } from './cross-check.service.js'
import {
  claimCheck,
  failCheck,
  findCheck,
  findType,
  finishCheck,
  foundSubjectIds,
  orphanedChecks,
  recordProgress,
  resolveSubjects,
  runRuleStatement,
} from './cross-check.store.js'
import { ruleSql } from './predicates.js'

export interface RunnerOptions {
  /** A RUNNING check whose worker has been silent this long is taken over (its process died). */
  staleMs?: number
  /** Subjects per step: one transaction writes a step's hits and its progress together. */
  chunkSize?: number
  /** Runs started before a check is given up as FAILED. */
  maxAttempts?: number
  /** Called after each step with the check's progress (the CLI prints it). */
  onProgress?: (checked: number, total: number) => void
}

class LostLease extends Error {}

/**
 * Runs cross-checks in the background of a server (or in the CLI's process). A check is claimed
 * with a lease (worker id + heartbeat); each step compares one slice of subjects and moves
 * `checked_count` in the same transaction, so a check whose process died resumes at its last
 * step, on this or any other process, once its heartbeat is stale. Nothing stays RUNNING forever:
 * after maxAttempts runs, or when its type is gone, it is marked FAILED with the reason.
 */
export class CrossCheckRunner {
  readonly worker = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`
  private readonly running = new Map<string, Promise<void>>()
  private timer: NodeJS.Timeout | undefined
  private stopping = false
  private readonly staleMs: number
  private readonly chunkSize: number
  private readonly maxAttempts: number

  constructor(
    private readonly knex: Knex,
    private readonly log: Pick<Logger, 'info' | 'warn' | 'error'>,
    private readonly options: RunnerOptions = {},
  ) {
    this.staleMs = options.staleMs ?? 60_000
    this.chunkSize = options.chunkSize ?? 5_000
    this.maxAttempts = options.maxAttempts ?? 3
  }

  /** Resumes orphaned checks now and sweeps for them every staleMs/2 until stop(). */
  start(): void {
    void this.sweep()
    this.timer = setInterval(() => void this.sweep(), Math.max(1000, this.staleMs / 2))
    this.timer.unref()
  }

  /** Starts running a check in the background (no-op when this process runs it already). */
  kick(id: string): void {
    if (this.stopping || this.running.has(id)) return
    const run = this.run(id)
      .catch((e) => this.log.error({ err: e, checkId: id }, 'cross-check run failed'))
      .finally(() => this.running.delete(id))
    this.running.set(id, run)
  }

  /** Runs a check to its end in this process; resolves when it is DONE, FAILED, or held elsewhere. */
  async runToEnd(id: string): Promise<void> {
    this.kick(id)
    await this.running.get(id)
  }

  /** Stops sweeping; running checks stop after their current step (and resume elsewhere later). */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer) clearInterval(this.timer)
    await Promise.allSettled([...this.running.values()])
  }

  private async sweep(): Promise<void> {
    if (this.stopping) return
    try {
      for (const id of await orphanedChecks(this.knex, this.staleMs)) this.kick(id)
    } catch (e) {
      this.log.warn({ err: e }, 'cross-check sweep failed; retrying at the next sweep')
    }
  }

  private async run(id: string): Promise<void> {
    const check = await claimCheck(this.knex, id, this.worker, this.staleMs)
    if (!check) return
    if (check.attempts > this.maxAttempts) {
      await failCheck(
        this.knex,
        id,
        `gave up after ${this.maxAttempts} attempts: the service stopped while running it each time`,
      )
      return
    }
    if (check.attempts > 1)
      this.log.info({ checkId: id, checked: check.checked_count, attempt: check.attempts }, 'cross-check resumed')
    const type = await findType(this.knex, check.type_code)
    if (!type) {
      await failCheck(this.knex, id, `cross-check type ${check.type_code} no longer exists`)
      return
    }
    try {
      for (let from = check.checked_count; from < check.subject_count; from += this.chunkSize) {
        if (this.stopping) return
        const to = Math.min(check.subject_count, from + this.chunkSize)
        const slice = { checkId: id, from, to, asOf: check.as_of }
        const held = await this.knex
          .transaction(async (trx) => {
            await resolveSubjects(trx, type.subject_type, slice)
            for (const rule of type.rules) await runRuleStatement(trx, ruleSql(type.subject_type, rule, slice))
            if (!(await recordProgress(trx, id, this.worker, to))) throw new LostLease()
            return true
          })
          .catch((e) => {
            if (e instanceof LostLease) return false
            throw e
          })
        // Another worker took it over (this one was thought dead): this step rolled back.
        if (!held) return
        this.options.onProgress?.(to, check.subject_count)
      }
      // The read of the registers, once per check: who, which persons, which fields, why. Written
      // before DONE, so a crash in between logs it twice rather than never.
      await logCrossCheckRead(this.knex, {
        principalId: check.requested_by,
        purpose: check.purpose,
        operation: `crossCheck ${check.type_code} ${id}`,
        personIds: type.subject_type === 'PERSON' ? await foundSubjectIds(this.knex, id) : [],
        fields: typeFields(type),
      })
      if (!(await finishCheck(this.knex, id, this.worker))) return
    } catch (e) {
      if (this.stopping) return
      this.log.error({ err: e, checkId: id }, 'cross-check failed')
      await failCheck(this.knex, id, 'the comparison stopped with a database error; see the service log')
      return
    }
    const done = await findCheck(this.knex, id)
    this.log.info(
      { checkId: id, subjects: done?.subject_count, hitSubjects: done?.hit_subject_count },
      'cross-check done',
    )
  }
}

// The runner of each database handle, so resolvers reach the server's runner without widening
// the shared request context.
const RUNNERS = new WeakMap<Knex, CrossCheckRunner>()

/** Makes `runner` the one that resolvers using `knex` kick. */
export function registerRunner(knex: Knex, runner: CrossCheckRunner): void {
  RUNNERS.set(knex, runner)
}

/** The runner registered for this knex; undefined when none (the check waits for a sweep). */
export function runnerFor(knex: Knex): CrossCheckRunner | undefined {
  return RUNNERS.get(knex)
}
