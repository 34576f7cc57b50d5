import type { Knex } from 'knex'
import type { ChangeGroup } from './rules.js'

/** A row of webhook_subscriptions. */
export interface DbWebhookSubscriptionRow {
  id: string
  principal_id: string
  url: string
  entity_types: string[]
  fields: string[] | null
  kinds: string[]
  entity_ids: string[] | null
  expires_at: Date | null
  secret: string
  active: boolean
  cursor_position: string | number
  cursor_id: string | number
  cursor_entity: string
  cursor_event: number
  last_delivery_at: Date | null
  last_error: string | null
  failure_count: number
  next_attempt_at: Date
  lease_owner: string | null
  paused_reason: string | null
  created_at: Date
}

export interface NewWebhookSubscription {
  principalId: string
  url: string
  entityTypes: string[]
  fields: string[] | null
  kinds: string[]
  entityIds: string[] | null
  expiresAt: Date | null
  secret: string
  cursor: EventKey
}

/**
 * Where an event stands in the feed: the transaction's feed position, the entity's largest change
 * id in it (0 for conflicts only), the entity id, and the event's index among the entity's events
 * of that transaction. The cursor of a subscription is the key of the last acknowledged event.
 */
export interface EventKey {
  position: number
  id: number
  entity: string
  event: number
}

/** Orders event keys as the feed delivers them. */
export function compareKeys(a: EventKey, b: EventKey): number {
  return (
    a.position - b.position ||
    a.id - b.id ||
    (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0) ||
    a.event - b.event
  )
}

/** The cursor of a row. */
export function cursorOf(row: DbWebhookSubscriptionRow): EventKey {
  return {
    position: Number(row.cursor_position),
    id: Number(row.cursor_id),
    entity: row.cursor_entity,
    event: row.cursor_event,
  }
}

/** Inserts a subscription; returns its row. */
export async function insertSubscription(knex: Knex, s: NewWebhookSubscription): Promise<DbWebhookSubscriptionRow> {
  const [row] = await knex('webhook_subscriptions')
    .insert({
      principal_id: s.principalId,
      url: s.url,
      entity_types: s.entityTypes,
      fields: s.fields,
      kinds: s.kinds,
      entity_ids: s.entityIds,
      expires_at: s.expiresAt,
      secret: s.secret,
      cursor_position: s.cursor.position,
      cursor_id: s.cursor.id,
      cursor_entity: s.cursor.entity,
      cursor_event: s.cursor.event,
    })
    .returning('*')
  return row
}

/** Subscriptions of one principal (every principal's for null), newest first. */
export function listSubscriptions(knex: Knex, principalId: string | null): Promise<DbWebhookSubscriptionRow[]> {
  const q = knex('webhook_subscriptions').select('*').orderBy('created_at', 'desc').orderBy('id')
  if (principalId) q.where('principal_id', principalId)
  return q
}

/** Active subscriptions a principal holds (for the per-principal cap). */
export async function countActiveSubscriptions(knex: Knex, principalId: string): Promise<number> {
  const row = await knex('webhook_subscriptions')
    .where({ principal_id: principalId, active: true })
    .count('* as n')
    .first()
  return Number(row?.n ?? 0)
}

/** One subscription by id; undefined when there is none. */
export function findSubscription(knex: Knex, id: string): Promise<DbWebhookSubscriptionRow | undefined> {
  return knex('webhook_subscriptions').where({ id }).first()
}

/** Stops a subscription for good or until resumed; false when it was not active. */
export async function pauseSubscription(
  knex: Knex,
  id: string,
  reason: string,
  lastError: string | null = null,
): Promise<boolean> {
  const n = await knex('webhook_subscriptions')
    .where({ id, active: true })
    .update({
      active: false,
      paused_reason: reason,
      lease_owner: null,
      ...(lastError ? { last_error: lastError } : {}),
    })
  return n > 0
}

/** Records that an already paused subscription was unsubscribed: its reason becomes UNSUBSCRIBED. */
export async function markUnsubscribed(knex: Knex, id: string): Promise<void> {
  await knex('webhook_subscriptions').where({ id }).update({ paused_reason: 'UNSUBSCRIBED' })
}

/** Makes a paused subscription deliverable again from its cursor; false when it was not paused. */
export async function resumeSubscription(knex: Knex, id: string): Promise<boolean> {
  const n = await knex('webhook_subscriptions')
    .where({ id, active: false })
    .whereNot('paused_reason', 'UNSUBSCRIBED')
    .update({ active: true, paused_reason: null, failure_count: 0, next_attempt_at: knex.fn.now(), lease_owner: null })
  return n > 0
}

/**
 * Claims the most overdue active subscription for `owner` until now + leaseMs, skipping rows
 * another process is claiming at the same moment; undefined when none is due. While the lease
 * lasts no other worker claims it, so one subscription's events are never sent twice at once.
 */
export async function claimDueSubscription(
  knex: Knex,
  owner: string,
  leaseMs: number,
): Promise<DbWebhookSubscriptionRow | undefined> {
  const { rows } = await knex.raw(
    `UPDATE webhook_subscriptions s
        SET lease_owner = ?, next_attempt_at = now() + make_interval(secs => ?::float8 / 1000)
      WHERE s.id = (SELECT id FROM webhook_subscriptions
                     WHERE active AND next_attempt_at <= now()
                     ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING s.*`,
    [owner, leaseMs],
  )
  return rows[0]
}

