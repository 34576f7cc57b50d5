import { Field, Float, ID, InputType, Int, InterfaceType, ObjectType } from 'type-graphql'
import { PageInfo } from '../graphql/common.types.js'
import {
  ConflictDecision,
  ConflictKind,
  ConflictStatus,
  EntityType,
  SharingClass,
  ValueStatus,
} from '../graphql/enums.js'
import type { ClaimRecord, ConflictRecord } from './conflicts.store.js'
import type { FieldChangeRecord } from './history.store.js'
import type { StoredSourceRecord } from './source-records.store.js'
import { connectionTypes } from '../graphql/pagination.js'
import { DateTimeScalar, GeoJSONScalar, JSONScalar } from '../graphql/scalars.js'

const TYPE_NAMES: Record<string, string> = {
  PERSON: 'Person',
  LEGAL_ENTITY: 'LegalEntity',
  ADMIN_DIVISION: 'AdminDivision',
  ADDRESS: 'Address',
  BUILDING: 'Building',
  PARCEL: 'Parcel',
  INDICATOR: 'Indicator',
  OBSERVATION: 'Observation',
}

@ObjectType({ description: 'How one field got its value, and from whom.' })
export class FieldProvenance {
  @Field(() => String) field!: string
  @Field(() => JSONScalar, { nullable: true }) value!: unknown
  @Field(() => ValueStatus) status!: string
  sourceCode!: string | null
  authorityCode!: string
  @Field(() => SharingClass) sharingClass!: string
  @Field(() => String, { nullable: true }) sourceKey!: string | null
  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'When the fact became true, as the source states it (valid time).',
  })
  observedAt!: Date | null
  @Field(() => DateTimeScalar, {
    nullable: true,
    description: 'When the service recorded it (transaction time).',
  })
  recordedAt!: Date | null
  @Field(() => Boolean, { description: 'True while an open conflict or error report exists on this field.' })
  underInvestigation!: boolean
}

@ObjectType()
export class FieldChange implements FieldChangeRecord {
  @Field(() => String) field!: string
  @Field(() => JSONScalar, { nullable: true }) oldValue!: unknown
  @Field(() => JSONScalar, { nullable: true }) newValue!: unknown
  @Field(() => ValueStatus) status!: string
  sourceCode!: string | null
  @Field(() => DateTimeScalar, { nullable: true }) observedAt!: Date | null
  @Field(() => DateTimeScalar) recordedAt!: Date
  /** Change-feed sequence number. */
  seq!: number
  entityId!: string
  entityType!: string
}

@ObjectType('SourceRecord')
export class SourceRecordType implements StoredSourceRecord {
  @Field(() => ID) id!: string
  departmentCode!: string
  @Field(() => EntityType) entityType!: string
  @Field(() => String) sourceKey!: string
  @Field(() => JSONScalar) attributes!: unknown
  @Field(() => JSONScalar, { nullable: true, description: 'GeoJSON geometry as submitted.' })
  geometry!: unknown
  @Field(() => DateTimeScalar, { nullable: true }) observedAt!: Date | null
  @Field(() => DateTimeScalar) receivedAt!: Date
  entityId!: string | null
}

@ObjectType()
export class Claim implements ClaimRecord {
  departmentCode!: string
  @Field(() => JSONScalar, { nullable: true }) value!: unknown
  @Field(() => String, { nullable: true }) sourceKey!: string | null
  @Field(() => DateTimeScalar, { nullable: true }) observedAt!: Date | null
  @Field(() => DateTimeScalar) recordedAt!: Date
}

@InterfaceType('MasterEntity', {
  resolveType: (value: { entityType: string }) => TYPE_NAMES[value.entityType],
})
export abstract class MasterEntity {
  @Field(() => ID) id!: string
  @Field(() => EntityType) entityType!: string
}

@ObjectType('Conflict')
export class ConflictType implements ConflictRecord {
  @Field(() => ID) id!: string
  @Field(() => ConflictKind) kind!: string
  @Field(() => ConflictStatus) status!: string
  @Field(() => EntityType) entityType!: string
  entityId!: string
  otherEntityId!: string | null
  @Field(() => String, { nullable: true }) field!: string | null
  authorityCode!: string | null
  @Field(() => Float, { nullable: true }) matchScore!: number | null
  @Field(() => DateTimeScalar) openedAt!: Date
  @Field(() => DateTimeScalar, { nullable: true }) resolvedAt!: Date | null
  resolvedById!: string | null
  @Field(() => ConflictDecision, { nullable: true }) decision!: string | null
  @Field(() => String, { nullable: true }) reason!: string | null
  @Field(() => String, { nullable: true, description: 'Note of an error report.' }) note!: string | null
  reportedByCode!: string | null
  @Field(() => JSONScalar, { nullable: true, description: 'Value suggested by an error report.' })
  suggestedValue!: unknown
}

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
