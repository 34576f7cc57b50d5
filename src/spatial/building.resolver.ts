import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql'
import type { Context } from '../graphql/context.js'
import { LegalEntity } from '../legal-entity/legal-entity.type.js'
import { legalEntityIdsByCreditCode } from '../legal-entity/legal-entity.store.js'
import { Address } from './address.type.js'
import { Building } from './building.type.js'
import { Parcel } from './parcel.type.js'
import { buildingAddresses, parcelBuildings } from './spatial.store.js'

@Resolver(() => Building)
export class BuildingResolver {
  @FieldResolver(() => [Address], { description: 'Addresses whose point lies in the footprint.' })
  addresses(@Root() b: Building, @Ctx() ctx: Context) {
    return buildingAddresses(ctx.knex, b.id)
  }

  @FieldResolver(() => Parcel, { nullable: true })
  parcel(@Root() b: Building, @Ctx() ctx: Context) {
    return b.parcelId ? ctx.loaders.entity.PARCEL.load(b.parcelId) : null
  }
}

@Resolver(() => Parcel)
export class ParcelResolver {
  @FieldResolver(() => [Building])
  buildings(@Root() p: Parcel, @Ctx() ctx: Context) {
    return parcelBuildings(ctx.knex, p.id)
  }

  @FieldResolver(() => LegalEntity, {
    nullable: true,
    description: 'The legal entity holding landUserCreditCode; null when none is registered.',
  })
  async landUser(@Root() p: Parcel, @Ctx() ctx: Context) {
    if (!p.landUserCreditCode) return null
    const id = (await legalEntityIdsByCreditCode(ctx.knex, [p.landUserCreditCode])).get(p.landUserCreditCode)
    return id ? ctx.loaders.entity.LEGAL_ENTITY.load(id) : null
  }
}
