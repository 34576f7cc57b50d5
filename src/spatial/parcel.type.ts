import { Field, Float, ID, ObjectType } from 'type-graphql'
import { MasterEntity } from '../reconciliation/reconciliation.types.js'
import { EntityType } from '../graphql/enums.js'
import { connectionTypes } from '../graphql/pagination.js'
import { GeoJSONScalar } from '../graphql/scalars.js'

@ObjectType({ implements: MasterEntity })
export class Parcel extends MasterEntity {
  @Field(() => ID) declare id: string
  @Field(() => EntityType) declare entityType: string
  @Field(() => String) parcelCode!: string
  @Field(() => String, { nullable: true }) landUse!: string | null
  @Field(() => String, {
    nullable: true,
    description: 'Credit code (GB 32100) of the land user, the holder of the land-use right (NRP).',
  })
  landUserCreditCode!: string | null
  @Field(() => Float, { nullable: true, description: 'Area on the WGS 84 spheroid, m².' }) areaSqM!: number | null
  @Field(() => GeoJSONScalar, { nullable: true, description: 'Parcel boundary, WGS 84.' }) geometry!: unknown
}

export const { Edge: ParcelEdge, Connection: ParcelConnection } = connectionTypes('Parcel', Parcel)
