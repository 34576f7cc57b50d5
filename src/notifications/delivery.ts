import { randomUUID } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import type { Knex } from 'knex'
import type { Logger } from 'pino'
import type { Principal } from '../access/principal.js'
import { maySee } from '../access/visibility.js'
import { grantedFields } from '../access/sharing.store.js'
import { encodeCursor } from '../shared/cursor.js'
import { cachedAuthorityRules } from '../reconciliation/authority.store.js'
import type { EntityTypeName, RoleName } from '../shared/entity-types.js'
import { createFeedCache } from './feed-cache.js'
import { deriveEvents, eventFor, retryDelay, signature, type ChangeEventKind } from './rules.js'
import {
  advanceCursor,
  claimDueSubscription,
  compareKeys,
  cursorOf,
  type DbWebhookSubscriptionRow,
  type EventKey,
  pauseSubscription,
  recordFailure,
  releaseSubscription,
} from './webhook.store.js'

export interface WebhookDeliveryConfig {
  /** How often an idle worker looks for due subscriptions. */
  pollMs: number
  /** How long one POST may take before it counts as failed. */
  timeoutMs: number
  /** First retry delay; doubled after each further failure. */
  retryBaseMs: number
  /** Longest retry delay: a subscription that would wait longer is paused (FAILING). */
  maxBackoffMs: number
  /** Events sent per claim of a subscription before its lease is given back. */
  batch: number
  /** Subscriptions this process serves at the same time (each one's events stay in order). */
  concurrency?: number
}

/** Acknowledged events between two cursor writes of one subscription. */
const CURSOR_EVERY = 20

export const DEFAULT_DELIVERY: WebhookDeliveryConfig = {
  pollMs: 500,
  timeoutMs: 10_000,
  retryBaseMs: 1_000,
  maxBackoffMs: 24 * 3600_000,
  batch: 100,
  concurrency: 8,
}

/** The JSON body POSTed for one event (CONTRACT §9). */
export interface WebhookEventBody {
  id: string
  cursor: string
  kind: ChangeEventKind
  entityType: string
  entityId: string
  fields: string[]
  occurredAt: string
  subscriptionId: string
}

export interface DeliveryMetrics {
  delivered(subscriptionId: string): void
  failed(subscriptionId: string): void
}

/** The public cursor of an event key, as `changes(after:)` and `deliveredCursor` use it. */
export function encodeEventKey(k: EventKey): string {
  return encodeCursor([k.position, k.id, k.entity, k.event])
}

interface PrincipalRow {
  id: string
  name: string
  department_code: string | null
  roles: RoleName[]
  revoked_at: Date | null
}

/**
 * A delivery worker: claims due subscriptions (a lease in the database, so several server
 * processes share the work and one subscription is never served by two at once), sends their
 * next events in feed order, signed, and moves each cursor only on a 2xx. stop() waits for the
 * attempt in flight; an event whose answer was not recorded is sent again by the next claimer.
 */
