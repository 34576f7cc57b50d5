import { Field, ID, InputType, Int, ObjectType } from 'type-graphql'
import { PageInfo } from '../graphql/common.types.js'
import { EntityType, Role, SharingClass, SharingRequestStatus } from '../graphql/enums.js'
import { DateTimeScalar } from '../graphql/scalars.js'

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

@ObjectType('SharingGrant', {
  description: 'A department’s request, or approved right, to read CONDITIONAL fields it does not own.',
})
export class SharingGrantType {
  @Field(() => ID) id!: string
  departmentCode!: string
  @Field(() => EntityType) entityType!: string
  @Field(() => [String]) fields!: string[]
  @Field(() => String) purpose!: string
  @Field(() => SharingRequestStatus) status!: string
  @Field(() => DateTimeScalar, { nullable: true }) expiresAt!: Date | null
  @Field(() => DateTimeScalar, { nullable: true, description: 'When an ADMIN decided it.' })
  decidedAt!: Date | null
  @Field(() => String, { nullable: true, description: 'Reason given with the decision.' }) decisionReason!:
    | string
    | null
}

@InputType()
export class SharingRequestInput {
  @Field(() => EntityType) entityType!: string
  @Field(() => [String]) fields!: string[]
  @Field(() => String) purpose!: string
  @Field(() => DateTimeScalar, { nullable: true }) expiresAt?: Date | null
}

@ObjectType()
export class AccessLogEntry {
  @Field(() => DateTimeScalar) at!: Date
  principalId!: string
  @Field(() => String, { nullable: true }) purpose!: string | null
  @Field(() => [String]) fields!: string[]
  @Field(() => String, { nullable: true }) operationName!: string | null
  @Field(() => Int, { description: 'How many persons the request read in total.' }) personCount!: number
}

@ObjectType()
export class AccessLogConnection {
  @Field(() => [AccessLogEntry]) nodes!: AccessLogEntry[]
  @Field(() => PageInfo) pageInfo!: PageInfo
  count!: () => Promise<number>
  @Field(() => Int) totalCount(): Promise<number> {
    return this.count()
  }
}

@ObjectType()
export class CatalogField {
  @Field(() => String) field!: string
  @Field(() => String) dataType!: string
  @Field(() => String, { description: 'Human description.' }) label!: string
  authorityCode!: string
  @Field(() => SharingClass) sharingClass!: string
}

@ObjectType()
export class CatalogEntry {
  @Field(() => ID, { description: 'Resource identifier.' }) code!: string
  @Field(() => EntityType) entityType!: string
  @Field(() => String) name!: string
  @Field(() => String) summary!: string
  @Field(() => String, { description: 'Base catalogue: POPULATION, LEGAL_ENTITY, SPATIAL or STATISTICS.' })
  baseCatalogue!: string
  providerCode!: string
  @Field(() => [CatalogField]) fields!: CatalogField[]
  @Field(() => Int) recordCount!: number
  @Field(() => DateTimeScalar, { nullable: true }) updatedAt!: Date | null
}
