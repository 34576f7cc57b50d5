import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql'
import { hasRole } from '../access/principal.js'
import { hiddenAsDeceased } from '../access/visibility.js'
import { Department, PrincipalType } from '../access/access.types.js'
import {
  Claim,
  ConflictType,
  FieldChange,
  FieldProvenance,
  MasterEntity,
  SourceRecordType,
} from './reconciliation.types.js'
import type { Context } from '../graphql/context.js'
import { EntityType } from '../graphql/enums.js'
import { decodeCursor, encodeCursor, Page, pageSize } from '../graphql/pagination.js'
import { JSONScalar } from '../graphql/scalars.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import { badInput, unauthenticated } from '../shared/errors.js'
import { checkId } from '../shared/ids.js'
import { conflictCandidates, conflictPage, conflictQuery, findConflict } from './conflicts.store.js'
import { isExtendedField } from './fields.js'
import { checkConflictFilter } from './queue.resolver.js'
import { changesAfter, type FeedPosition, feedEnd, positionOfChange } from './history.store.js'
import { findSourceRecord } from './source-records.store.js'
import { entityHead } from './entity.store.js'
import { isDepartment, listDepartments } from './authority.store.js'
import { submitRecords } from './submission.service.js'
import {
  AuthorityRuleType,
  Change,
  ChangeConnection,
  ConflictConnection,
  ConflictFilter,
  SubmissionResultType,
  SubmitRecordsInput,
} from './reconciliation.types.js'

/**
 * The feed position of an `after` cursor: [position, id], or a bare change id from before
 * positions existed; the start for none. Anything else is BAD_USER_INPUT.
 */
async function feedCursor(knex: Context['knex'], after: string | null | undefined): Promise<FeedPosition> {
  if (after === 'now') return feedEnd(knex)
  const key = decodeCursor(after)
  if (!key) return { position: 0, id: 0 }
  const n = (k: unknown) => typeof k === 'number' && Number.isSafeInteger(k) && k >= 0
  // A webhook event's cursor [position, id, entity, event] continues the feed after (position, id).
  if (key.length === 4 && n(key[0]) && n(key[1]) && typeof key[2] === 'string' && n(key[3]))
    return { position: key[0] as number, id: key[1] as number }
  if (key.every(n)) {
    if (key.length === 2) return { position: key[0] as number, id: key[1] as number }
    if (key.length === 1) return positionOfChange(knex, key[0] as number)
  }
  throw badInput('after is not a cursor this service issued', 'after')
}

@Resolver()
export class ReconciliationResolver {
  @Query(() => [Department])
  departments(@Ctx() ctx: Context) {
    return listDepartments(ctx.knex)
  }

  @Query(() => PrincipalType, { description: 'The caller.' })
  me(@Ctx() ctx: Context): PrincipalType {
    return {
      id: ctx.principal.id,
      name: ctx.principal.name,
      departmentCode: ctx.principal.departmentCode,
      roles: ctx.principal.roles,
    }
  }

  @Query(() => MasterEntity, {
    nullable: true,
    description: 'Any entity by id; a merged-away id answers with its survivor.',
  })
  async entity(@Ctx() ctx: Context, @Arg('id', () => ID) id: string) {
    let current = checkId(id)
    for (let hops = 0; hops < 20; hops++) {
      const head = await entityHead(ctx.knex, current)
      if (!head) return null
      if (!head.mergedInto) {
        const entity = await ctx.loaders.entity[head.entityType].load(current)
        return (await hiddenAsDeceased(ctx, entity)) ? null : entity
      }
      current = head.mergedInto
    }
    return null
  }

  @Query(() => SourceRecordType, { nullable: true })
  sourceRecord(
    @Ctx() ctx: Context,
    @Arg('department', () => String) department: string,
    @Arg('sourceKey', () => String) sourceKey: string,
    @Arg('entityType', () => EntityType) entityType: string,
  ) {
    return findSourceRecord(ctx.knex, department, sourceKey, entityType)
  }

  @Query(() => ConflictType, { nullable: true })
  conflict(@Ctx() ctx: Context, @Arg('id', () => ID) id: string) {
    return findConflict(ctx.knex, checkId(id))
  }

  @Query(() => ConflictConnection, {
    description: 'Conflicts, oldest first; filter by department for an inbox.',
  })
  async conflicts(
    @Ctx() ctx: Context,
    @Arg('filter', () => ConflictFilter, { nullable: true }) filter?: ConflictFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    const size = pageSize(first)
    await checkConflictFilter(ctx, filter)
    const { items, hasNextPage, keyOf } = await conflictPage(ctx.knex, filter, size, after)
    return new ConflictConnection(
      new Page(
        items,
        hasNextPage,
        (c) => encodeCursor(keyOf.get(c.id)!),
        async () => Number((await conflictQuery(ctx.knex, filter).count({ n: '*' }).first())?.n ?? 0),
      ),
    )
  }

