import { Field, Float, ID, Int, ObjectType } from 'type-graphql'
import { CountByKey } from '../graphql/common.types.js'
import { MasterEntity } from '../reconciliation/reconciliation.types.js'
import { EntityType } from '../graphql/enums.js'
import { AdminDivision } from '../spatial/admin-division.type.js'

@ObjectType({ implements: MasterEntity, description: 'A statistical indicator of the catalogue (统计指标).' })
export class Indicator extends MasterEntity {
  @Field(() => ID) declare id: string
  @Field(() => EntityType) declare entityType: string
  @Field(() => String) code!: string
  @Field(() => String) name!: string
  @Field(() => String, { nullable: true }) unit!: string | null
  @Field(() => String, { nullable: true }) category!: string | null
  @Field(() => String, { nullable: true }) subcategory!: string | null
  @Field(() => String, { nullable: true }) description!: string | null
  /** Owning department code as projected (the GraphQL `owner` field resolves it to a Department). */
  owner!: string | null
}

@ObjectType({
  implements: MasterEntity,
  description: 'One published figure of an indicator for a region and period (golden values of an OBSERVATION entity).',
})
export class Observation extends MasterEntity {
  @Field(() => ID) declare id: string
  @Field(() => EntityType) declare entityType: string
  @Field(() => String, { description: "Year '2024', quarter '2024Q2' or month '2024-05'." }) period!: string
  @Field(() => Float, { nullable: true }) value!: number | null
  /** Null when the source gave none (the resolver answers FINAL). */
  status!: string | null
  /** When the service recorded the value shown; absent when loaded as a plain entity (the resolver reads it). */
  recordedAt?: Date
  indicatorId!: string
  regionId!: string
  /** Department whose claim is the golden value; absent when loaded as a plain entity. */
  sourceCode?: string
}

@ObjectType({
  description:
    'Counts computed live from the population and legal-entity registers for a region and everything below it. ' +
    'Residents: living persons (no death date) whose residence address lies in the region; ages as of today (UTC date).',
})
export class DerivedStatistics {
  @Field(() => AdminDivision) region!: AdminDivision
  @Field(() => Int) residentCount!: number
  @Field(() => Int, {
    description: 'Living persons whose household-registration (户籍) address lies in the region.',
  })
  householdRegisteredCount!: number
  @Field(() => [CountByKey], { description: 'Residents by gender (MALE, FEMALE, UNKNOWN).' })
  residentsByGender!: CountByKey[]
  @Field(() => [CountByKey], {
    description: "Residents by age band '0-14', '15-64', '65+' (and 'UNKNOWN' without a birth date).",
  })
  residentsByAgeBand!: CountByKey[]
  @Field(() => Int, { description: 'ACTIVE legal entities whose registered address lies in the region.' })
  legalEntityCount!: number
  @Field(() => [CountByKey], { description: 'ACTIVE legal entities by kind.' })
  legalEntitiesByKind!: CountByKey[]
  @Field(() => [CountByKey], {
    description: "ACTIVE legal entities by GB/T 4754 section letter ('UNKNOWN' without a usable industry code).",
  })
  legalEntitiesByIndustrySection!: CountByKey[]
  @Field(() => Int, {
    nullable: true,
    description:
      'null when the person counts are exact; otherwise the base they were rounded to (below it: 0), for callers ' +
      'who may not see where persons live (DISCLOSURE_MIN_COUNT, docs/security.md). Legal-entity counts are always exact.',
  })
  personCountsRoundedTo!: number | null
}

@ObjectType({
  description: 'A published figure of a derivable indicator next to the value derived from the registers.',
})
export class StatisticsDiscrepancy {
  @Field(() => String) period!: string
  @Field(() => Float, { nullable: true }) publishedValue!: number | null
  @Field(() => Float, { nullable: true }) derivedValue!: number | null
  @Field(() => Float, {
    nullable: true,
    description: '|published − derived| / derived; null when the derived value is 0 and the published one is not.',
  })
  relativeDifference!: number | null
  indicatorId!: string
  regionId!: string
}