/**
 * Records an acknowledged event: the cursor moves past it; false when the lease was lost. The
 * commit does not wait for the disk (synchronous_commit off): a database crash can only lose the
 * last cursor moves, which makes those events arrive again (at least once still holds), and a
 * flush per delivered event was most of the cost of a delivery.
 */
export async function advanceCursor(knex: Knex, id: string, owner: string, cursor: EventKey): Promise<boolean> {
  const n = await knex.transaction(async (trx): Promise<number> => {
    await trx.raw('SET LOCAL synchronous_commit TO OFF')
    return await trx('webhook_subscriptions').where({ id, lease_owner: owner }).update({
      cursor_position: cursor.position,
      cursor_id: cursor.id,
      cursor_entity: cursor.entity,
      cursor_event: cursor.event,
      last_delivery_at: knex.fn.now(),
      last_error: null,
      failure_count: 0,
    })
  })
  return n > 0
}

/** Gives the lease back: the subscription is due again after delayMs. */
export async function releaseSubscription(knex: Knex, id: string, owner: string, delayMs: number): Promise<void> {
  await knex('webhook_subscriptions')
    .where({ id, lease_owner: owner })
    .update({
      lease_owner: null,
      next_attempt_at: knex.raw('now() + make_interval(secs => ?::float8 / 1000)', [delayMs]),
    })
}

/** Records a failed attempt: retried after delayMs, or paused (FAILING) when delayMs is null. */
export async function recordFailure(
  knex: Knex,
  id: string,
  owner: string,
  error: string,
  delayMs: number | null,
): Promise<void> {
  await knex('webhook_subscriptions')
    .where({ id, lease_owner: owner })
    .update({
      lease_owner: null,
      last_error: error.slice(0, 500),
      failure_count: knex.raw('failure_count + 1'),
      ...(delayMs === null
        ? { active: false, paused_reason: 'FAILING' }
        : { next_attempt_at: knex.raw('now() + make_interval(secs => ?::float8 / 1000)', [delayMs]) }),
    })
}

/** Feed order of groups: position, then change id (conflicts-only groups, seq 0, first), then entity id. */
export function compareGroups(a: ChangeGroup, b: ChangeGroup): number {
  return a.position - b.position || a.seq - b.seq || (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0)
}

/**
 * The change groups (one per transaction and entity) of at most `positions` transactions from
 * feed position `from` on, in feed order (compareGroups); the caller skips what it has delivered.
 */
export async function groupsFrom(knex: Knex, from: number, positions: number): Promise<ChangeGroup[]> {
  const txs: { txid: string; feed_position: string; operation: string; created_at: Date }[] = await knex('transactions')
    .select('txid', 'feed_position', 'operation', 'created_at')
    .where('feed_position', '>=', from)
    .orderBy('feed_position')
    .limit(positions)
  if (!txs.length) return []
  const txids = txs.map((t) => t.txid)
  const [history, conflicts] = await Promise.all([
    knex('field_history as h')
      .join('entities as e', 'e.id', 'h.entity_id')
      .select(
        'h.id',
        'h.txid',
        'h.entity_id',
        'h.entity_type',
        'h.field',
        'h.old_value',
        'h.new_value',
        'e.created_txid',
      )
      .whereIn('h.txid', txids)
      .orderBy('h.id'),
    knex('conflicts')
      .select('opened_txid', 'entity_id', 'entity_type', 'field', 'opened_at')
      .whereIn('opened_txid', txids)
      .orderBy('opened_at')
      .orderBy('id'),
  ])
  const byTx = new Map(txs.map((t) => [String(t.txid), t]))
  const groups = new Map<string, ChangeGroup>()
  const groupOf = (txid: string, entityId: string, entityType: string) => {
    const key = `${txid}|${entityId}`
    let g = groups.get(key)
    if (!g) {
      const t = byTx.get(String(txid))!
      g = {
        position: Number(t.feed_position),
        seq: 0,
        entityType,
        entityId,
        operation: t.operation,
        created: false,
        changes: [],
        conflictFields: [],
        occurredAt: t.created_at,
      }
      groups.set(key, g)
    }
    return g
  }
  for (const h of history) {
    const g = groupOf(h.txid, h.entity_id, h.entity_type)
    g.seq = Math.max(g.seq, Number(h.id))
    g.created ||= String(h.created_txid) === String(h.txid)
    g.changes.push({ field: h.field, oldValue: h.old_value, newValue: h.new_value })
  }
  for (const c of conflicts) groupOf(c.opened_txid, c.entity_id, c.entity_type).conflictFields.push(c.field)
  return [...groups.values()].sort(compareGroups)
}

/** Events behind per active subscription (feed positions not yet acknowledged), for /metrics. */
export async function subscriptionBacklogs(knex: Knex): Promise<{ id: string; behind: number }[]> {
  const { rows } = await knex.raw(
    `SELECT s.id, (SELECT count(*) FROM transactions t WHERE t.feed_position > s.cursor_position) AS behind
       FROM webhook_subscriptions s WHERE s.active`,
  )
  return rows.map((r: { id: string; behind: string }) => ({ id: r.id, behind: Number(r.behind) }))
}
