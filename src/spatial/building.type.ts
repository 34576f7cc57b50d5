import { Field, ID, Int, ObjectType } from 'type-graphql'
import { MasterEntity } from '../reconciliation/reconciliation.types.js'
import { EntityType } from '../graphql/enums.js'
import { connectionTypes } from '../graphql/pagination.js'
import { GeoJSONScalar } from '../graphql/scalars.js'

@ObjectType({ implements: MasterEntity })
export class Building extends MasterEntity {
  @Field(() => ID) declare id: string
  @Field(() => EntityType) declare entityType: string
  @Field(() => String, { nullable: true }) name!: string | null
  @Field(() => GeoJSONScalar, { nullable: true, description: 'Footprint polygon, WGS 84.' })
  footprint!: unknown
  @Field(() => Int, { nullable: true, description: 'Floors above ground.' }) floors!: number | null
  @Field(() => String, { nullable: true }) useType!: string | null
  parcelId!: string | null
  parcelKey!: string | null
}

export const { Edge: BuildingEdge, Connection: BuildingConnection } = connectionTypes('Building', Building)
