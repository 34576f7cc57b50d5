import { responsePathAsArray, type GraphQLResolveInfo } from 'graphql'
import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql'
import { accessState, canSee } from '../access/visibility.js'
import type { Context } from '../graphql/context.js'
import { Department } from '../access/access.types.js'
import { MasterEntity } from './reconciliation.types.js'
import { EntityType } from '../graphql/enums.js'
import type { EntityTypeName, SharingClassName } from '../shared/entity-types.js'
import { badInput } from '../shared/errors.js'
import { loadAuthorityRules } from './authority.store.js'
import { fieldsUnderInvestigationAsOf } from './conflicts.store.js'
import { DataItemInput, DataItemObject, DataItemValueType } from './data-item.types.js'
import { defineDataItems, listDataItems, type DataItemRecord } from './data-items.service.js'
import type { EntityObject } from './entity.store.js'
import { ENTITY_SPECS } from './fields.js'
import { goldenAsOf } from './history.store.js'
import type { DataItemTypeName } from './rules/data-item.js'
import { requireRole } from './steward.guard.js'

/** The catalogue of data items: list, look up, define (ADMIN). */
@Resolver(() => DataItemObject)
export class DataItemResolver {
  @Query(() => [DataItemObject], {
    description: 'The data-item catalogue: every core field and every extended item, filtered by type, owner and core.',
  })
  async dataItems(
    @Ctx() ctx: Context,
    @Arg('entityType', () => EntityType, { nullable: true }) entityType?: string | null,
    @Arg('department', () => String, { nullable: true }) department?: string | null,
    @Arg('core', () => Boolean, { nullable: true }) core?: boolean | null,
  ): Promise<DataItemRecord[]> {
    const all = await ctx.loaders.dataItems()
    return all.filter(
      (i) =>
        (!entityType || i.entityType === entityType) &&
        (!department || i.authorityCode === department) &&
        (core === null || core === undefined || i.core === core),
    )
  }

  @Query(() => DataItemObject, { nullable: true, description: 'One item by its code, e.g. PERSON.disabilityLevel.' })
  async dataItem(@Ctx() ctx: Context, @Arg('code', () => ID) code: string): Promise<DataItemRecord | null> {
    return (await ctx.loaders.dataItems()).find((i) => i.code === code) ?? null
  }

  @Mutation(() => DataItemObject, {
    description: 'ADMIN: a new item takes submissions at once, with no code change and no restart.',
  })
  async defineDataItem(
    @Ctx() ctx: Context,
    @Arg('input', () => DataItemInput) input: DataItemInput,
  ): Promise<DataItemRecord> {
    requireRole(ctx.principal, 'ADMIN')
    const [row] = await defineDataItems(ctx.knex, { principalId: ctx.principal.id, departmentCode: null }, [
      {
        ...input,
        entityType: input.entityType as EntityTypeName,
        dataType: input.dataType as DataItemTypeName,
        sharingClass: input.sharingClass as SharingClassName,
      },
    ])
    const items = await listDataItems(ctx.knex, await loadAuthorityRules(ctx.knex), {
      entityType: row.entity_type,
      core: false,
    })
    return items.find((i) => i.name === row.name)!
  }

  @FieldResolver(() => Department, { description: 'The one department that owns this item.' })
  authority(@Root() i: DataItemRecord, @Ctx() ctx: Context) {
    return ctx.loaders.department.load(i.authorityCode)
  }

  @FieldResolver(() => [Department], {
    description: 'Departments that may stand in, in order, while the owner has no value.',
  })
  async fallback(@Root() i: DataItemRecord, @Ctx() ctx: Context) {
    return (await ctx.loaders.department.loadMany(i.fallbackCodes)).filter((d) => d && !(d instanceof Error))
  }

  @FieldResolver(() => Int, { description: 'Number of entities holding a golden value for it.' })
  valueCount(@Root() i: DataItemRecord, @Ctx() ctx: Context) {
    return ctx.loaders.itemValueCount.load(`${i.entityType}|${i.name}`)
  }
}

