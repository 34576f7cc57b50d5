import { Arg, Ctx, FieldResolver, Resolver, Root } from 'type-graphql'
import type { Context } from '../graphql/context.js'
import { ConflictType, FieldChange, FieldProvenance, MasterEntity, SourceRecordType } from './reconciliation.types.js'
import { ConflictStatus } from '../graphql/enums.js'
import type { EntityObject } from './entity.store.js'
import { ENTITY_SPECS } from './fields.js'
import { conflictsOfEntity, fieldsUnderInvestigationAsOf } from './conflicts.store.js'
import { fieldHistory, goldenAsOf } from './history.store.js'
import { sourceRecordsOfEntity } from './source-records.store.js'

/** Provenance, history, source records and conflicts: the same for every entity type. */
@Resolver(() => MasterEntity)
export class MasterEntityResolver {
  @FieldResolver(() => [FieldProvenance], {
    description: 'Where each field value came from; `fields` limits the list.',
  })
  async provenance(
    @Root() e: EntityObject,
    @Ctx() ctx: Context,
    @Arg('fields', () => [String], { nullable: true }) fields?: string[],
  ): Promise<FieldProvenance[]> {
    const rules = await ctx.loaders.rules()
    const rows = e.asOf
      ? (await goldenAsOf(ctx.knex, e.id, e.asOf)).map((h) => ({
          field: h.field,
          value: h.newValue,
          status: h.status,
          source_department: h.sourceCode,
          source_key: null,
          observed_at: h.observedAt,
          recorded_at: h.recordedAt,
        }))
      : await ctx.loaders.golden.load(e.id)
    const open = e.asOf
      ? await fieldsUnderInvestigationAsOf(ctx.knex, e.id, e.asOf)
      : await ctx.loaders.openConflictFields.load(e.id)
    const kind = e.entityType === 'LEGAL_ENTITY' ? (e.kind as string | null) : null
    const order = ENTITY_SPECS[e.entityType].fields.map((f) => f.name)
    const rank = (field: string) => (order.includes(field) ? order.indexOf(field) : order.length)
    return (
      rows
        .filter((r) => !fields || fields.includes(r.field))
        // Core fields in registry order, then catalogue items by name.
        .sort((a, b) => rank(a.field) - rank(b.field) || a.field.localeCompare(b.field))
        .map((r) => {
          const rule = rules.ruleFor(e.entityType, r.field, kind)
          return {
            field: r.field,
            value: r.value,
            status: r.status,
            sourceCode: r.source_department,
            authorityCode: rule?.authority ?? r.source_department ?? 'STATS',
            sharingClass: rule?.sharingClass ?? 'CONDITIONAL',
            sourceKey: r.source_key,
            observedAt: r.observed_at,
            recordedAt: r.recorded_at,
            underInvestigation: open.has(r.field),
          }
        })
    )
  }

  @FieldResolver(() => [FieldChange], { description: 'Every change of the golden values, oldest first.' })
  history(
    @Root() e: EntityObject,
    @Ctx() ctx: Context,
    @Arg('field', () => String, { nullable: true }) field?: string,
  ) {
    return fieldHistory(ctx.knex, e.id, field, e.asOf)
  }

  @FieldResolver(() => [SourceRecordType])
  sourceRecords(@Root() e: EntityObject, @Ctx() ctx: Context): Promise<SourceRecordType[]> {
    return sourceRecordsOfEntity(ctx.knex, e.id)
  }

  @FieldResolver(() => [ConflictType])
  conflicts(
    @Root() e: EntityObject,
    @Ctx() ctx: Context,
    @Arg('status', () => ConflictStatus, { nullable: true }) status?: string,
  ) {
    return conflictsOfEntity(ctx.knex, e.id, status)
  }
}
