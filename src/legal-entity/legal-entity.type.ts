import { Field, Float, ID, ObjectType } from 'type-graphql'
import { MasterEntity } from '../reconciliation/reconciliation.types.js'
import { EntityType, LegalEntityKind, LegalEntityStatus, LookupStatus } from '../graphql/enums.js'
import { connectionTypes } from '../graphql/pagination.js'
import { DateScalar } from '../graphql/scalars.js'

@ObjectType({ implements: MasterEntity })
export class LegalEntity extends MasterEntity {
  @Field(() => ID) declare id: string
  @Field(() => EntityType) declare entityType: string
  @Field(() => String, { nullable: true, description: 'GB 32100 unified social credit code.' }) creditCode!:
    | string
    | null
  @Field(() => String, { nullable: true }) name!: string | null
  @Field(() => LegalEntityKind, { nullable: true }) kind!: string | null
  @Field(() => LegalEntityStatus, { nullable: true }) status!: string | null
  @Field(() => String, { nullable: true }) legalRepresentativeName!: string | null
  @Field(() => Float, { nullable: true }) registeredCapital!: number | null
  @Field(() => DateScalar, { nullable: true }) establishedDate!: string | null
  @Field(() => String, { nullable: true, description: 'GB/T 4754 industry classification code.' })
  industryCode!: string | null
  @Field(() => String, { nullable: true }) businessScope!: string | null
  @Field(() => String, { nullable: true }) taxStatus!: string | null
  @Field(() => String, { nullable: true }) taxCreditRating!: string | null
  legalRepresentativeId!: string | null
  registeredAddressId!: string | null
  asOf?: Date
}

export const { Edge: LegalEntityEdge, Connection: LegalEntityConnection } = connectionTypes('LegalEntity', LegalEntity)

@ObjectType()
export class LegalEntityLookup {
  @Field(() => String) creditCode!: string
  @Field(() => LookupStatus) status!: string
  @Field(() => LegalEntity, { nullable: true }) legalEntity!: LegalEntity | null
}
