import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql'
import { ConflictType, MasterEntity } from './reconciliation.types.js'
import type { Context } from '../graphql/context.js'
import { ConflictDecision } from '../graphql/enums.js'
import { JSONScalar } from '../graphql/scalars.js'
import { withTransaction } from '../db/transaction.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { badInput, unauthenticated } from '../shared/errors.js'
import { checkId } from '../shared/ids.js'
import { setAuthorityRule } from './authority.service.js'
import { loadAuthorityRules } from './authority.store.js'
import { loadEntityTypes } from './entity.store.js'
import { reportSuspectedError, resolveConflict } from './conflicts.service.js'
import { mergeEntitiesTx, unmergeEntityTx } from './merge.service.js'
import { AuthorityRuleInput, AuthorityRuleType } from './reconciliation.types.js'
import { checkReason, requireRole } from './steward.guard.js'

const actorOf = (ctx: Context) => ({
  principalId: ctx.principal.id,
  departmentCode: ctx.principal.departmentCode,
})

/** Steward decisions, error reports, merges and the authority table: the writes besides submissions. */
@Resolver()
export class StewardResolver {
  @Mutation(() => ConflictType, {
    description:
      'STEWARD: settles an open conflict, audited with the reason. VALUE_MISMATCH and ERROR_REPORT take KEEP_AUTHORITATIVE ' +
      '(dismisses the candidates), ACCEPT_CANDIDATE (value = the department code of the candidate to accept, or the candidate value ' +
      'itself; may be omitted when there is one candidate; an error report accepts its suggested value) or SET_VALUE (value = the new ' +
      'value, validated like a submitted attribute). Both set a STEWARD_OVERRIDE value that stands until the authority submits a newer ' +
      'claim. POSSIBLE_DUPLICATE takes MERGE (value = optional survivor id; default the entity that was there first) or NOT_DUPLICATE ' +
      '(the pair is not raised again).',
  })
  async resolveConflict(
    @Ctx() ctx: Context,
    @Arg('id', () => ID) id: string,
    @Arg('decision', () => ConflictDecision) decision: string,
    @Arg('reason', () => String) reason: string,
    @Arg('value', () => JSONScalar, { nullable: true }) value?: unknown,
  ): Promise<ConflictType> {
    requireRole(ctx.principal, 'STEWARD')
    const conflictId = checkId(id)
    const why = checkReason(reason)
    const resolved = await resolveConflict(
      ctx.knex,
      actorOf(ctx),
      { id: conflictId, decision, value, reason: why },
      { extent: ctx.config.extent, maxGeometryVertices: ctx.config.maxGeometryVertices },
    )
    return resolved
  }

  @Mutation(() => ConflictType, {
    description:
      "Any department flags a field value it doubts: opens an ERROR_REPORT for the field's authority " +
      '(its provenance shows underInvestigation until a steward settles it). suggestedValue is validated like a submitted attribute.',
  })
  async reportSuspectedError(
    @Ctx() ctx: Context,
    @Arg('entityId', () => ID) entityId: string,
    @Arg('field', () => String) field: string,
    @Arg('note', () => String) note: string,
    @Arg('suggestedValue', () => JSONScalar, { nullable: true }) suggestedValue?: unknown,
  ): Promise<ConflictType> {
    const p = ctx.principal
    if (!p.roles.length) throw unauthenticated()
    if (!p.departmentCode && !p.roles.includes('STEWARD'))
      throw badInput('only a department or a steward may report an error', 'entityId')
    const id = checkId(entityId, 'entityId')
    const why = checkReason(note, 'note')
    return reportSuspectedError(
      ctx.knex,
      actorOf(ctx),
      { entityId: id, field, suggestedValue, note: why },
      { extent: ctx.config.extent, maxGeometryVertices: ctx.config.maxGeometryVertices },
    )
  }

  @Mutation(() => MasterEntity, {
    description:
      'STEWARD: merges mergedId into survivorId (records and claims move; reversible with unmergeEntity). Returns the survivor.',
  })
  async mergeEntities(
    @Ctx() ctx: Context,
    @Arg('survivorId', () => ID) survivorId: string,
    @Arg('mergedId', () => ID) mergedId: string,
    @Arg('reason', () => String) reason: string,
  ) {
    requireRole(ctx.principal, 'STEWARD')
    const survivor = checkId(survivorId, 'survivorId')
    const merged = checkId(mergedId, 'mergedId')
    const why = checkReason(reason)
    const row = await withTransaction(
      ctx.knex,
      {
        operation: 'mergeEntities',
        principalId: ctx.principal.id,
        departmentCode: ctx.principal.departmentCode,
        reason: why,
      },
      async (tx) =>
        mergeEntitiesTx(
          tx,
          await loadAuthorityRules(tx.trx),
          { principalId: ctx.principal.id, reason: why },
          survivor,
          merged,
        ),
    )
    return ctx.loaders.entity[row.entity_type].load(survivor)
  }

  @Mutation(() => [MasterEntity], {
    description:
      'STEWARD: moves the given source records (and their claims) off an entity, back to the entity they were merged away ' +
      'from (re-activated) or to a new one; returns both entities, the given one first.',
  })
  async unmergeEntity(
    @Ctx() ctx: Context,
    @Arg('entityId', () => ID) entityId: string,
    @Arg('sourceRecordIds', () => [ID]) sourceRecordIds: string[],
    @Arg('reason', () => String) reason: string,
  ) {
    requireRole(ctx.principal, 'STEWARD')
    const id = checkId(entityId, 'entityId')
    const records = sourceRecordIds.map((r) => checkId(r, 'sourceRecordIds'))
    const why = checkReason(reason)
    const { type, ids } = await withTransaction(
      ctx.knex,
      {
        operation: 'unmergeEntity',
        principalId: ctx.principal.id,
        departmentCode: ctx.principal.departmentCode,
        reason: why,
      },
      async (tx) => {
        const ids = await unmergeEntityTx(
          tx,
          await loadAuthorityRules(tx.trx),
          { principalId: ctx.principal.id, reason: why },
          id,
          records,
        )
        const [type] = await loadEntityTypes(tx.trx, [id])
        return { type: type as EntityTypeName, ids }
      },
    )
    return (await ctx.loaders.entity[type].loadMany(ids)).filter((e) => e && !(e instanceof Error))
  }

  @Mutation(() => AuthorityRuleType, {
    description: 'ADMIN: sets who owns a field (and who may stand in); golden values are re-decided at once.',
  })
  async setAuthorityRule(
    @Ctx() ctx: Context,
    @Arg('input', () => AuthorityRuleInput) input: AuthorityRuleInput,
  ): Promise<AuthorityRuleType> {
    requireRole(ctx.principal, 'ADMIN')
    const r = await setAuthorityRule(ctx.knex, actorOf(ctx), {
      ...input,
      entityType: input.entityType as EntityTypeName,
    })
    return {
      entityType: r.entity_type,
      field: r.field,
      entityKind: r.entity_kind || null,
      authorityCode: r.authority,
      fallbackCodes: r.fallbacks,
      sharingClass: r.sharing_class,
    }
  }
}
