import { Field, ID, InterfaceType, ObjectType, Int, Float } from 'type-graphql'
import { EntityType, Role, SharingClass, ValueStatus, ConflictKind, ConflictStatus, ConflictDecision } from './enums.js'
import { DateTimeScalar, JSONScalar } from './scalars.js'

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

@ObjectType()
export class Department {
  @Field(() => ID) code!: string
  @Field(() => String) name!: string
}

@ObjectType('Principal')
export class PrincipalType {
  @Field(() => ID) id!: string
  @Field(() => String) name!: string
  departmentCode!: string | null
  @Field(() => [Role]) roles!: string[]
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
export class FieldChange {
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
export class SourceRecordType {
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
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean
  @Field(() => String, { nullable: true }) endCursor!: string | null
}

@ObjectType()
export class CountByKey {
  @Field(() => String) key!: string
  @Field(() => Int) count!: number
}

@ObjectType()
export class Claim {
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
export class ConflictType {
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
