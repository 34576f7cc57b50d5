import type { GraphQLResolveInfo } from 'graphql'
import { Arg, Ctx, Float, Info, Int, Query, Resolver } from 'type-graphql'
import { fieldsNeeded, type Context } from '../graphql/context.js'
import { selectionOf } from '../graphql/lookahead.js'
import { Page, pageSize } from '../graphql/pagination.js'
import { GeoJSONScalar } from '../graphql/scalars.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { canSee } from '../access/visibility.js'
import { disclosedCount } from '../statistics/disclosure.js'
import { AddressConnection, type Address } from './address.type.js'
import { AdminDivision } from './admin-division.type.js'
import { BuildingConnection } from './building.type.js'
import { ParcelConnection } from './parcel.type.js'
import { AddressDistance, AreaSummary, ReverseGeocodeResult, SpatialFilter } from './spatial.types.js'
import {
  areaSummary,
  checkNearestArgs,
  divisionsAt,
  nearestAddressIds,
  spatialPage,
  type SpatialKind,
} from './spatial.store.js'

async function page(
  ctx: Context,
  kind: SpatialKind,
  filter: SpatialFilter | undefined,
  first: number | undefined,
  after: string | undefined,
) {
  const p = await spatialPage(
    ctx.knex,
    kind,
    filter,
    pageSize(first),
    after,
    ctx.config.maxGeometryVertices,
    fieldsNeeded(ctx.loaders, kind as EntityTypeName),
  )
  for (const item of p.items) ctx.loaders.entity[kind as EntityTypeName].prime(item.id, item)
  return new Page(p.items, p.hasNextPage, p.cursorOf, p.count)
}

async function nearest(
  ctx: Context,
  lon: number,
  lat: number,
  limit?: number | null,
  maxMeters?: number | null,
): Promise<AddressDistance[]> {
  const args = checkNearestArgs(lon, lat, limit, maxMeters)
  const hits = await nearestAddressIds(ctx.knex, lon, lat, args.limit, args.maxMeters)
  const addresses = await ctx.loaders.entity.ADDRESS.loadMany(hits.map((h) => h.id))
  return hits.flatMap((h, i) => {
    const a = addresses[i]
    return a && !(a instanceof Error) ? [{ address: a as unknown as Address, meters: h.meters }] : []
  })
}

/** Queries of the spatial domain: filtered connections, point lookups and area summaries. */
@Resolver()
export class SpatialResolver {
  @Query(() => AddressConnection, {
    description: 'Addresses matching the filter; with textContains ranked by similarity, else by id.',
  })
  async addresses(
    @Ctx() ctx: Context,
    @Arg('filter', () => SpatialFilter, { nullable: true }) filter?: SpatialFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return new AddressConnection((await page(ctx, 'ADDRESS', filter, first, after)) as unknown as Page<Address>)
  }

  @Query(() => BuildingConnection, {
    description: 'Buildings matching the filter (textContains: name), by id.',
  })
  async buildings(
    @Ctx() ctx: Context,
    @Arg('filter', () => SpatialFilter, { nullable: true }) filter?: SpatialFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return new BuildingConnection((await page(ctx, 'BUILDING', filter, first, after)) as never)
  }

  @Query(() => ParcelConnection, {
    description: 'Parcels matching the filter (textContains: parcel code or land use), by id.',
  })
  async parcels(
    @Ctx() ctx: Context,
    @Arg('filter', () => SpatialFilter, { nullable: true }) filter?: SpatialFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return new ParcelConnection((await page(ctx, 'PARCEL', filter, first, after)) as never)
  }

  @Query(() => [AdminDivision], { description: 'Every division containing the point, top-down.' })
  async divisionsAt(@Ctx() ctx: Context, @Arg('lon', () => Float) lon: number, @Arg('lat', () => Float) lat: number) {
    const divisions = await divisionsAt(ctx.knex, lon, lat, fieldsNeeded(ctx.loaders, 'ADMIN_DIVISION'))
    for (const d of divisions) ctx.loaders.entity.ADMIN_DIVISION.prime(d.id, d)
    return divisions as unknown as AdminDivision[]
  }

  @Query(() => [AddressDistance], {
    description: 'Nearest addresses (default 5, at most 100), metres on the spheroid, nearest first.',
  })
  nearestAddresses(
    @Ctx() ctx: Context,
    @Arg('lon', () => Float) lon: number,
    @Arg('lat', () => Float) lat: number,
    @Arg('limit', () => Int, { nullable: true }) limit?: number,
    @Arg('maxMeters', () => Float, { nullable: true }) maxMeters?: number,
  ) {
    return nearest(ctx, lon, lat, limit, maxMeters)
  }

  @Query(() => ReverseGeocodeResult, {
    description: 'The nearest address (within 1 km) and the divisions containing the point.',
  })
  async reverseGeocode(
    @Ctx() ctx: Context,
    @Arg('lon', () => Float) lon: number,
    @Arg('lat', () => Float) lat: number,
  ): Promise<ReverseGeocodeResult> {
    const [hits, divisions] = await Promise.all([
      nearest(ctx, lon, lat, 1, REVERSE_GEOCODE_METERS),
      divisionsAt(ctx.knex, lon, lat, fieldsNeeded(ctx.loaders, 'ADMIN_DIVISION')),
    ])
    return { nearest: hits[0] ?? null, divisions: divisions as unknown as AdminDivision[] }
  }

  @Query(() => AreaSummary, {
    description: 'Area (km², spheroid) and what lies inside a Polygon or MultiPolygon.',
  })
  async areaSummary(
    @Ctx() ctx: Context,
    @Arg('geometry', () => GeoJSONScalar) geometry: unknown,
    @Info() info: GraphQLResolveInfo,
  ): Promise<AreaSummary> {
    // Read where queries read (a replica, when one is fit); the deltas' compaction, a write, on the primary.
    const s = await areaSummary(ctx.knex, geometry, ctx.config.maxGeometryVertices, {
      primary: ctx.primary,
      // Only when the operation asks for them: the boundary's buildings are tested one by one.
      countBuildings:
        selectionOf(info.schema, info.operation, info.fragments).get('AreaSummary')?.has('buildingCount') ?? true,
      onCompactionError: (err) =>
        process.emitWarning(`area_cell_counts compaction after a summary failed: ${(err as Error).message}`),
    })
    // Exact only for callers who could count the residents themselves (docs/security.md, "Disclosure rules").
    // buildingCount is null only when the operation does not select it, so it is never served.
    const counted = { ...s, buildingCount: s.buildingCount ?? 0 }
    if (await canSee(ctx, 'PERSON', 'residenceAddress')) return { ...counted, residentCountRoundedTo: null }
    const min = ctx.config.disclosureMinCount
    return { ...counted, residentCount: disclosedCount(s.residentCount, min), residentCountRoundedTo: min }
  }
}

/** How far reverseGeocode looks for an address, in metres: farther than that it is not "the address here". */
export const REVERSE_GEOCODE_METERS = 1000
