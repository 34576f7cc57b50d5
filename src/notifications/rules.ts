import { createHmac } from 'node:crypto'

// Pure rules of change notifications (CONTRACT §9): which URLs may be subscribed, which events a
// transaction's changes make, what a subscriber may receive, how retries back off, how a body is
// signed. No I/O here; the store and the worker supply rows and decide nothing else.

export const CHANGE_EVENT_KINDS = [
  'FIELD_CHANGED',
  'ENTITY_CREATED',
  'ENTITIES_MERGED',
  'ENTITY_UNMERGED',
  'PERSON_DIED',
  'PERSON_MOVED',
  'LEGAL_ENTITY_DEREGISTERED',
  'CONFLICT_OPENED',
] as const
export type ChangeEventKind = (typeof CHANGE_EVENT_KINDS)[number]

/** Legal-entity statuses that end a registration. */
const DEREGISTERED = new Set(['REVOKED', 'CANCELLED', 'DISSOLVED'])

/**
 * Why url may not be subscribed, or null when it may: it must be an absolute http(s) URL
 * without credentials that starts with one of the operator's prefixes, at a boundary (a prefix
 * `https://apps.example/` or `https://apps.example` never admits `https://apps.example.evil/`).
 */
export function urlProblem(url: string, allowedPrefixes: readonly string[]): string | null {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not an absolute URL'
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an http or https URL'
  if (parsed.username || parsed.password) return 'may not carry a user name or password'
  if (!allowedPrefixes.length)
    return 'cannot be accepted: the operator has allowed no webhook URLs (WEBHOOK_ALLOWED_URLS is empty)'
  const href = parsed.href
  const admitted = allowedPrefixes.some((prefix) => {
    if (!href.startsWith(prefix)) return false
    if (prefix.endsWith('/') || href.length === prefix.length) return true
    return '/?#'.includes(href[prefix.length])
  })
  return admitted ? null : 'does not start with a URL prefix the operator allows (WEBHOOK_ALLOWED_URLS)'
}

/** One golden-value change of an entity within one transaction. */
export interface GroupChange {
  field: string
  oldValue: unknown
  newValue: unknown
}

/** What one transaction did to one entity: its field changes and the conflicts it opened. */
export interface ChangeGroup {
  /** Feed position of the transaction, and the largest change id of this entity in it (0: conflicts only). */
  position: number
  seq: number
  entityType: string
  entityId: string
  operation: string
  /** The entity was created by this transaction. */
  created: boolean
  changes: GroupChange[]
  /** Fields of conflicts opened on the entity (null: a POSSIBLE_DUPLICATE, about the whole entity). */
  conflictFields: (string | null)[]
  occurredAt: Date
}

/** An event before it is filtered for a subscriber: kind, and the fields it is about. */
export interface DerivedEvent {
  kind: ChangeEventKind
  fields: string[]
  /** The field a semantic kind is derived from: a subscriber who may not see it does not get the event. */
  basis?: string
}

const nonNull = (v: unknown) => v !== null && v !== undefined

/**
 * The events of one group, in a fixed order: what happened to the entity (created, merged away,
 * unmerged, or its fields changed), the semantic kinds derived from particular fields, then the
 * conflicts opened. A merge empties the merged-away entity's golden values; an unmerge refills them.
 */
export function deriveEvents(g: ChangeGroup): DerivedEvent[] {
  const events: DerivedEvent[] = []
  const changed = [...new Set(g.changes.map((c) => c.field))]
  const change = (field: string) => g.changes.find((c) => c.field === field)
  if (changed.length) {
    if (g.operation === 'mergeEntities' && g.changes.every((c) => !nonNull(c.newValue)))
      events.push({ kind: 'ENTITIES_MERGED', fields: changed })
    else if (g.operation === 'unmergeEntity') events.push({ kind: 'ENTITY_UNMERGED', fields: changed })
    else if (g.created) events.push({ kind: 'ENTITY_CREATED', fields: changed })
    else events.push({ kind: 'FIELD_CHANGED', fields: changed })
  }
  if (g.entityType === 'PERSON') {
    const death = change('deathDate')
    if (death && !nonNull(death.oldValue) && nonNull(death.newValue))
      events.push({ kind: 'PERSON_DIED', fields: ['deathDate'], basis: 'deathDate' })
    const move = change('residenceAddress')
    if (move && nonNull(move.oldValue) && nonNull(move.newValue) && !g.created)
      events.push({ kind: 'PERSON_MOVED', fields: ['residenceAddress'], basis: 'residenceAddress' })
  }
  if (g.entityType === 'LEGAL_ENTITY') {
    const status = change('status')
    if (status && DEREGISTERED.has(String(status.newValue)) && !DEREGISTERED.has(String(status.oldValue)))
      events.push({ kind: 'LEGAL_ENTITY_DEREGISTERED', fields: ['status'], basis: 'status' })
  }
  if (g.conflictFields.length)
    events.push({
      kind: 'CONFLICT_OPENED',
      fields: [...new Set(g.conflictFields.filter((f): f is string => f !== null))],
      basis: g.conflictFields.includes(null) ? '*' : undefined,
    })
  return events
}

/** What a subscription asks for, and what its owner may see. */
export interface EventFilter {
  entityTypes: readonly string[]
  kinds: readonly string[]
  fields: readonly string[] | null
  entityIds: ReadonlySet<string> | null
  /** May the owner see this field of this entity type now? '*' stands for the whole entity (duplicates). */
  maySee: (entityType: string, field: string) => boolean
}

/**
 * The event as the subscriber receives it, or null when it is not for them: another entity type,
 * entity or kind; no field left that they asked for and may see; or a semantic kind derived from
 * a field they may not see (PERSON_DIED without access to deathDate is not sent).
 */
export function eventFor(g: ChangeGroup, e: DerivedEvent, f: EventFilter): DerivedEvent | null {
  if (!f.entityTypes.includes(g.entityType) || !f.kinds.includes(e.kind)) return null
  if (f.entityIds && !f.entityIds.has(g.entityId)) return null
  if (e.basis && !f.maySee(g.entityType, e.basis)) return null
  const fields = e.fields.filter((x) => (!f.fields || f.fields.includes(x)) && f.maySee(g.entityType, x))
  if (!fields.length && e.basis !== '*') return null
  return { ...e, fields }
}

/**
 * Delay before the next attempt after `failures` consecutive failures: base × 2^(failures−1),
 * or null when that would exceed maxMs (the subscription is then paused).
 */
export function retryDelay(failures: number, baseMs: number, maxMs: number): number | null {
  const delay = baseMs * 2 ** Math.max(0, failures - 1)
  return delay > maxMs ? null : delay
}

/** The X-Signature header value of a body: `sha256=` + hex HMAC-SHA256 under the secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}
