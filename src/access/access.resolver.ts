import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql'
import type { Context } from '../graphql/context.js'
import { decodeSequenceCursor, encodeCursor, pageSize } from '../graphql/pagination.js'
import { ENTITY_SPECS } from '../reconciliation/fields.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import { badInput, forbidden, notFound } from '../shared/errors.js'
import { checkId } from '../shared/ids.js'
import { accessLogQuery, type DbAccessLogRow } from './access-log.store.js'
import {
  AccessLogConnection,
  AccessLogEntry,
  CatalogEntry,
  CatalogField,
  Department,
  PrincipalType,
  SharingGrantType,
  SharingRequestInput,
} from './access.types.js'
import { buildCatalog } from './catalog.service.js'
import { requireAuthenticated, requireDepartmentApp, requireRole } from './guards.js'
import { hasRole } from './principal.js'
import {
  decideSharingRequestRow,
  findSharingGrant,
  insertSharingRequest,
  listSharingGrants,
  type DbSharingGrantRow,
} from './sharing.store.js'

const toGrant = (r: DbSharingGrantRow): SharingGrantType => ({
  id: r.id,
  departmentCode: r.department_code,
  entityType: r.entity_type,
  fields: r.fields,
  purpose: r.purpose,
  status: r.status,
  expiresAt: r.expires_at,
  decidedAt: r.decided_at,
  decisionReason: r.decision_reason,
})

@Resolver()
export class AccessResolver {
  @Query(() => [CatalogEntry], {
    description: 'Every entity type as a data resource: fields, authority, sharing class, size, freshness.',
  })
  async catalog(@Ctx() ctx: Context): Promise<CatalogEntry[]> {
    return buildCatalog(ctx.knex, await ctx.loaders.rules())
  }

  @Query(() => [SharingGrantType], {
    description: 'Sharing grants and requests; a department app sees its own, ADMIN/STEWARD/AUDITOR any.',
  })
  async sharingGrants(
    @Ctx() ctx: Context,
    @Arg('department', () => String, { nullable: true }) department?: string,
  ): Promise<SharingGrantType[]> {
    const p = requireAuthenticated(ctx)
    const wanted = department?.trim().toUpperCase() || null
    if (!hasRole(p, 'ADMIN', 'STEWARD', 'AUDITOR')) {
      if (!p.departmentCode) throw forbidden('This key acts for no department')
      if (wanted && wanted !== p.departmentCode) throw forbidden('A department app sees only its own grants')
      return (await listSharingGrants(ctx.knex, p.departmentCode)).map(toGrant)
    }
    return (await listSharingGrants(ctx.knex, wanted)).map(toGrant)
  }

  @Mutation(() => SharingGrantType, {
    description: 'A department app asks to read CONDITIONAL fields it does not own; an ADMIN decides.',
  })
  async requestSharing(
    @Ctx() ctx: Context,
    @Arg('input', () => SharingRequestInput) input: SharingRequestInput,
  ): Promise<SharingGrantType> {
    const department = requireDepartmentApp(ctx)
    if (!ENTITY_TYPES.includes(input.entityType as EntityTypeName))
      throw badInput('unknown entity type', 'input.entityType')
    const entityType = input.entityType as EntityTypeName
    const rules = await ctx.loaders.rules()
    if (!input.fields.length || input.fields.length > 100) throw badInput('give 1 to 100 fields', 'input.fields')
    for (const f of input.fields)
      if (!rules.ruleFor(entityType, f))
        throw badInput(`${ENTITY_SPECS[entityType].typeName} has no field ${f}`, 'input.fields', 'UNKNOWN_FIELD')
    const purpose = input.purpose.trim()
    if (!purpose || purpose.length > 2000)
      throw badInput('purpose must be 1 to 2,000 characters', 'input.purpose', 'MISSING_FIELD')
    if (input.expiresAt && !(input.expiresAt.getTime() > Date.now()))
      throw badInput('expiresAt must lie in the future', 'input.expiresAt', 'INVALID_DATE')
    const row = await insertSharingRequest(ctx.knex, {
      departmentCode: department,
      entityType,
      fields: [...new Set(input.fields)],
      purpose,
      expiresAt: input.expiresAt ?? null,
      requestedBy: ctx.principal.id,
    })
    return toGrant(row)
  }

