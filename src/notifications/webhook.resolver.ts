import { randomBytes } from 'node:crypto'
import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql'
import { hasRole } from '../access/principal.js'
import type { Context } from '../graphql/context.js'
import { decodeCursor } from '../graphql/pagination.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import { badInput, notFound, unauthenticated } from '../shared/errors.js'
import { UUID } from '../shared/ids.js'
import { feedEnd } from '../reconciliation/history.store.js'
import { encodeEventKey } from './delivery.js'
import { CHANGE_EVENT_KINDS, urlProblem } from './rules.js'
import {
  countActiveSubscriptions,
  cursorOf,
  type DbWebhookSubscriptionRow,
  type EventKey,
  findSubscription,
  insertSubscription,
  listSubscriptions,
  markUnsubscribed,
  pauseSubscription,
  resumeSubscription,
} from './webhook.store.js'
import { WebhookSubscription, WebhookSubscriptionCreated, WebhookSubscriptionInput } from './webhook.types.js'

/** Active subscriptions one key may hold; entities one subscription may follow. */
export const MAX_SUBSCRIPTIONS_PER_KEY = 50
export const MAX_FOLLOWED_ENTITIES = 10_000
/** An entity id sorts before every uuid: a cursor at a transaction's start. '~' sorts after them. */
const AFTER_EVERY_ENTITY = '~'

async function toSubscription(ctx: Context, row: DbWebhookSubscriptionRow): Promise<WebhookSubscription> {
  const owner = (await ctx.loaders.principal.load(row.principal_id))!
  const c = cursorOf(row)
  return {
    id: row.id,
    owner,
    url: row.url,
    entityTypes: row.entity_types,
    fields: row.fields,
    kinds: row.kinds,
    entityIds: row.entity_ids,
    expiresAt: row.expires_at,
    active: row.active,
    pausedReason: row.paused_reason,
    deliveredCursor: row.last_delivery_at ? encodeEventKey(c) : null,
    lastDeliveryAt: row.last_delivery_at,
    lastError: row.last_error,
    failureCount: row.failure_count,
    createdAt: row.created_at,
  }
}

/** Where a new subscription starts: after the given changes/event cursor, or at the end of the feed now. */
async function startKey(ctx: Context, after: string | null | undefined): Promise<EventKey> {
  if (after === null || after === undefined) {
    const end = await feedEnd(ctx.knex)
    return { ...end, entity: AFTER_EVERY_ENTITY, event: 0 }
  }
  const k = decodeCursor(after, 'input.after')!
  const n = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  if (k.length === 2 && n(k[0]) && n(k[1]))
    return { position: k[0] as number, id: k[1] as number, entity: AFTER_EVERY_ENTITY, event: 0 }
  if (k.length === 4 && n(k[0]) && n(k[1]) && typeof k[2] === 'string' && n(k[3]))
    return { position: k[0] as number, id: k[1] as number, entity: k[2] as string, event: k[3] as number }
  throw badInput('after is not a changes cursor this service issued', 'input.after')
}

/** Loads a subscription the caller may manage (its own; ADMIN: any); NOT_FOUND otherwise. */
async function ownSubscription(ctx: Context, id: string): Promise<DbWebhookSubscriptionRow> {
  const row = UUID.test(id) ? await findSubscription(ctx.knex, id.toLowerCase()) : undefined
  if (!row || (row.principal_id !== ctx.principal.id && !hasRole(ctx.principal, 'ADMIN')))
    throw notFound(`no webhook subscription ${id.slice(0, 64)} of yours`)
  return row
}

@Resolver()
export class WebhookResolver {
  @Query(() => [WebhookSubscription], {
    description: 'Your webhook subscriptions (ADMIN: everyone’s), newest first; secrets are never shown again.',
  })
  async webhookSubscriptions(@Ctx() ctx: Context): Promise<WebhookSubscription[]> {
    if (!ctx.principal.roles.length) throw unauthenticated()
    const rows = await listSubscriptions(ctx.knex, hasRole(ctx.principal, 'ADMIN') ? null : ctx.principal.id)
    return Promise.all(rows.map((r) => toSubscription(ctx, r)))
  }

