import { Field, ID, ObjectType } from 'type-graphql'
import { MasterEntity } from '../reconciliation/reconciliation.types.js'
import { EntityType } from '../graphql/enums.js'
import { connectionTypes } from '../graphql/pagination.js'
import { GeoJSONScalar } from '../graphql/scalars.js'

@ObjectType({ implements: MasterEntity })
export class Address extends MasterEntity {
  @Field(() => ID) declare id: string
  @Field(() => EntityType) declare entityType: string
  @Field(() => String) fullText!: string
  @Field(() => String, { nullable: true }) road!: string | null
  @Field(() => String, { nullable: true }) doorNumber!: string | null
  @Field(() => String, { nullable: true }) buildingName!: string | null
  @Field(() => String, { nullable: true }) unit!: string | null
  @Field(() => String, { nullable: true }) room!: string | null
  @Field(() => GeoJSONScalar, { nullable: true }) location!: unknown
  divisionId!: string | null
  divisionKey!: string | null
  buildingId!: string | null
}

export const { Edge: AddressEdge, Connection: AddressConnection } = connectionTypes('Address', Address)
