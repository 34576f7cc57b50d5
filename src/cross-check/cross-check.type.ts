import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql'
import { connectionTypes } from '../graphql/pagination.js'
import { DateScalar, DateTimeScalar } from '../graphql/scalars.js'
import { EntityType } from '../graphql/enums.js'
import type { ShownEvidence } from './cross-check.service.js'

export const CrossCheckStatus = { QUEUED: 'QUEUED', RUNNING: 'RUNNING', DONE: 'DONE', FAILED: 'FAILED' } as const
export const HitDecision = { PENDING: 'PENDING', CONFIRMED: 'CONFIRMED', DISMISSED: 'DISMISSED' } as const
registerEnumType(CrossCheckStatus, { name: 'CrossCheckStatus' })
registerEnumType(HitDecision, { name: 'HitDecision' })

@ObjectType({ description: 'One rule of a cross-check type: a condition on the registers that makes a subject a hit.' })
export class CrossCheckRule {
  @Field(() => String) code!: string
  @Field(() => String) description!: string
  @Field(() => [String], { description: "Registers' fields the rule reads, as EntityType.field." }) fields!: string[]
}

@ObjectType()
export class CrossCheckType {
  @Field(() => ID) code!: string
  @Field(() => String) name!: string
  @Field(() => String) description!: string
  @Field(() => EntityType, {
    description: 'Subjects are persons (by ID number) or legal entities (by credit code).',
  })
  subjectType!: string
  ownerCode!: string
  @Field(() => [CrossCheckRule]) rules!: CrossCheckRule[]
}

@ObjectType()
export class CrossCheckEvidence {
  @Field(() => String, { description: 'EntityType.field the evidence comes from.' }) field!: string
  /** The evidence as the reader may see it (value masked, or withheld → FORBIDDEN_FIELD). */
  shown!: ShownEvidence
  @Field(() => DateTimeScalar, { nullable: true }) observedAt!: Date | null
}

@ObjectType()
export class CrossCheckHit {
  @Field(() => ID) id!: string
  @Field(() => String, { description: "The subject's key as submitted (the requester's own data)." })
  subjectKey!: string
  @Field(() => String, { nullable: true, description: "The requester's own reference for the subject, as submitted." })
  subjectRef!: string | null
  @Field(() => CrossCheckRule) rule!: CrossCheckRule
  @Field(() => [CrossCheckEvidence]) evidence!: CrossCheckEvidence[]
  @Field(() => HitDecision) decision!: string
  @Field(() => DateTimeScalar, { nullable: true }) decidedAt!: Date | null
  decidedById!: string | null
  @Field(() => String, { nullable: true }) reason!: string | null
}

export const { Connection: CrossCheckHitConnection } = connectionTypes('CrossCheckHit', CrossCheckHit)

@ObjectType()
export class CrossCheck {
  @Field(() => ID) id!: string
  typeCode!: string
  requestedById!: string
  @Field(() => DateTimeScalar, { description: 'The registers are read as they stood at this time.' }) asOf!: Date
  @Field(() => CrossCheckStatus) status!: string
  @Field(() => Int) subjectCount!: number
  @Field(() => Int) checkedCount!: number
  @Field(() => Int, { description: 'Subjects whose key fails its check character.' }) invalidCount!: number
  @Field(() => Int, { description: 'Valid keys the registers do not hold.' }) notFoundCount!: number
  @Field(() => Int, { description: 'Subjects with at least one hit.' }) hitSubjectCount!: number
  @Field(() => DateTimeScalar) createdAt!: Date
  @Field(() => DateTimeScalar, { nullable: true }) finishedAt!: Date | null
  @Field(() => String, { nullable: true }) error!: string | null
}

export const { Connection: CrossCheckConnection } = connectionTypes('CrossCheck', CrossCheck)

@ObjectType({ description: 'Monthly figures of one type: comparisons, subjects hit, hits confirmed.' })
export class CrossCheckPeriodStatistics {
  @Field(() => String) period!: string
  typeCode!: string
  @Field(() => Int) subjects!: number
  @Field(() => Int) hitSubjects!: number
  @Field(() => Int) confirmedSubjects!: number
}

@InputType()
export class CrossCheckSubjectInput {
  @Field(() => String, { description: 'ID number (person subjects) or credit code (legal-entity subjects).' })
  key!: string
  @Field(() => String, { nullable: true }) ref?: string | null
  @Field(() => DateScalar, {
    nullable: true,
    description: "When the subject's state began (e.g. benefit start): rules may compare register dates with it.",
  })
  since?: Date | null
}

@InputType()
export class StartCrossCheckInput {
  @Field(() => ID) type!: string
  @Field(() => DateTimeScalar, { nullable: true }) asOf?: Date | null
  @Field(() => [CrossCheckSubjectInput]) subjects!: CrossCheckSubjectInput[]
}
