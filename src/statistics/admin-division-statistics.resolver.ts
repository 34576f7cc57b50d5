import { Arg, Ctx, FieldResolver, Resolver, Root } from 'type-graphql'
import type { Context } from '../graphql/context.js'
import { AdminDivision } from '../spatial/admin-division.type.js'
import { disclosedDerivedStatistics } from './disclosure.js'
import { derivedStatisticsOf, findObservations, selectsObservationProvenance } from './statistics.service.js'
import { DerivedStatistics, Observation } from './statistics.type.js'

/** The statistics fields of AdminDivision: its observations and its live register counts. */
@Resolver(() => AdminDivision)
export class AdminDivisionStatisticsResolver {
  @FieldResolver(() => DerivedStatistics, {
    description: 'Counts computed live from the registers for this division and everything below it.',
  })
  async derivedStatistics(@Root() d: AdminDivision, @Ctx() ctx: Context): Promise<DerivedStatistics> {
    return disclosedDerivedStatistics(ctx, await derivedStatisticsOf(ctx.knex, d), ctx.config.disclosureMinCount)
  }

  @FieldResolver(() => [Observation], {
    description: 'Observations for this division (not those below it), ordered by period within each indicator.',
  })
  async observations(
    @Root() d: AdminDivision,
    @Ctx() ctx: Context,
    @Arg('indicatorCode', () => String, { nullable: true }) indicatorCode?: string,
    @Arg('periodFrom', () => String, { nullable: true }) periodFrom?: string,
    @Arg('periodTo', () => String, { nullable: true }) periodTo?: string,
  ): Promise<Observation[]> {
    const rows = await findObservations(
      ctx.knex,
      { regionId: d.id, indicatorCode: indicatorCode ?? undefined },
      periodFrom,
      periodTo,
      selectsObservationProvenance(ctx.loaders.selection),
    )
    // One region: group by indicator code, keeping each indicator's periods in order (stable sort).
    return rows.sort((a, b) => (a.indicatorCode < b.indicatorCode ? -1 : a.indicatorCode > b.indicatorCode ? 1 : 0))
  }
}
