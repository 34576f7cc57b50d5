import type { GraphQLResolveInfo } from 'graphql'
import { Arg, Ctx, FieldResolver, Float, Info, Query, Resolver, Root } from 'type-graphql'
import { Department } from '../access/access.types.js'
import { ObservationStatus } from '../graphql/enums.js'
import { DateTimeScalar } from '../graphql/scalars.js'
import type { Context } from '../graphql/context.js'
import { itemValues } from '../reconciliation/data-item.resolver.js'
import { DataItemValueType } from '../reconciliation/data-item.types.js'
import { AdminDivision } from '../spatial/admin-division.type.js'
import { isDerivable } from './derivations.js'
import { disclosedDerivedStatistics } from './disclosure.js'
import {
  derivedStatisticsByCode,
  findDiscrepancies,
  findObservations,
  regionArg,
  selectsObservationProvenance,
} from './statistics.service.js'
import { indicatorByCode, indicatorList } from './statistics.store.js'
import { DerivedStatistics, Indicator, Observation, StatisticsDiscrepancy } from './statistics.type.js'

@Resolver(() => Indicator)
export class IndicatorResolver {
  @Query(() => Indicator, { nullable: true })
  indicator(@Ctx() ctx: Context, @Arg('code', () => String) code: string): Promise<Indicator | null> {
    return indicatorByCode(ctx.knex, code)
  }

  @Query(() => [Indicator], {
    description: 'The indicator catalogue, or one category of it, ordered by category, subcategory and code.',
  })
  indicators(
    @Ctx() ctx: Context,
    @Arg('category', () => String, { nullable: true }) category?: string,
  ): Promise<Indicator[]> {
    return indicatorList(ctx.knex, category ?? null)
  }

  @Query(() => [Observation], {
    name: 'observations',
    description:
      'Observations of an indicator, optionally of one region, whose period lies within periodFrom..periodTo; ordered by region code, then period.',
  })
  async observationsQuery(
    @Ctx() ctx: Context,
    @Arg('indicatorCode', () => String) indicatorCode: string,
    @Arg('regionCode', () => String, { nullable: true }) regionCode?: string,
    @Arg('periodFrom', () => String, { nullable: true }) periodFrom?: string,
    @Arg('periodTo', () => String, { nullable: true }) periodTo?: string,
  ): Promise<Observation[]> {
    if (regionCode) regionArg(regionCode, 'regionCode')
    return findObservations(
      ctx.knex,
      { indicatorCode, regionCode: regionCode ?? undefined },
      periodFrom,
      periodTo,
      selectsObservationProvenance(ctx.loaders.selection),
    )
  }

  @Query(() => DerivedStatistics, {
    description: 'Counts computed live from the registers for a division and everything below it.',
  })
  async derivedStatistics(
    @Ctx() ctx: Context,
    @Arg('regionCode', () => String) regionCode: string,
  ): Promise<DerivedStatistics> {
    return disclosedDerivedStatistics(
      ctx,
      await derivedStatisticsByCode(ctx.knex, regionCode),
      ctx.config.disclosureMinCount,
    )
  }

  @Query(() => [StatisticsDiscrepancy], {
    description:
      'Published figures of derivable indicators for the period that differ from the registers by at least ' +
      'minRelativeDifference (default 0.05 = 5 %), relative to the derived value; ordered by indicator code, then region code.',
  })
  statisticsDiscrepancies(
    @Ctx() ctx: Context,
    @Arg('period', () => String) period: string,
    @Arg('minRelativeDifference', () => Float, { nullable: true }) minRelativeDifference?: number,
  ) {
    return findDiscrepancies(ctx.knex, period, minRelativeDifference)
  }

  @FieldResolver(() => Department, {
    description: 'Department that owns the observations (STATS unless the catalogue names another).',
  })
  async owner(@Root() i: Indicator, @Ctx() ctx: Context) {
    return (
      (await ctx.loaders.department.load(i.owner ?? 'STATS')) ?? {
        code: i.owner ?? 'STATS',
        name: i.owner ?? 'STATS',
      }
    )
  }

