import { GraphQLError } from 'graphql'
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql'
import { requireAuthenticated } from '../access/guards.js'
import type { Context } from '../graphql/context.js'
import { Department, PrincipalType } from '../access/access.types.js'
import { MasterEntity } from '../reconciliation/reconciliation.types.js'
import { decodeCursor, decodeSequenceCursor, encodeCursor, Page, pageSize } from '../graphql/pagination.js'
import { JSONScalar } from '../graphql/scalars.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { badInput } from '../shared/errors.js'
import { UUID } from '../shared/ids.js'
import { runnerFor } from './cross-check.runner.js'
import {
  createCrossCheck,
  crossCheckStatistics,
  decideCrossCheckHit,
  type EvidenceViewer,
  evidenceViewer,
  getCrossCheck,
  logCrossCheckRead,
  maySeeCheck,
  personsInHits,
  requireType,
  showEvidence,
} from './cross-check.service.js'
import {
  countHits,
  type DbCrossCheckHitRow,
  type DbCrossCheckRow,
  type DbCrossCheckTypeRow,
  decisionCounts,
  findCheck,
  findType,
  countChecks,
  listChecks,
  listHits,
  listTypes,
} from './cross-check.store.js'
import {
  CrossCheck,
  CrossCheckConnection,
  CrossCheckEvidence,
  CrossCheckHit,
  CrossCheckHitConnection,
  CrossCheckPeriodStatistics,
  CrossCheckRule,
  CrossCheckType,
  HitDecision,
  StartCrossCheckInput,
} from './cross-check.type.js'
import { ruleFields } from './predicates.js'

// Mapping only: rows → GraphQL objects. Rules of visibility and decisions live in the service.

function toType(t: DbCrossCheckTypeRow): CrossCheckType {
  return {
    code: t.code,
    name: t.name,
    description: t.description,
    subjectType: t.subject_type,
    ownerCode: t.owner_code,
    rules: t.rules.map((r) => toRule(t, r.code)),
  }
}

function toRule(t: DbCrossCheckTypeRow, code: string): CrossCheckRule {
  const r = t.rules.find((x) => x.code === code)
  // A rule removed from the type after the check ran: still named, no longer described.
  if (!r) return { code, description: '(rule no longer part of the type)', fields: [] }
  return { code: r.code, description: r.description, fields: ruleFields(t.subject_type, r.predicate) }
}

function toCheck(c: DbCrossCheckRow): CrossCheck {
  return {
    id: c.id,
    typeCode: c.type_code,
    requestedById: c.requested_by,
    asOf: c.as_of,
    status: c.status,
    subjectCount: c.subject_count,
    checkedCount: c.checked_count,
    invalidCount: c.invalid_count,
    notFoundCount: c.not_found_count,
    hitSubjectCount: c.hit_subject_count,
    createdAt: c.created_at,
    finishedAt: c.finished_at,
    error: c.error,
  }
}

function toHit(type: DbCrossCheckTypeRow, viewer: EvidenceViewer, h: DbCrossCheckHitRow): CrossCheckHit {
  return {
    id: String(h.id),
    subjectKey: h.subject_key,
    subjectRef: h.subject_ref,
    rule: toRule(type, h.rule_code),
    evidence: showEvidence(viewer, h.evidence).map((e) => ({
      field: `${e.entityType}.${e.field}`,
      shown: e,
      observedAt: e.observedAt,
    })),
    decision: h.decision,
    decidedAt: h.decided_at,
    decidedById: h.decided_by,
    reason: h.reason,
  }
}

// Per-request memo of types and the reader's visibility (one page of hits asks the same ones).
const memo = new WeakMap<
  object,
  { types: Map<string, Promise<DbCrossCheckTypeRow | undefined>>; viewer?: Promise<EvidenceViewer> }
>()
function requestMemo(ctx: Context) {
  let m = memo.get(ctx)
  if (!m) memo.set(ctx, (m = { types: new Map() }))
  return m
}
async function typeOf(ctx: Context, code: string): Promise<DbCrossCheckTypeRow> {
  const m = requestMemo(ctx)
  let t = m.types.get(code)
  if (!t) m.types.set(code, (t = findType(ctx.knex, code)))
  const type = await t
  if (!type) throw new Error(`cross-check type ${code} is missing`)
  return type
}
function viewerOf(ctx: Context): Promise<EvidenceViewer> {
  const m = requestMemo(ctx)
  return (m.viewer ??= evidenceViewer(ctx.knex, ctx.principal))
}

const principalOrUnknown = (id: string, p: Awaited<ReturnType<Context['loaders']['principal']['load']>>) =>
  p ?? { id, name: '(revoked or unknown principal)', departmentCode: null, roles: [] }