export interface ItemValue extends Omit<DataItemValueType, 'item'> {
  item: DataItemRecord
}

/**
 * The golden values of catalogue items on one entity, with provenance: `names` limits the list
 * (an unknown name is UNKNOWN_FIELD; a named item the caller may not see is left out with a
 * FORBIDDEN_FIELD error entry), `asOf` answers from history. Reads of person items are logged.
 */
export async function itemValues(
  ctx: Context,
  info: GraphQLResolveInfo,
  e: { id: string; entityType: EntityTypeName; kind?: string | null; asOf?: Date | null },
  names?: string[] | null,
  asOf?: Date | null,
): Promise<ItemValue[]> {
  const entityType = e.entityType
  const catalogue = new Map(
    (await ctx.loaders.dataItems()).filter((i) => i.entityType === entityType).map((i) => [i.name, i]),
  )
  const unknown = names?.find((n) => !catalogue.has(n))
  if (unknown)
    throw badInput(`${ENTITY_SPECS[entityType].typeName} has no data item "${unknown}"`, 'names', 'UNKNOWN_FIELD')
  const when = asOf ?? e.asOf ?? null
  const rows = when
    ? (await goldenAsOf(ctx.knex, e.id, when)).map((h) => ({
        field: h.field,
        value: h.newValue,
        status: h.status,
        source_department: h.sourceCode,
        observed_at: h.observedAt,
        recorded_at: h.recordedAt as Date | null,
      }))
    : await ctx.loaders.golden.load(e.id)
  const open = when
    ? await fieldsUnderInvestigationAsOf(ctx.knex, e.id, when)
    : await ctx.loaders.openConflictFields.load(e.id)
  const byField = new Map(rows.map((r) => [r.field, r]))
  const wanted = names ? [...new Set(names)] : [...catalogue.keys()]
  const out: ItemValue[] = []
  const access = accessState(ctx)
  for (const name of wanted) {
    if (!(await canSee(ctx, entityType, name, e.kind ?? null))) {
      // Asked for by name: say why it is missing; otherwise the list is simply what the caller may see.
      if (names)
        access.extraErrors.push({
          message: `The caller may not see ${entityType}.${name}; ask for a sharing grant`,
          path: responsePathAsArray(info.path),
        })
      continue
    }
    const row = byField.get(name)
    if (!row) continue
    if (entityType === 'PERSON') {
      access.personIds.add(e.id)
      access.personFields.add(name)
    }
    out.push({
      item: catalogue.get(name)!,
      value: row.value,
      status: row.status,
      sourceCode: row.source_department,
      observedAt: row.observed_at,
      recordedAt: row.recorded_at,
      underInvestigation: open.has(name),
    })
  }
  return out
}

/** items(names:, asOf:) on every master entity. */
@Resolver(() => MasterEntity)
export class DataItemEntityResolver {
  @FieldResolver(() => [DataItemValueType], {
    description: 'Golden values of catalogue items (all the caller may see when names is omitted).',
  })
  items(
    @Root() e: EntityObject,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
    @Arg('names', () => [String], { nullable: true }) names?: string[] | null,
    @Arg('asOf', () => Date, { nullable: true }) asOf?: Date | null,
  ): Promise<ItemValue[]> {
    const kind = e.entityType === 'LEGAL_ENTITY' ? ((e.kind as string | null) ?? null) : null
    return itemValues(ctx, info, { id: e.id, entityType: e.entityType, kind, asOf: e.asOf }, names, asOf)
  }
}

@Resolver(() => DataItemValueType)
export class DataItemValueResolver {
  @FieldResolver(() => Department, { nullable: true, description: 'Department whose value is shown.' })
  source(@Root() v: ItemValue, @Ctx() ctx: Context) {
    return v.sourceCode ? ctx.loaders.department.load(v.sourceCode) : null
  }
}
