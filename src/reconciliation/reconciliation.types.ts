import { Field, InputType, Int, ObjectType, ID } from 'type-graphql'
import { ConflictType, PageInfo } from '../graphql/common.types.js'
import { ConflictKind, ConflictStatus, EntityType, SharingClass, ValueStatus } from '../graphql/enums.js'
import { connectionTypes } from '../graphql/pagination.js'
import { DateTimeScalar, GeoJSONScalar, JSONScalar } from '../graphql/scalars.js'

@InputType()
export class SourceRecordInput {
  @Field(() => String, { description: "The submitting department's own key for this record." })
  sourceKey!: string
  @Field(() => DateTimeScalar, { nullable: true }) observedAt?: Date | null
  @Field(() => JSONScalar, {
    description: "Field name -> value, field names as in the entity's GraphQL type.",
  })
  attributes!: unknown
  @Field(() => GeoJSONScalar, { nullable: true }) geometry?: unknown
}

@InputType()
export class SubmitRecordsInput {
  @Field(() => EntityType) entityType!: string
  @Field(() => String, {
    nullable: true,
    description: 'Idempotency key: the same batchKey from the same department is applied once.',
  })
  batchKey?: string | null
  @Field(() => [SourceRecordInput]) records!: SourceRecordInput[]
  @Field(() => String, {
    nullable: true,
    description: "Department submitting; defaults to the caller's. A department app may only name its own.",
  })
  department?: string | null
}

@ObjectType()
export class RejectedRecord {
  @Field(() => Int) index!: number
  @Field(() => String, { nullable: true }) sourceKey!: string | null
  @Field(() => String) code!: string
  @Field(() => String, { nullable: true }) field!: string | null
  @Field(() => String) message!: string
}

@ObjectType({ description: 'A warning about one accepted record (it was applied).' })
export class RecordWarning {
  @Field(() => Int) index!: number
  @Field(() => String, { nullable: true }) sourceKey!: string | null
  @Field(() => String, { description: 'UNRESOLVED_REFERENCE' }) code!: string
  @Field(() => String) field!: string
  @Field(() => String) message!: string
}

@ObjectType('SubmissionResult')
export class SubmissionResultType {
  @Field(() => String, { nullable: true }) batchKey!: string | null
  @Field(() => Int) accepted!: number
  @Field(() => Int) created!: number
  @Field(() => Int) updated!: number
  @Field(() => Int) unchanged!: number
  @Field(() => Int) conflictsOpened!: number
  @Field(() => Int) possibleDuplicates!: number
  @Field(() => [RejectedRecord]) rejected!: RejectedRecord[]
  @Field(() => [RecordWarning], {
    description:
      'Accepted records the sender should look at: code UNRESOLVED_REFERENCE for a reference (address text, credit code, division code, id) that matches no entity yet. Applied, not quarantined.',
  })
  warnings!: RecordWarning[]
}

@ObjectType('AuthorityRule')
export class AuthorityRuleType {
  @Field(() => EntityType) entityType!: string
  @Field(() => String) field!: string
  @Field(() => String, {
    nullable: true,
    description: 'Legal-entity kind this rule is specific to; null for the default rule.',
  })
  entityKind!: string | null
  authorityCode!: string
  fallbackCodes!: string[]
  @Field(() => SharingClass) sharingClass!: string
}

@InputType()
export class AuthorityRuleInput {
  @Field(() => EntityType) entityType!: string
  @Field(() => String) field!: string
  @Field(() => String) authority!: string
  @Field(() => [String], { nullable: true }) fallbacks?: string[] | null
  @Field(() => SharingClass, { nullable: true }) sharingClass?: string | null
  @Field(() => String, {
    nullable: true,
    description: 'Legal-entity kind the rule is specific to (e.g. SOCIAL_ORGANIZATION).',
  })
  entityKind?: string | null
}

@ObjectType()
export class Change {
  @Field(() => String) cursor!: string
  @Field(() => EntityType) entityType!: string
  @Field(() => ID) entityId!: string
  @Field(() => String) field!: string
  @Field(() => JSONScalar, { nullable: true }) newValue!: unknown
  @Field(() => JSONScalar, { nullable: true }) oldValue!: unknown
  @Field(() => ValueStatus) status!: string
  sourceCode!: string | null
  @Field(() => DateTimeScalar) recordedAt!: Date
}

@ObjectType()
export class ChangeConnection {
  @Field(() => [Change]) nodes!: Change[]
  @Field(() => PageInfo) pageInfo!: PageInfo
}

@InputType()
export class ConflictFilter {
  @Field(() => ConflictStatus, { nullable: true }) status?: string | null
  @Field(() => ConflictKind, { nullable: true }) kind?: string | null
  @Field(() => EntityType, { nullable: true }) entityType?: string | null
  @Field(() => String, { nullable: true }) field?: string | null
  @Field(() => String, { nullable: true, description: 'Owning department of the field.' }) authority?: string | null
  @Field(() => String, {
    nullable: true,
    description: "A department's inbox: conflicts on its data or involving its claims or reports.",
  })
  department?: string | null
  @Field(() => String, {
    nullable: true,
    description:
      "Division code (district or township) the entity's address lies in (a person's residence, a legal entity's registered address).",
  })
  district?: string | null
  @Field(() => DateTimeScalar, { nullable: true, description: 'Opened before this instant (age of the conflict).' })
  openedBefore?: Date | null
}

export const { Edge: ConflictEdge, Connection: ConflictConnection } = connectionTypes('Conflict', ConflictType)