@Resolver()
export class CrossCheckResolver {
  @Query(() => [CrossCheckType], { description: 'Cross-check types (协查比对): subject type, owner, rules.' })
  async crossCheckTypes(@Ctx() ctx: Context) {
    requireAuthenticated(ctx)
    return (await listTypes(ctx.knex)).map(toType)
  }

  @Query(() => CrossCheck, { nullable: true, description: 'A check the caller may see; null otherwise.' })
  async crossCheck(@Ctx() ctx: Context, @Arg('id', () => ID) id: string) {
    requireAuthenticated(ctx)
    if (!UUID.test(id)) return null
    const c = await getCrossCheck(ctx.knex, ctx.principal, id)
    return c ? toCheck(c) : null
  }

  @Query(() => CrossCheckConnection, {
    description: 'Checks the caller may see, newest first (a department: its own; stewards, admins, auditors: all).',
  })
  async crossChecks(
    @Ctx() ctx: Context,
    @Arg('type', () => ID, { nullable: true }) type: string | null,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ) {
    const p = requireAuthenticated(ctx)
    if (type) await requireType(ctx.knex, type, 'type')
    const n = pageSize(first)
    const key = decodeCursor(after)
    if (key && (key.length !== 2 || typeof key[0] !== 'string' || typeof key[1] !== 'string' || !UUID.test(key[1])))
      throw badInput('after is not a cursor this service issued', 'after')
    const all = p.roles.some((r) => r === 'STEWARD' || r === 'ADMIN' || r === 'AUDITOR')
    const filter = { typeCode: type ?? undefined, departmentCode: p.departmentCode, requestedBy: p.id, all }
    const { rows, hasNextPage } = await listChecks(
      ctx.knex,
      filter,
      n,
      key ? { createdAt: key[0] as string, id: key[1] as string } : null,
    )
    return new CrossCheckConnection(
      new Page(
        rows.map(toCheck),
        hasNextPage,
        (c) => encodeCursor([c.createdAt.toISOString(), c.id]),
        () => countChecks(ctx.knex, filter),
      ),
    )
  }

  @Query(() => [CrossCheckPeriodStatistics], {
    description: 'Monthly figures (month of asOf, YYYY-MM) of finished checks, per type.',
  })
  async crossCheckStatistics(
    @Ctx() ctx: Context,
    @Arg('type', () => ID, { nullable: true }) type: string | null,
    @Arg('from', () => String, { nullable: true }) from: string | null,
    @Arg('to', () => String, { nullable: true }) to: string | null,
  ) {
    const rows = await crossCheckStatistics(ctx.knex, ctx.principal, { type, from, to })
    return rows.map((r) => ({
      period: r.period,
      typeCode: r.type_code,
      subjects: r.subjects,
      hitSubjects: r.hit_subjects,
      confirmedSubjects: r.confirmed_subjects,
    }))
  }

  @Mutation(() => CrossCheck, {
    description:
      'Starts a cross-check of up to 10,000 subjects in the background (status QUEUED → RUNNING → DONE/FAILED). The owner department, stewards and admins may start a type.',
  })
  async startCrossCheck(@Ctx() ctx: Context, @Arg('input', () => StartCrossCheckInput) input: StartCrossCheckInput) {
    const c = await createCrossCheck(ctx.knex, ctx.principal, {
      type: input.type,
      asOf: input.asOf ?? null,
      purpose: ctx.purpose,
      subjects: input.subjects.map((s) => ({
        key: s.key,
        ref: s.ref ?? null,
        since: s.since ? s.since.toISOString().slice(0, 10) : null,
      })),
    })
    runnerFor(ctx.knex)?.kick(c.id)
    return toCheck(c)
  }

  @Mutation(() => CrossCheckHit, { description: 'Decides a hit: CONFIRMED or DISMISSED, with a reason (audited).' })
  async decideCrossCheckHit(
    @Ctx() ctx: Context,
    @Arg('id', () => ID) id: string,
    @Arg('decision', () => HitDecision) decision: string,
    @Arg('reason', () => String) reason: string,
  ) {
    const hit = await decideCrossCheckHit(ctx.knex, ctx.principal, { id, decision, reason })
    const check = (await findCheck(ctx.knex, hit.check_id))!
    return toHit(await typeOf(ctx, check.type_code), await viewerOf(ctx), hit)
  }
}

@Resolver(() => CrossCheckType)
export class CrossCheckTypeFieldsResolver {
  @FieldResolver(() => Department, {
    description: 'The department whose apps may start it (stewards and admins may too).',
  })
  async owner(@Root() t: CrossCheckType, @Ctx() ctx: Context) {
    return (await ctx.loaders.department.load(t.ownerCode)) ?? { code: t.ownerCode, name: t.ownerCode }
  }
}

