import {
  Arg,
  Ctx,
  Field,
  FieldResolver,
  Float,
  ID,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  Root,
} from 'type-graphql'
import { ConflictType } from './reconciliation.types.js'
import type { Context } from '../graphql/context.js'
import { ConflictDecision } from '../graphql/enums.js'
import { JSONScalar } from '../graphql/scalars.js'
import { badInput, errorCode, type ServiceError, unauthenticated } from '../shared/errors.js'
import { checkId } from '../shared/ids.js'
import { resolveConflict } from './conflicts.service.js'
import { conflictCounts } from './conflicts.store.js'
import { ConflictFilter } from './reconciliation.types.js'
import { personMatchBreakdown } from './rules/match.js'
import { checkReason, requireRole } from './steward.guard.js'

// The steward's work queue beyond single conflicts: counts per filter value, bulk decisions and
// the per-field breakdown of a duplicate's match score (what the console shows).

/** Most conflicts one resolveConflicts call decides. */
export const MAX_BULK_DECISIONS = 500

@ObjectType()
export class ConflictCount {
  @Field(() => String, {
    nullable: true,
    description: 'The value counted (kind, entity type, field or department code).',
  })
  key!: string | null
  @Field(() => Int) count!: number
}

@ObjectType()
export class ConflictCounts {
  @Field(() => Int) total!: number
  @Field(() => [ConflictCount]) byKind!: ConflictCount[]
  @Field(() => [ConflictCount]) byEntityType!: ConflictCount[]
  @Field(() => [ConflictCount]) byField!: ConflictCount[]
  @Field(() => [ConflictCount], { description: 'By owning department (code).' }) byAuthority!: ConflictCount[]
}

@ObjectType()
export class MatchContributionType {
  @Field(() => String, { description: 'name, birthDate, gender or address.' }) field!: string
  @Field(() => Float) weight!: number
  @Field(() => Float, { description: 'How far the two values agree, 0..1.' }) agreement!: number
  @Field(() => Boolean, { description: 'False when one side lacks the field; it then does not count.' })
  counted!: boolean
}

@ObjectType()
export class BulkDecisionResult {
  @Field(() => ID) id!: string
  @Field(() => ConflictType, { nullable: true, description: 'The resolved conflict; null when this one failed.' })
  conflict!: ConflictType | null
  @Field(() => String, {
    nullable: true,
    description: 'Error code when this one failed (e.g. ALREADY_RESOLVED, NOT_FOUND, INVALID_VALUE).',
  })
  errorCode!: string | null
  @Field(() => String, { nullable: true }) errorMessage!: string | null
}

/**
 * Normalises a conflict filter in place (department codes upper case) and throws BAD_USER_INPUT
 * naming the filter field for an unknown department or a district that is not a division code.
 */
export async function checkConflictFilter(ctx: Context, filter: ConflictFilter | null | undefined): Promise<void> {
  // Department codes are matched as the service writes them (upper case); an unknown one is an error, not an empty inbox.
  for (const key of ['authority', 'department'] as const) {
    const code = filter?.[key]
    if (code === undefined || code === null) continue
    filter![key] = code.trim().toUpperCase()
    if (!(await ctx.loaders.department.load(filter![key]!)))
      throw badInput(`unknown department ${code}`, `filter.${key}`)
  }
  if (filter?.district !== undefined && filter.district !== null && !/^\d{2,12}$/.test(filter.district))
    throw badInput('district is a division code (2 to 12 digits)', 'filter.district', 'INVALID_DIVISION_CODE')
}

const text = (v: unknown) => (typeof v === 'string' ? v : v === null || v === undefined ? null : String(v))

@Resolver(() => ConflictType)
export class QueueResolver {
  @Query(() => ConflictCounts, {
    description: 'How many conflicts match the filter, in all and per kind, entity type, field and authority.',
  })
  async conflictCounts(
    @Ctx() ctx: Context,
    @Arg('filter', () => ConflictFilter, { nullable: true }) filter?: ConflictFilter,
  ): Promise<ConflictCounts> {
    if (!ctx.principal.roles.length) throw unauthenticated()
    await checkConflictFilter(ctx, filter)
    return conflictCounts(ctx.knex, filter)
  }

  @FieldResolver(() => [MatchContributionType], {
    nullable: true,
    description:
      'POSSIBLE_DUPLICATE of persons: how each field contributes to the match score on the values shown now ' +
      '(weight and agreement); null for other conflicts.',
  })
  async matchBreakdown(@Root() c: ConflictType, @Ctx() ctx: Context): Promise<MatchContributionType[] | null> {
    if (c.kind !== 'POSSIBLE_DUPLICATE' || c.entityType !== 'PERSON' || !c.otherEntityId) return null
    const [a, b] = await Promise.all([ctx.loaders.golden.load(c.entityId), ctx.loaders.golden.load(c.otherEntityId)])
    const fields = (rows: { field: string; value: unknown }[]) => {
      const v = (f: string) => text(rows.find((r) => r.field === f)?.value)
      return {
        name: v('name'),
        birthDate: v('birthDate'),
        gender: v('gender'),
        address: v('residenceAddress') ?? v('householdAddress'),
      }
    }
    return personMatchBreakdown(fields(a), fields(b))
  }

  @Mutation(() => [BulkDecisionResult], {
    description:
      'STEWARD: the same decision with one reason for many conflicts (at most 500), each in its own audited ' +
      'transaction like resolveConflict; one that fails (already decided meanwhile: ALREADY_RESOLVED) does not stop the others.',
  })
  async resolveConflicts(
    @Ctx() ctx: Context,
    @Arg('ids', () => [ID]) ids: string[],
    @Arg('decision', () => ConflictDecision) decision: string,
    @Arg('reason', () => String) reason: string,
    @Arg('value', () => JSONScalar, { nullable: true }) value?: unknown,
  ): Promise<BulkDecisionResult[]> {
    requireRole(ctx.principal, 'STEWARD')
    const why = checkReason(reason)
    if (!ids.length) throw badInput('ids is empty', 'ids', 'MISSING_FIELD')
    if (ids.length > MAX_BULK_DECISIONS) throw badInput(`at most ${MAX_BULK_DECISIONS} ids at once`, 'ids')
    const unique = [...new Set(ids.map((id) => checkId(id, 'ids')))]
    const actor = { principalId: ctx.principal.id, departmentCode: ctx.principal.departmentCode }
    const results: BulkDecisionResult[] = []
    for (const id of unique) {
      try {
        const conflict = await resolveConflict(
          ctx.knex,
          actor,
          { id, decision, value, reason: why },
          { extent: ctx.config.extent },
        )
        results.push({ id, conflict, errorCode: null, errorMessage: null })
      } catch (e) {
        // A coded refusal of this one conflict is its result; anything else (a fault) fails the call.
        if (!errorCode(e)) throw e
        const ext = (e as ServiceError).extensions as { code?: string; reason?: string }
        results.push({
          id,
          conflict: null,
          errorCode: ext.reason ?? ext.code ?? 'BAD_USER_INPUT',
          errorMessage: (e as Error).message,
        })
      }
    }
    return results
  }
}
