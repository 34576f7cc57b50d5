import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql'
import { PrincipalType } from '../access/access.types.js'
import { EntityType } from '../graphql/enums.js'
import { DateTimeScalar } from '../graphql/scalars.js'
import { CHANGE_EVENT_KINDS } from './rules.js'

export const ChangeEventKind = Object.fromEntries(CHANGE_EVENT_KINDS.map((k) => [k, k])) as {
  [K in (typeof CHANGE_EVENT_KINDS)[number]]: K
}
registerEnumType(ChangeEventKind, {
  name: 'ChangeEventKind',
  description:
    'What a change notification is about. PERSON_DIED, PERSON_MOVED and LEGAL_ENTITY_DEREGISTERED are derived from deathDate, residenceAddress and status changes.',
})

@ObjectType({ description: 'A department app subscribed to change events, pushed to its URL (CONTRACT §9).' })
export class WebhookSubscription {
  @Field(() => ID) id!: string
  @Field(() => PrincipalType) owner!: PrincipalType
  @Field(() => String) url!: string
  @Field(() => [EntityType]) entityTypes!: string[]
  @Field(() => [String], {
    nullable: true,
    description: 'Only changes of these fields; null = every field the owner may see.',
  })
  fields!: string[] | null
  @Field(() => [ChangeEventKind]) kinds!: string[]
  @Field(() => [ID], { nullable: true, description: 'Follow these entities only; null = all.' })
  entityIds!: string[] | null
  @Field(() => DateTimeScalar, { nullable: true }) expiresAt!: Date | null
  @Field(() => Boolean) active!: boolean
  @Field(() => String, {
    nullable: true,
    description:
      'Why deliveries stopped: FAILING (retries exhausted), KEY_REVOKED, EXPIRED or UNSUBSCRIBED; null while active.',
  })
  pausedReason!: string | null
  @Field(() => String, {
    nullable: true,
    description: 'Cursor (as in changes) of the last event the subscriber acknowledged with a 2xx.',
  })
  deliveredCursor!: string | null
  @Field(() => DateTimeScalar, { nullable: true }) lastDeliveryAt!: Date | null
  @Field(() => String, { nullable: true }) lastError!: string | null
  @Field(() => Int) failureCount!: number
  @Field(() => DateTimeScalar) createdAt!: Date
}

@ObjectType()
export class WebhookSubscriptionCreated {
  @Field(() => WebhookSubscription) subscription!: WebhookSubscription
  @Field(() => String, { description: 'HMAC-SHA256 key for the X-Signature header; shown once.' })
  secret!: string
}

@InputType()
export class WebhookSubscriptionInput {
  @Field(() => String, { description: 'Must start with a prefix of the operator’s WEBHOOK_ALLOWED_URLS.' })
  url!: string
  @Field(() => [EntityType]) entityTypes!: string[]
  @Field(() => [String], { nullable: true }) fields?: string[] | null
  @Field(() => [ChangeEventKind], { nullable: true, description: 'Default: every kind.' })
  kinds?: string[] | null
  @Field(() => [ID], { nullable: true, description: 'At most 10,000 entities to follow.' })
  entityIds?: string[] | null
  @Field(() => DateTimeScalar, { nullable: true }) expiresAt?: Date | null
  @Field(() => String, { nullable: true, description: 'Start after this changes cursor; default: now.' })
  after?: string | null
}