  @Mutation(() => WebhookSubscriptionCreated, {
    description:
      'Pushes change events you may see to a URL the operator allows (WEBHOOK_ALLOWED_URLS), signed with the secret returned here once.',
  })
  async subscribeWebhook(
    @Ctx() ctx: Context,
    @Arg('input', () => WebhookSubscriptionInput) input: WebhookSubscriptionInput,
  ): Promise<WebhookSubscriptionCreated> {
    const p = ctx.principal
    if (!p.roles.length) throw unauthenticated()
    const problem = urlProblem(input.url, ctx.config.webhooks.allowedUrls)
    if (problem) throw badInput(`url ${problem}`, 'input.url', 'URL_NOT_ALLOWED')
    const entityTypes = [...new Set(input.entityTypes)]
    if (!entityTypes.length) throw badInput('entityTypes must name at least one entity type', 'input.entityTypes')
    for (const t of entityTypes)
      if (!ENTITY_TYPES.includes(t as EntityTypeName)) throw badInput(`unknown entity type ${t}`, 'input.entityTypes')
    const kinds = input.kinds?.length ? [...new Set(input.kinds)] : [...CHANGE_EVENT_KINDS]
    let fields: string[] | null = null
    if (input.fields) {
      fields = [...new Set(input.fields)]
      if (!fields.length) throw badInput('fields, when given, must name at least one field', 'input.fields')
      const rules = await ctx.loaders.rules()
      for (const f of fields)
        if (!entityTypes.some((t) => rules.ruleFor(t as EntityTypeName, f)))
          throw badInput(`no field ${f.slice(0, 64)} in ${entityTypes.join(', ')}`, 'input.fields', 'UNKNOWN_FIELD')
    }
    let entityIds: string[] | null = null
    if (input.entityIds) {
      if (input.entityIds.length > MAX_FOLLOWED_ENTITIES)
        throw badInput(`at most ${MAX_FOLLOWED_ENTITIES} entities can be followed`, 'input.entityIds', 'TOO_MANY')
      for (const id of input.entityIds)
        if (!UUID.test(id)) throw badInput('entityIds holds something that is not an id', 'input.entityIds')
      entityIds = [...new Set(input.entityIds.map((id) => id.toLowerCase()))]
    }
    if (input.expiresAt && !(input.expiresAt.getTime() > Date.now()))
      throw badInput('expiresAt must lie in the future', 'input.expiresAt', 'INVALID_DATE')
    if ((await countActiveSubscriptions(ctx.knex, p.id)) >= MAX_SUBSCRIPTIONS_PER_KEY)
      throw badInput(`a key may hold at most ${MAX_SUBSCRIPTIONS_PER_KEY} active subscriptions`, 'input', 'TOO_MANY')
    const secret = randomBytes(32).toString('base64url')
    const row = await insertSubscription(ctx.knex, {
      principalId: p.id,
      url: new URL(input.url).href,
      entityTypes,
      fields,
      kinds,
      entityIds,
      expiresAt: input.expiresAt ?? null,
      secret,
      cursor: await startKey(ctx, input.after),
    })
    return { subscription: await toSubscription(ctx, row), secret }
  }

  @Mutation(() => Boolean, { description: 'Stops a subscription for good; false when it had already stopped.' })
  async unsubscribeWebhook(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<boolean> {
    if (!ctx.principal.roles.length) throw unauthenticated()
    const row = await ownSubscription(ctx, id)
    if (!row.active && row.paused_reason === 'UNSUBSCRIBED') return false
    if (!row.active) {
      await markUnsubscribed(ctx.knex, row.id)
      return true
    }
    return pauseSubscription(ctx.knex, row.id, 'UNSUBSCRIBED')
  }

  @Mutation(() => WebhookSubscription, {
    description:
      'Resumes a paused subscription (FAILING, EXPIRED after a new expiresAt is not possible: subscribe again) from its deliveredCursor, so nothing is skipped.',
  })
  async resumeWebhook(@Ctx() ctx: Context, @Arg('id', () => ID) id: string): Promise<WebhookSubscription> {
    if (!ctx.principal.roles.length) throw unauthenticated()
    const row = await ownSubscription(ctx, id)
    if (row.active) throw badInput('the subscription is active', 'id', 'NOT_PAUSED')
    if (row.paused_reason === 'UNSUBSCRIBED') throw badInput('the subscription was unsubscribed', 'id', 'UNSUBSCRIBED')
    if (row.paused_reason === 'EXPIRED' || (row.expires_at && row.expires_at.getTime() <= Date.now()))
      throw badInput('the subscription has expired: subscribe again with after = its deliveredCursor', 'id', 'EXPIRED')
    await resumeSubscription(ctx.knex, row.id)
    return toSubscription(ctx, (await findSubscription(ctx.knex, row.id))!)
  }
}