@Resolver(() => CrossCheck)
export class CrossCheckFieldsResolver {
  @FieldResolver(() => CrossCheckType)
  async type(@Root() c: CrossCheck, @Ctx() ctx: Context) {
    return toType(await typeOf(ctx, c.typeCode))
  }

  @FieldResolver(() => PrincipalType)
  async requestedBy(@Root() c: CrossCheck, @Ctx() ctx: Context) {
    return principalOrUnknown(c.requestedById, await ctx.loaders.principal.load(c.requestedById))
  }

  @FieldResolver(() => Int, { description: 'Hits confirmed.' })
  async confirmedCount(@Root() c: CrossCheck, @Ctx() ctx: Context) {
    return (await decisionCounts(ctx.knex, [c.id])).get(c.id)?.confirmed ?? 0
  }

  @FieldResolver(() => Int, { description: 'Hits dismissed.' })
  async dismissedCount(@Root() c: CrossCheck, @Ctx() ctx: Context) {
    return (await decisionCounts(ctx.knex, [c.id])).get(c.id)?.dismissed ?? 0
  }

  @FieldResolver(() => CrossCheckHitConnection, {
    description:
      "Hits in order, evidence masked or withheld by the caller's access rules; every read is written to the access log with X-Purpose.",
  })
  async hits(
    @Root() c: CrossCheck,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('decision', () => HitDecision, { nullable: true }) decision: string | null,
  ) {
    const n = pageSize(first)
    const afterId = decodeSequenceCursor(after)
    const check = await findCheck(ctx.knex, c.id)
    if (!check || !maySeeCheck(ctx.principal, check)) throw badInput('no such cross-check', 'id')
    const type = await typeOf(ctx, check.type_code)
    const { rows, hasNextPage } = await listHits(ctx.knex, c.id, decision, n, afterId)
    if (rows.length) {
      const { personIds, fields } = personsInHits(type, rows)
      await logCrossCheckRead(ctx.knex, {
        principalId: ctx.principal.id,
        purpose: ctx.purpose,
        operation: `crossCheck.hits ${check.type_code} ${check.id}`,
        personIds,
        fields,
      })
    }
    const viewer = await viewerOf(ctx)
    return new CrossCheckHitConnection(
      new Page(
        rows.map((h) => toHit(type, viewer, h)),
        hasNextPage,
        (h) => encodeCursor([Number(h.id)]),
        () => countHits(ctx.knex, c.id, decision),
      ),
    )
  }
}

@Resolver(() => CrossCheckHit)
export class CrossCheckHitFieldsResolver {
  @FieldResolver(() => PrincipalType, { nullable: true })
  async decidedBy(@Root() h: CrossCheckHit, @Ctx() ctx: Context) {
    return h.decidedById ? principalOrUnknown(h.decidedById, await ctx.loaders.principal.load(h.decidedById)) : null
  }
}

@Resolver(() => CrossCheckEvidence)
export class CrossCheckEvidenceFieldsResolver {
  @FieldResolver(() => JSONScalar, {
    nullable: true,
    description: "The value, masked or withheld as the requester's access rules say.",
  })
  value(@Root() e: CrossCheckEvidence) {
    if (e.shown.withheld)
      throw new GraphQLError(`The caller may not see ${e.shown.entityType}.${e.shown.field}; ask for a sharing grant`, {
        extensions: { code: 'FORBIDDEN_FIELD', entityType: e.shown.entityType, field: e.shown.field },
      })
    return e.shown.value
  }

  @FieldResolver(() => Department, { nullable: true })
  async source(@Root() e: CrossCheckEvidence, @Ctx() ctx: Context) {
    return e.shown.source ? ctx.loaders.department.load(e.shown.source) : null
  }

  @FieldResolver(() => MasterEntity, {
    nullable: true,
    description: 'The related entity, e.g. the legal entity a subject represents.',
  })
  async entity(@Root() e: CrossCheckEvidence, @Ctx() ctx: Context) {
    const id = e.shown.entityId
    return id && UUID.test(id) ? ctx.loaders.entity[e.shown.entityType as EntityTypeName].load(id) : null
  }
}

@Resolver(() => CrossCheckPeriodStatistics)
export class CrossCheckPeriodStatisticsFieldsResolver {
  @FieldResolver(() => CrossCheckType)
  async type(@Root() s: CrossCheckPeriodStatistics, @Ctx() ctx: Context) {
    return toType(await typeOf(ctx, s.typeCode))
  }
}

export const CROSS_CHECK_RESOLVERS = [
  CrossCheckResolver,
  CrossCheckTypeFieldsResolver,
  CrossCheckFieldsResolver,
  CrossCheckHitFieldsResolver,
  CrossCheckEvidenceFieldsResolver,
  CrossCheckPeriodStatisticsFieldsResolver,
] as const
