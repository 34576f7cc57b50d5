import { Field, Float, InputType, Int, ObjectType } from 'type-graphql'
import { GeoJSONScalar } from '../graphql/scalars.js'
import { Address } from './address.type.js'
import { AdminDivision } from './admin-division.type.js'
import { NearInput } from './near.input.js'

@InputType({ description: 'Spatial and text conditions; all given conditions must hold.' })
export class SpatialFilter {
  @Field(() => GeoJSONScalar, {
    nullable: true,
    description: 'Polygon or MultiPolygon the feature lies inside.',
  })
  within?: unknown
  @Field(() => GeoJSONScalar, { nullable: true, description: 'Geometry the feature touches or overlaps.' })
  intersects?: unknown
  @Field(() => NearInput, { nullable: true, description: 'Within `meters` of a point, on the spheroid.' })
  near?: NearInput
  @Field(() => [Float], { nullable: true, description: '[minLon, minLat, maxLon, maxLat]' }) bbox?: number[]
  @Field(() => String, {
    nullable: true,
    description: 'Admin division code of any level; a district matches everything in its townships.',
  })
  divisionCode?: string
  @Field(() => String, {
    nullable: true,
    description:
      'Address text, forgiving missing 号/路/区, spaces and full-width digits; results ranked by similarity.',
  })
  textContains?: string
}

@ObjectType()
export class AddressDistance {
  @Field(() => Address) address!: Address
  @Field(() => Float, { description: 'Distance on the WGS 84 spheroid in metres.' }) meters!: number
}

@ObjectType()
export class ReverseGeocodeResult {
  @Field(() => AddressDistance, { nullable: true }) nearest!: AddressDistance | null
  @Field(() => [AdminDivision], { description: 'Every division containing the point, top-down.' })
  divisions!: AdminDivision[]
}

@ObjectType()
export class AreaSummary {
  @Field(() => Float, { description: 'Area on the WGS 84 spheroid in km².' }) areaSqKm!: number
  @Field(() => Int, {
    description:
      'Living persons whose residence address point lies inside. For callers who may not see where persons live ' +
      'it is rounded (see residentCountRoundedTo): 0 below the threshold, else the nearest multiple of it.',
  })
  residentCount!: number
  @Field(() => Int, {
    nullable: true,
    description:
      'null when residentCount is exact; otherwise the base it was rounded to (DISCLOSURE_MIN_COUNT, docs/security.md).',
  })
  residentCountRoundedTo!: number | null
  @Field(() => Int, { description: 'Legal entities whose registered address point lies inside.' })
  legalEntityCount!: number
  @Field(() => Int) addressCount!: number
  @Field(() => Int, { description: 'Buildings whose footprint intersects the area.' }) buildingCount!: number
}