  @Mutation(() => SharingGrantType, { description: 'ADMIN approves or rejects a PENDING sharing request.' })
  async decideSharingRequest(
    @Ctx() ctx: Context,
    @Arg('id', () => ID) id: string,
    @Arg('approve', () => Boolean) approve: boolean,
    @Arg('reason', () => String, { nullable: true }) reason?: string,
  ): Promise<SharingGrantType> {
    const p = requireRole(ctx, 'ADMIN')
    const grantId = checkId(id)
    if (reason && reason.length > 2000) throw badInput('reason must be at most 2,000 characters', 'reason')
    const row = await decideSharingRequestRow(ctx.knex, grantId, approve, p.id, reason?.trim() || null)
    if (row) return toGrant(row)
    const existing = await findSharingGrant(ctx.knex, grantId)
    if (!existing) throw notFound('No such sharing request')
    throw badInput(`the request was ${existing.status} already`, 'id', 'ALREADY_DECIDED')
  }

  @Query(() => AccessLogConnection, {
    description: 'Who read this person’s data, newest first (AUDITOR and STEWARD only).',
  })
  async accessLog(
    @Ctx() ctx: Context,
    @Arg('personId', () => ID) personId: string,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<AccessLogConnection> {
    requireRole(ctx, 'AUDITOR', 'STEWARD')
    const id = checkId(personId, 'personId')
    const size = pageSize(first)
    const key = decodeSequenceCursor(after)
    const q = accessLogQuery(ctx.knex, id)
      .orderBy('id', 'desc')
      .limit(size + 1)
    if (key !== null) q.where('id', '<', key)
    const rows: DbAccessLogRow[] = await q
    const nodes = rows.slice(0, size).map((r) => ({
      at: r.at,
      principalId: r.principal_id,
      purpose: r.purpose,
      fields: r.fields,
      operationName: r.operation_name,
      personCount: r.person_ids.length,
    }))
    const last = rows[Math.min(rows.length, size) - 1]
    return Object.assign(new AccessLogConnection(), {
      nodes,
      pageInfo: { hasNextPage: rows.length > size, endCursor: last ? encodeCursor([Number(last.id)]) : null },
      count: async () => Number((await accessLogQuery(ctx.knex, id).count({ n: '*' }).first())?.n ?? 0),
    })
  }
}

@Resolver(() => SharingGrantType)
export class SharingGrantFieldsResolver {
  @FieldResolver(() => Department)
  department(@Root() g: SharingGrantType, @Ctx() ctx: Context) {
    return ctx.loaders.department.load(g.departmentCode)
  }
}

@Resolver(() => AccessLogEntry)
export class AccessLogEntryResolver {
  @FieldResolver(() => PrincipalType)
  async principal(@Root() e: AccessLogEntry, @Ctx() ctx: Context): Promise<PrincipalType> {
    return (
      (await ctx.loaders.principal.load(e.principalId)) ?? {
        id: e.principalId,
        name: e.principalId,
        departmentCode: null,
        roles: [],
      }
    )
  }
}

@Resolver(() => CatalogEntry)
export class CatalogEntryResolver {
  @FieldResolver(() => Department)
  provider(@Root() c: CatalogEntry, @Ctx() ctx: Context) {
    return ctx.loaders.department.load(c.providerCode)
  }
}

@Resolver(() => CatalogField)
export class CatalogFieldResolver {
  @FieldResolver(() => Department)
  authority(@Root() f: CatalogField, @Ctx() ctx: Context) {
    return ctx.loaders.department.load(f.authorityCode)
  }
}

export const ACCESS_RESOLVERS = [
  AccessResolver,
  SharingGrantFieldsResolver,
  AccessLogEntryResolver,
  CatalogEntryResolver,
  CatalogFieldResolver,
] as const
