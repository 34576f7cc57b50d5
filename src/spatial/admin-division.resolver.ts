import { Arg, Ctx, FieldResolver, Float, Query, Resolver, Root } from 'type-graphql'
import type { Context } from '../graphql/context.js'
import { DivisionLevel } from '../graphql/enums.js'
import { GeoJSONScalar } from '../graphql/scalars.js'
import { rowToObject, selectColumns } from '../reconciliation/entity.store.js'
import { isValidDivisionCode } from '../reconciliation/rules/division-code.js'
import { badInput } from '../shared/errors.js'
import { AdminDivision } from './admin-division.type.js'

/** Largest simplification tolerance accepted, in metres. */
const MAX_SIMPLIFY_METERS = 10_000

@Resolver(() => AdminDivision)
export class AdminDivisionResolver {
  @Query(() => AdminDivision, { nullable: true })
  async adminDivision(@Ctx() ctx: Context, @Arg('code', () => String) code: string): Promise<AdminDivision | null> {
    if (!isValidDivisionCode(code))
      throw badInput('code must be a 6, 9 or 12 digit division code', 'code', 'INVALID_DIVISION_CODE')
    const row = await ctx
      .knex('admin_divisions')
      .select(selectColumns(ctx.knex, 'ADMIN_DIVISION'))
      .where('code', code)
      .first()
    return row ? (rowToObject('ADMIN_DIVISION', row) as unknown as AdminDivision) : null
  }

  @Query(() => [AdminDivision], { description: 'Divisions by level and/or parent code, ordered by code.' })
  async adminDivisions(
    @Ctx() ctx: Context,
    @Arg('level', () => DivisionLevel, { nullable: true }) level?: string,
    @Arg('parentCode', () => String, { nullable: true }) parentCode?: string,
  ): Promise<AdminDivision[]> {
    if (parentCode && !isValidDivisionCode(parentCode))
      throw badInput('parentCode must be a 6, 9 or 12 digit division code', 'parentCode', 'INVALID_DIVISION_CODE')
    const q = ctx.knex('admin_divisions').select(selectColumns(ctx.knex, 'ADMIN_DIVISION')).orderBy('code')
    if (level) q.where('level', level)
    if (parentCode) q.where('parent_key', parentCode)
    return (await q).map((r: Record<string, unknown>) => rowToObject('ADMIN_DIVISION', r) as unknown as AdminDivision)
  }

  @FieldResolver(() => AdminDivision, { nullable: true })
  parent(@Root() d: AdminDivision, @Ctx() ctx: Context) {
    return d.parentId ? ctx.loaders.entity.ADMIN_DIVISION.load(d.parentId) : null
  }

  @FieldResolver(() => [AdminDivision])
  async children(@Root() d: AdminDivision, @Ctx() ctx: Context) {
    const rows = await ctx
      .knex('admin_divisions')
      .select(selectColumns(ctx.knex, 'ADMIN_DIVISION'))
      .where('parent_id', d.id)
      .orderBy('code')
    return rows.map((r: Record<string, unknown>) => rowToObject('ADMIN_DIVISION', r))
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
    // Simplify in the UTM zone of the boundary (northern hemisphere) so the tolerance is in metres,
    // preserving topology, then back to WGS 84.
    const { rows } = await ctx.knex.raw(
      `SELECT ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(ST_Transform(geom, z.srid), ?), 4326), 7)::json AS g
         FROM admin_divisions, LATERAL (SELECT 32600 + floor((ST_X(ST_Centroid(geom)) + 180) / 6)::int + 1 AS srid) z
        WHERE id = ?`,
      [simplifyMeters, d.id],
    )
    return rows[0]?.g ?? null
  }
}