  @Query(() => [AuthorityRuleType], {
    description: 'The authority table: who owns each field, who may stand in, and its sharing class.',
  })
  async authorityRules(
    @Ctx() ctx: Context,
    @Arg('entityType', () => EntityType, { nullable: true }) entityType?: string,
    @Arg('core', () => Boolean, {
      nullable: true,
      description: 'true: rules of the typed (core) fields only; false: rules of catalogue-defined items only.',
    })
    core?: boolean | null,
  ): Promise<AuthorityRuleType[]> {
    const rules = (await ctx.loaders.rules())
      .all()
      .filter((r) => !entityType || r.entityType === entityType)
      .filter((r) => core === null || core === undefined || isExtendedField(r.entityType, r.field) !== core)
    return rules.map((r) => ({
      entityType: r.entityType,
      field: r.field,
      entityKind: r.entityKind || null,
      authorityCode: r.authority,
      fallbackCodes: r.fallbacks,
      sharingClass: r.sharingClass,
    }))
  }

  @Query(() => ChangeConnection, {
    description:
      'Golden-value changes in commit order; keep endCursor and ask again with after to stay in sync. after: "now" starts at the end of the feed (only later changes), and answers that position as endCursor.',
  })
  async changes(
    @Ctx() ctx: Context,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('entityTypes', () => [EntityType], { nullable: true }) entityTypes?: string[],
    @Arg('first', () => Int, { nullable: true }) first?: number,
  ): Promise<ChangeConnection> {
    const size = pageSize(first)
    const start = await feedCursor(ctx.knex, after)
    const rows = await changesAfter(ctx.knex, start, entityTypes ?? null, size + 1)
    const nodes = rows.slice(0, size).map(({ position, id, ...c }) => ({ ...c, cursor: encodeCursor([position, id]) }))
    const last = nodes[nodes.length - 1]
    return {
      nodes,
      pageInfo: {
        hasNextPage: rows.length > size,
        // With nothing new, the position asked from (so "now" becomes a cursor to keep).
        endCursor: last ? last.cursor : after ? encodeCursor([start.position, start.id]) : null,
      },
    }
  }

  @Mutation(() => SubmissionResultType, {
    description: 'A department contributes records; each is validated, reconciled, or rejected with a code.',
  })
  async submitRecords(@Ctx() ctx: Context, @Arg('input', () => SubmitRecordsInput) input: SubmitRecordsInput) {
    const p = ctx.principal
    if (!p.roles.length) throw unauthenticated()
    const department = input.department ?? p.departmentCode
    if (!department) throw badInput('department is required for a caller without one', 'input.department')
    if (!ENTITY_TYPES.includes(input.entityType as EntityTypeName))
      throw badInput('unknown entity type', 'input.entityType')
    if (input.records.length > 10_000)
      throw badInput('at most 10,000 records per call; use the import CLI for more', 'input.records')
    if (
      input.batchKey !== undefined &&
      input.batchKey !== null &&
      (!input.batchKey.trim() || input.batchKey.length > 200)
    )
      throw badInput('batchKey must be 1 to 200 characters', 'input.batchKey')
    if (!(await isDepartment(ctx.knex, department)))
      throw badInput(`unknown department ${department}`, 'input.department')
    const mayActFor = department === p.departmentCode || hasRole(p, 'STEWARD', 'ADMIN')
    const records = mayActFor ? input.records : []
    const result = await submitRecords(
      ctx.knex,
      {
        department,
        entityType: input.entityType as EntityTypeName,
        batchKey: mayActFor ? input.batchKey : null,
        records,
        principalId: p.id,
      },
      {
        matchHigh: ctx.config.matchHigh,
        matchLow: ctx.config.matchLow,
        extent: ctx.config.extent,
        maxGeometryVertices: ctx.config.maxGeometryVertices,
        observedAtMaxSkewMs: ctx.config.observedAtMaxSkewMs,
      },
    )
    if (!mayActFor) {
      // Rule: a department app submits only as its own department. Every record is refused, coded.
      result.rejected = input.records.map((r, index) => ({
        index,
        sourceKey: r.sourceKey ?? null,
        code: 'NOT_AUTHORIZED',
        field: 'department',
        message: `${p.departmentCode ?? 'this caller'} may not submit as ${department}`,
      }))
    }
    return result
  }
}

@Resolver(() => ConflictType)
export class ConflictFieldsResolver {
  @FieldResolver(() => MasterEntity, { nullable: true })
  async entity(@Root() c: ConflictType, @Ctx() ctx: Context) {
    return ctx.loaders.entity[c.entityType as EntityTypeName].load(c.entityId)
  }

