import { Arg, Ctx, FieldResolver, Float, Query, Resolver, Root } from 'type-graphql'
import { entityRef, fieldsNeeded, type Context } from '../graphql/context.js'
import { DivisionLevel } from '../graphql/enums.js'
import { GeoJSONScalar } from '../graphql/scalars.js'
import { isValidDivisionCode } from '../reconciliation/rules/division-code.js'
import { badInput } from '../shared/errors.js'
import { childDivisions, divisionByCode, listDivisions, simplifiedBoundary } from './admin-division.store.js'
import { AdminDivision } from './admin-division.type.js'

/** Largest simplification tolerance accepted, in metres. */
const MAX_SIMPLIFY_METERS = 10_000

@Resolver(() => AdminDivision)
export class AdminDivisionResolver {
  @Query(() => AdminDivision, { nullable: true })
  async adminDivision(@Ctx() ctx: Context, @Arg('code', () => String) code: string): Promise<AdminDivision | null> {
    if (!isValidDivisionCode(code))
      throw badInput('code must be a 6, 9 or 12 digit division code', 'code', 'INVALID_DIVISION_CODE')
    return (
      ((await divisionByCode(ctx.knex, code, fieldsNeeded(ctx.loaders, 'ADMIN_DIVISION'))) as unknown as
        | AdminDivision
        | undefined) ?? null
    )
  }

  @Query(() => [AdminDivision], { description: 'Divisions by level and/or parent code, ordered by code.' })
  async adminDivisions(
    @Ctx() ctx: Context,
    @Arg('level', () => DivisionLevel, { nullable: true }) level?: string,
    @Arg('parentCode', () => String, { nullable: true }) parentCode?: string,
  ): Promise<AdminDivision[]> {
    if (parentCode && !isValidDivisionCode(parentCode))
      throw badInput('parentCode must be a 6, 9 or 12 digit division code', 'parentCode', 'INVALID_DIVISION_CODE')
    return (await listDivisions(
      ctx.knex,
      { level, parentCode },
      fieldsNeeded(ctx.loaders, 'ADMIN_DIVISION'),
    )) as unknown as AdminDivision[]
  }

  @FieldResolver(() => AdminDivision, { nullable: true })
  parent(@Root() d: AdminDivision, @Ctx() ctx: Context) {
    return entityRef(ctx.loaders, 'ADMIN_DIVISION', d.parentId)
  }

  @FieldResolver(() => [AdminDivision])
  children(@Root() d: AdminDivision, @Ctx() ctx: Context) {
    return childDivisions(ctx.knex, d.id, fieldsNeeded(ctx.loaders, 'ADMIN_DIVISION'))
  }

  @FieldResolver(() => GeoJSONScalar, {
    nullable: true,
    description: 'Boundary; with simplifyMeters the geometry is simplified to that tolerance.',
  })
  async geometry(
    @Root() d: AdminDivision,
    @Ctx() ctx: Context,
    @Arg('simplifyMeters', () => Float, { nullable: true }) simplifyMeters?: number,
  ) {
    if (simplifyMeters === undefined || simplifyMeters === null)
      return d.geometry !== undefined ? d.geometry : ctx.loaders.divisionGeometry.load(d.id)
    if (!(simplifyMeters > 0) || simplifyMeters > MAX_SIMPLIFY_METERS)
      throw badInput(
        `simplifyMeters must be greater than 0 and at most ${MAX_SIMPLIFY_METERS}`,
        'simplifyMeters',
        'INVALID_GEOMETRY',
      )
    return simplifiedBoundary(ctx.knex, d.id, simplifyMeters)
  }
}