export function createWebhookWorker(
  knex: Knex,
  config: WebhookDeliveryConfig,
  log: Pick<Logger, 'warn' | 'info'>,
  metrics?: DeliveryMetrics,
) {
  const owner = randomUUID()
  let running = false
  const wakers = new Set<() => void>()
  let loops: Promise<void>[] = []
  const leaseMs = config.timeoutMs * 2 + 5_000
  const feed = createFeedCache(knex)

  // node:http with keep-alive agents rather than fetch: per POST, fetch's AbortSignal timer and
  // stream machinery cost more CPU than the delivery itself (bench:webhooks profile).
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 16 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 16 }),
  }

  function post(sub: DbWebhookSubscriptionRow, body: WebhookEventBody): Promise<string | null> {
    const text = JSON.stringify(body)
    return new Promise((resolve) => {
      let url: URL
      try {
        url = new URL(sub.url)
      } catch {
        return resolve('could not deliver: the URL is not valid')
      }
      const client = url.protocol === 'https:' ? https : http
      const agent = agents[url.protocol as keyof typeof agents]
      if (!agent) return resolve(`could not deliver: unsupported protocol ${url.protocol}`)
      let settled = false
      const done = (error: string | null) => {
        if (settled) return
        settled = true
        resolve(error)
      }
      const req = client.request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
            'x-signature': signature(sub.secret, text),
            'x-event-id': body.id,
            'x-subscription-id': sub.id,
          },
        },
        (res) => {
          // A redirect is an answer like any other non-2xx: never followed to another host.
          const status = res.statusCode ?? 0
          res.resume()
          res.on('end', () => done(status >= 200 && status < 300 ? null : `HTTP ${status}`))
          res.on('error', (e) => done(`could not deliver: ${e.message}`))
        },
      )
      req.setTimeout(config.timeoutMs, () => {
        req.destroy()
        done(`no answer within ${config.timeoutMs} ms`)
      })
      req.on('error', (e: NodeJS.ErrnoException) => done(`could not deliver: ${e.code ?? e.message}`))
      req.end(text)
    })
  }

  /** Serves one claimed subscription; true when it had events to send. */
  async function serve(sub: DbWebhookSubscriptionRow): Promise<boolean> {
    if (sub.expires_at && sub.expires_at.getTime() <= Date.now()) {
      await pauseSubscription(knex, sub.id, 'EXPIRED')
      return false
    }
    const p: PrincipalRow | undefined = await knex('principals')
      .select('id', 'name', 'department_code', 'roles', 'revoked_at')
      .where('id', sub.principal_id)
      .first()
    if (!p || p.revoked_at) {
      await pauseSubscription(knex, sub.id, 'KEY_REVOKED', 'the API key of this subscription was revoked')
      return false
    }
    // Access rules as they are now: a grant revoked since the subscription stops those fields.
    const principal: Principal = { id: p.id, name: p.name, departmentCode: p.department_code, roles: p.roles }
    const [rules, grants] = await Promise.all([
      cachedAuthorityRules(knex),
      p.department_code ? grantedFields(knex, p.department_code) : Promise.resolve(new Set<string>()),
    ])
    const filter = {
      entityTypes: sub.entity_types,
      kinds: sub.kinds,
      fields: sub.fields,
      entityIds: sub.entity_ids ? new Set(sub.entity_ids) : null,
      maySee: (entityType: string, field: string) =>
        field === '*'
          ? principal.roles.includes('STEWARD')
          : maySee(
              principal,
              entityType as EntityTypeName,
              field,
              rules.ruleFor(entityType as EntityTypeName, field),
              grants,
            ),
    }
    let cursor = cursorOf(sub)
    let sent = 0
    while (sent < config.batch) {
      const groups = await feed.groupsFrom(cursor.position)
      const pending: { key: EventKey; body: WebhookEventBody }[] = []
      let scannedTo: EventKey | undefined
      for (const g of groups) {
        deriveEvents(g).forEach((e, event) => {
          const key = { position: g.position, id: g.seq, entity: g.entityId, event }
          if (compareKeys(key, cursor) <= 0) return
          scannedTo = key
          const mine = eventFor(g, e, filter)
          if (!mine) return
          pending.push({
            key,
            body: {
              id: `${sub.id}:${g.position}:${g.seq}:${g.entityId}:${event}`,
              cursor: encodeEventKey(key),
              kind: mine.kind,
              entityType: g.entityType,
              entityId: g.entityId,
              fields: mine.fields,
              occurredAt: g.occurredAt.toISOString(),
              subscriptionId: sub.id,
            },
          })
        })
      }
      if (!scannedTo) break
      if (!pending.length) {
        // Nothing for this subscriber in what was scanned: skip past it.
        if (!(await advanceCursor(knex, sub.id, owner, scannedTo))) return true
        cursor = scannedTo
        continue
      }
      // The cursor moves after every CURSOR_EVERY acknowledged events and at the end of the list,
      // not after each: a crash or a lost lease re-sends at most that many (at least once holds).
      let acknowledged: EventKey | undefined
      let unrecorded = 0
      const record = async (): Promise<boolean> => {
        if (!acknowledged) return true
        const kept = await advanceCursor(knex, sub.id, owner, acknowledged)
        cursor = acknowledged
        acknowledged = undefined
        unrecorded = 0
        return kept
      }
      for (const { key, body } of pending) {
        if (sent >= config.batch) break
        const error = await post(sub, body)
        if (error) {
          metrics?.failed(sub.id)
          if (!(await record())) return true
          const delay = retryDelay(sub.failure_count + 1, config.retryBaseMs, config.maxBackoffMs)
          await recordFailure(knex, sub.id, owner, error, delay)
          if (delay === null)
            log.warn({ subscription: sub.id, error }, 'webhook subscription paused after repeated failures')
          return true
        }
        metrics?.delivered(sub.id)
        sub.failure_count = 0
        acknowledged = key
        sent++
        if (++unrecorded >= CURSOR_EVERY && !(await record())) return true
      }
      if (!(await record())) return true
    }
    await releaseSubscription(knex, sub.id, owner, sent ? 0 : config.pollMs)
    return sent > 0
  }

  let lastWarning = 0
  async function run(): Promise<void> {
    while (running) {
      let busy = false
      let pause = config.pollMs
      try {
        const sub = await claimDueSubscription(knex, owner, leaseMs)
        if (sub) busy = (await serve(sub)) || true
      } catch (e) {
        // The database is gone or failing over: wait longer, and say so once in a while, not per round.
        pause = Math.max(config.pollMs, 2_000)
        if (Date.now() - lastWarning > 30_000) {
          lastWarning = Date.now()
          log.warn(
            { err: (e as Error).message.split('\n').pop() },
            'webhook delivery paused: the database is not answering',
          )
        }
      }
      if (!busy && running)
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(t)
            wakers.delete(wake)
            resolve()
          }
          const t = setTimeout(wake, pause)
          wakers.add(wake)
        })
    }
  }

  return {
    owner,
    start() {
      if (running) return
      running = true
      loops = Array.from({ length: Math.max(1, config.concurrency ?? 1) }, () => run())
    },
    /** Looks for due subscriptions now instead of at the next poll. */
    nudge() {
      for (const w of [...wakers]) w()
    },
    async stop() {
      running = false
      for (const w of [...wakers]) w()
      await Promise.all(loops)
      // Idle keep-alive sockets would hold the process open after a shutdown.
      agents['http:'].destroy()
      agents['https:'].destroy()
    },
  }
}

export type WebhookWorker = ReturnType<typeof createWebhookWorker>