  @FieldResolver(() => Boolean, {
    description: 'Set when the service can compute this indicator from the foundational data.',
  })
  derivable(@Root() i: Indicator): boolean {
    return isDerivable(i.code)
  }

  @FieldResolver(() => [Observation], {
    description: 'Observations of this indicator, ordered by region code, then period.',
  })
  observations(
    @Root() i: Indicator,
    @Ctx() ctx: Context,
    @Arg('regionCode', () => String, { nullable: true }) regionCode?: string,
    @Arg('periodFrom', () => String, { nullable: true }) periodFrom?: string,
    @Arg('periodTo', () => String, { nullable: true }) periodTo?: string,
  ): Promise<Observation[]> {
    if (regionCode) regionArg(regionCode, 'regionCode')
    return findObservations(
      ctx.knex,
      { indicatorId: i.id, regionCode: regionCode ?? undefined },
      periodFrom,
      periodTo,
      selectsObservationProvenance(ctx.loaders.selection),
    )
  }
}

@Resolver(() => Observation)
export class ObservationResolver {
  @FieldResolver(() => [DataItemValueType], {
    description: 'Golden values of catalogue items (all the caller may see when names is omitted).',
  })
  items(
    @Root() o: Observation,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
    @Arg('names', () => [String], { nullable: true }) names?: string[] | null,
    @Arg('asOf', () => Date, { nullable: true }) asOf?: Date | null,
  ) {
    return itemValues(ctx, info, { id: o.id, entityType: 'OBSERVATION' }, names, asOf)
  }

  @FieldResolver(() => Indicator)
  indicator(@Root() o: Observation, @Ctx() ctx: Context) {
    return ctx.loaders.entity.INDICATOR.load(o.indicatorId)
  }

  @FieldResolver(() => AdminDivision)
  region(@Root() o: Observation, @Ctx() ctx: Context) {
    return ctx.loaders.entity.ADMIN_DIVISION.load(o.regionId)
  }

  @FieldResolver(() => ObservationStatus, { description: 'FINAL when the source gave no status.' })
  status(@Root() o: Observation): string {
    return o.status ?? 'FINAL'
  }

  @FieldResolver(() => DateTimeScalar, { description: 'When the service recorded the value shown.' })
  async recordedAt(@Root() o: Observation, @Ctx() ctx: Context): Promise<Date> {
    return o.recordedAt ?? (await shownGolden(o, ctx)).recorded_at
  }

  @FieldResolver(() => Department, {
    description: 'Department whose figure is the one shown (the golden value).',
  })
  async source(@Root() o: Observation, @Ctx() ctx: Context) {
    const code = o.sourceCode ?? (await shownGolden(o, ctx)).source_department ?? ''
    return (await ctx.loaders.department.load(code)) ?? { code, name: code }
  }
}

/**
 * The golden value that stands for an observation reached as a plain entity (e.g. a conflict's
 * entity): its value, else its status, as the observation queries choose.
 */
async function shownGolden(o: Observation, ctx: Context) {
  const rows = await ctx.loaders.golden.load(o.id)
  const shown = rows.find((r) => r.field === 'value') ?? rows.find((r) => r.field === 'status')
  if (!shown) throw new Error(`observation ${o.id} has no golden value`)
  return shown
}

@Resolver(() => StatisticsDiscrepancy)
export class StatisticsDiscrepancyResolver {
  @FieldResolver(() => Indicator)
  indicator(@Root() d: StatisticsDiscrepancy, @Ctx() ctx: Context) {
    return ctx.loaders.entity.INDICATOR.load(d.indicatorId)
  }

  @FieldResolver(() => AdminDivision)
  region(@Root() d: StatisticsDiscrepancy, @Ctx() ctx: Context) {
    return ctx.loaders.entity.ADMIN_DIVISION.load(d.regionId)
  }
}
