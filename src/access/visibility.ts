import type { AuthorityRule, AuthorityRules } from '../reconciliation/authority.store.js'
import type { EntityObject } from '../reconciliation/entity.store.js'
import type { Context } from '../graphql/context.js'
import type { EntityTypeName } from '../shared/entity-types.js'
import { isAnonymous } from './guards.js'
import { hasRole, type Principal } from './principal.js'
import { grantedFields } from './sharing.store.js'

/** Entity types whose UNCONDITIONAL data anonymous callers may read. */
export const PUBLIC_ENTITY_TYPES: ReadonlySet<EntityTypeName> = new Set([
  'ADMIN_DIVISION',
  'ADDRESS',
  'BUILDING',
  'PARCEL',
  'INDICATOR',
  'OBSERVATION',
])

/**
 * CONTRACT §4 as one pure function: may this caller see this field? UNCONDITIONAL: any
 * authenticated caller (anonymous: spatial and statistics types only); CONDITIONAL: the owner
 * department, STEWARD, AUDITOR, or a department holding an approved grant; NONE: the owner
 * department and STEWARD. A field without a rule is treated as NONE.
 */
export function maySee(
  p: Principal,
  entityType: EntityTypeName,
  field: string,
  rule: AuthorityRule | undefined,
  grants: ReadonlySet<string>,
): boolean {
  const sharing = rule?.sharingClass ?? 'NONE'
  if (isAnonymous(p)) return sharing === 'UNCONDITIONAL' && PUBLIC_ENTITY_TYPES.has(entityType)
  if (sharing === 'UNCONDITIONAL') return true
  const owner = !!rule && !!p.departmentCode && p.departmentCode === rule.authority
  if (sharing === 'NONE') return owner || hasRole(p, 'STEWARD')
  return owner || hasRole(p, 'STEWARD', 'AUDITOR') || grants.has(`${entityType}|${field}`)
}

/** Per-request access state, beside the context (the context type stays the shared one). */
export interface AccessState {
  grants?: Promise<ReadonlySet<string>>
  /** Person ids and the Person fields read, for the access log. */
  personIds: Set<string>
  personFields: Set<string>
  /** A lookup of person keys ran: logged even when it found nobody or selected only `status`. */
  personLookup: boolean
  /** FORBIDDEN_FIELD entries of non-null fields (answered empty), appended to the response. */
  extraErrors: { message: string; path: (string | number)[] }[]
  /** Decisions made in this request, by `ENTITY_TYPE|field|kind` (a page of 500 persons asks the same few). */
  decisions: Map<string, boolean>
  /** The request's rules and grants once loaded: later decisions are made without awaiting. */
  rules?: AuthorityRules
  resolvedGrants?: ReadonlySet<string>
}

const states = new WeakMap<object, AccessState>()

/** The access state of a request, created on first use. */
export function accessState(ctx: object): AccessState {
  let s = states.get(ctx)
  if (!s)
    states.set(
      ctx,
      (s = {
        personIds: new Set(),
        personFields: new Set(),
        personLookup: false,
        extraErrors: [],
        decisions: new Map(),
      }),
    )
  return s
}

/** The caller's granted fields, loaded once per request. */
export function grantsOf(ctx: Context): Promise<ReadonlySet<string>> {
  const s = accessState(ctx)
  const dept = ctx.principal.departmentCode
  return (s.grants ??= dept ? grantedFields(ctx.knex, dept) : Promise.resolve(new Set<string>()))
}

/**
 * maySee with the request's rules and grants, synchronously when it can: the decision made earlier
 * in this request, or made now once the request's rules and grants are loaded. A promise only for
 * the request's first decisions (while rules and grants load). `key` is `ENTITY_TYPE|field|kind`.
 */
export function decide(
  ctx: Context,
  entityType: EntityTypeName,
  field: string,
  kind: string | null,
  key: string,
): boolean | Promise<boolean> {
  const s = accessState(ctx)
  const known = s.decisions.get(key)
  if (known !== undefined) return known
  if (s.rules && s.resolvedGrants) {
    const decision = maySee(
      ctx.principal,
      entityType,
      field,
      s.rules.ruleFor(entityType, field, kind),
      s.resolvedGrants,
    )
    s.decisions.set(key, decision)
    return decision
  }
  return Promise.all([ctx.loaders.rules(), grantsOf(ctx)]).then(([rules, grants]) => {
    s.rules = rules
    s.resolvedGrants = grants
    return decide(ctx, entityType, field, kind, key)
  })
}

/** maySee with the request's rules and grants. */
export async function canSee(
  ctx: Context,
  entityType: EntityTypeName,
  field: string,
  kind?: string | null,
): Promise<boolean> {
  return decide(ctx, entityType, field, kind ?? null, `${entityType}|${field}|${kind ?? ''}`)
}

/**
 * Lists leave the deceased out unless the caller may see deathDate (filter includeDeceased), so
 * reaching a person by id (person, personsByIdNumbers, entity, legalRepresentative) does the same:
 * true when the entity is a deceased person this caller may not know is deceased, who is then
 * answered as not found — "found by id but missing from lists" would tell the death.
 */
export async function hiddenAsDeceased(ctx: Context, entity: EntityObject | null | undefined): Promise<boolean> {
  if (!entity?.deathDate) return false
  return !(await canSee(ctx, 'PERSON', 'deathDate'))
}