  @FieldResolver(() => MasterEntity, {
    nullable: true,
    description: 'Second entity of a POSSIBLE_DUPLICATE.',
  })
  async otherEntity(@Root() c: ConflictType, @Ctx() ctx: Context) {
    return c.otherEntityId ? ctx.loaders.entity[c.entityType as EntityTypeName].load(c.otherEntityId) : null
  }

  @FieldResolver(() => Department, { nullable: true })
  authority(@Root() c: ConflictType, @Ctx() ctx: Context) {
    return c.authorityCode ? ctx.loaders.department.load(c.authorityCode) : null
  }

  @FieldResolver(() => JSONScalar, {
    nullable: true,
    description: 'The golden value now shown for the field.',
  })
  async currentValue(@Root() c: ConflictType, @Ctx() ctx: Context) {
    if (!c.field) return null
    return (await ctx.loaders.golden.load(c.entityId)).find((g) => g.field === c.field)?.value ?? null
  }

  @FieldResolver(() => [Claim])
  candidates(@Root() c: ConflictType, @Ctx() ctx: Context) {
    return conflictCandidates(ctx.knex, c.id)
  }

  @FieldResolver(() => PrincipalType, { nullable: true })
  async resolvedBy(@Root() c: ConflictType, @Ctx() ctx: Context): Promise<PrincipalType | null> {
    if (!c.resolvedById) return null
    const p = await ctx.loaders.principal.load(c.resolvedById)
    return p ?? { id: c.resolvedById, name: c.resolvedById, departmentCode: null, roles: [] }
  }

  @FieldResolver(() => Department, {
    nullable: true,
    description: 'Department that reported a suspected error.',
  })
  reportedBy(@Root() c: ConflictType, @Ctx() ctx: Context) {
    return c.reportedByCode ? ctx.loaders.department.load(c.reportedByCode) : null
  }
}

@Resolver(() => FieldProvenance)
export class FieldProvenanceResolver {
  @FieldResolver(() => Department, { nullable: true, description: 'Department whose value is shown.' })
  source(@Root() p: FieldProvenance, @Ctx() ctx: Context) {
    return p.sourceCode ? ctx.loaders.department.load(p.sourceCode) : null
  }

  @FieldResolver(() => Department, { description: 'The one department that owns this datum.' })
  authority(@Root() p: FieldProvenance, @Ctx() ctx: Context) {
    return ctx.loaders.department.load(p.authorityCode)
  }
}

@Resolver(() => FieldChange)
export class FieldChangeResolver {
  @FieldResolver(() => Department, { nullable: true })
  source(@Root() c: FieldChange, @Ctx() ctx: Context) {
    return c.sourceCode ? ctx.loaders.department.load(c.sourceCode) : null
  }
}

@Resolver(() => Change)
export class ChangeResolver {
  @FieldResolver(() => Department, { nullable: true })
  source(@Root() c: Change, @Ctx() ctx: Context) {
    return c.sourceCode ? ctx.loaders.department.load(c.sourceCode) : null
  }
}

@Resolver(() => Claim)
export class ClaimResolver {
  @FieldResolver(() => Department)
  department(@Root() c: Claim, @Ctx() ctx: Context) {
    return ctx.loaders.department.load(c.departmentCode)
  }
}

@Resolver(() => SourceRecordType)
export class SourceRecordResolver {
  @FieldResolver(() => Department)
  department(@Root() r: SourceRecordType, @Ctx() ctx: Context) {
    return ctx.loaders.department.load(r.departmentCode)
  }

  @FieldResolver(() => MasterEntity, { nullable: true })
  async entity(@Root() r: SourceRecordType, @Ctx() ctx: Context) {
    return r.entityId ? ctx.loaders.entity[r.entityType as EntityTypeName].load(r.entityId) : null
  }
}

@Resolver(() => AuthorityRuleType)
export class AuthorityRuleFieldsResolver {
  @FieldResolver(() => Department)
  authority(@Root() r: AuthorityRuleType, @Ctx() ctx: Context) {
    return ctx.loaders.department.load(r.authorityCode)
  }

  @FieldResolver(() => [Department], {
    description: 'Departments whose values may stand in, in order, while the authority has none.',
  })
  async fallbacks(@Root() r: AuthorityRuleType, @Ctx() ctx: Context) {
    return (await ctx.loaders.department.loadMany(r.fallbackCodes)).filter((d) => d && !(d instanceof Error))
  }
}

@Resolver(() => PrincipalType)
export class PrincipalFieldsResolver {
  @FieldResolver(() => Department, { nullable: true })
  department(@Root() p: PrincipalType, @Ctx() ctx: Context) {
    return p.departmentCode ? ctx.loaders.department.load(p.departmentCode) : null
  }
}
