import {
  defaultFieldResolver,
  GraphQLError,
  getNullableType,
  isListType,
  isNonNullType,
  isObjectType,
  responsePathAsArray,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql'
import type { Context } from '../graphql/context.js'
import { Page } from '../graphql/pagination.js'
import { ENTITY_SPECS, fieldForAttribute } from '../reconciliation/fields.js'
import { maskIdNumber } from '../reconciliation/rules/id-number.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import { unauthenticated } from '../shared/errors.js'
import { isAnonymous } from './guards.js'
import { checkStorableArgs, PER_RECORD_FIELDS } from './input-safety.js'
import { accessState, canSee, decide } from './visibility.js'

/**
 * The one place field-level sharing is enforced (CONTRACT §4): applyFieldAccess wraps, once at
 * schema build, the resolver of every field that shows a registry field. A field the caller may not see
 * resolves to null with a FORBIDDEN_FIELD error (Person.idNumber is masked instead); values of
 * hidden fields are also blanked in provenance, history, change feed, source records and
 * conflicts; filtering on a hidden field is refused; reads of person data are noted for the
 * access log.
 */

interface Target {
  entityType: EntityTypeName
  field: string
}

const TYPE_TO_ENTITY = new Map<string, EntityTypeName>(ENTITY_TYPES.map((t) => [ENTITY_SPECS[t].typeName, t]))

// GraphQL field → registry field: every registry field under its own name, plus links that
// reveal a field of another entity.
const FIELD_TARGETS = new Map<string, Target>()
for (const t of ENTITY_TYPES)
  for (const f of ENTITY_SPECS[t].fields)
    FIELD_TARGETS.set(`${ENTITY_SPECS[t].typeName}.${f.name}`, { entityType: t, field: f.name })
FIELD_TARGETS.set('LegalEntity.employees', { entityType: 'LEGAL_ENTITY', field: 'employees' })
FIELD_TARGETS.set('Person.representativeOf', { entityType: 'LEGAL_ENTITY', field: 'legalRepresentative' })
FIELD_TARGETS.set('Address.residents', { entityType: 'PERSON', field: 'residenceAddress' })

// Filter arguments → the field whose value they reveal.
const FILTER_TARGETS: Record<string, { entityType: EntityTypeName; fields: Record<string, string> }> = {
  persons: {
    entityType: 'PERSON',
    fields: {
      nameContains: 'name',
      gender: 'gender',
      birthDateFrom: 'birthDate',
      birthDateTo: 'birthDate',
      employmentStatus: 'employmentStatus',
      residenceDivisionCode: 'residenceAddress',
      residenceWithin: 'residenceAddress',
      residenceNear: 'residenceAddress',
      householdDivisionCode: 'householdAddress',
      employerId: 'employer',
      includeDeceased: 'deathDate',
    },
  },
  legalEntities: {
    entityType: 'LEGAL_ENTITY',
    fields: {
      nameContains: 'name',
      kind: 'kind',
      status: 'status',
      industryCodePrefix: 'industryCode',
      divisionCode: 'registeredAddress',
      within: 'registeredAddress',
      near: 'registeredAddress',
      legalRepresentativeId: 'legalRepresentative',
    },
  },
}

// Root fields anonymous callers may not use: everything about persons, legal entities and the
// reconciliation workbench. The rest (spatial, statistics, catalogue) is public.
const PRIVATE_ROOT_FIELDS = new Set([
  'person',
  'persons',
  'personsByIdNumbers',
  'legalEntity',
  'legalEntities',
  'legalEntitiesByCreditCodes',
  'entity',
  'sourceRecord',
  'conflict',
  'conflicts',
  'changes',
  'sharingGrants',
  'accessLog',
])

// Master-entity fields that carry values of other fields (blanked per entry below).
const PROVENANCE_FIELDS = new Set(['provenance', 'history', 'sourceRecords', 'conflicts'])

function forbiddenField(entityType: string, field: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(`The caller may not see ${entityType}.${field}; ask for a sharing grant`, {
    extensions: { code: 'FORBIDDEN_FIELD', entityType, field, ...extra },
  })
}

/** An empty answer of a non-null field's type (list or connection). */
function emptyValue(info: GraphQLResolveInfo): unknown {
  const type = getNullableType(info.returnType)
  if (isListType(type)) return []
  // A connection class reads its items from `page`; type-graphql copies these props onto an instance.
  return {
    page: new Page(
      [],
      false,
      () => '',
      async () => 0,
    ),
  }
}

function entityKind(entityType: EntityTypeName, root: Record<string, unknown>): string | null {
  return entityType === 'LEGAL_ENTITY' ? ((root.kind as string | null) ?? null) : null
}

// Lookups by a natural key answer whether the key exists. A caller who may not see that key
// field could otherwise rebuild a masked ID number (330111********3944: a few thousand
// candidate birth dates × sequence numbers pass the check character) by asking which candidate
// is FOUND. So looking up by a key needs the right to see the key (docs/security.md).
const KEY_LOOKUPS: Record<string, { entityType: EntityTypeName; field: string; argument: string }> = {
  personsByIdNumbers: { entityType: 'PERSON', field: 'idNumber', argument: 'idNumbers' },
  person: { entityType: 'PERSON', field: 'idNumber', argument: 'idNumber' },
  legalEntitiesByCreditCodes: { entityType: 'LEGAL_ENTITY', field: 'creditCode', argument: 'creditCodes' },
  legalEntity: { entityType: 'LEGAL_ENTITY', field: 'creditCode', argument: 'creditCode' },
}

async function checkRootField(ctx: Context, info: GraphQLResolveInfo, args: Record<string, unknown>): Promise<void> {
  if (info.parentType.name === 'Mutation') {
    if (isAnonymous(ctx.principal)) throw unauthenticated()
    return
  }
  if (isAnonymous(ctx.principal) && PRIVATE_ROOT_FIELDS.has(info.fieldName)) throw unauthenticated()
  const lookup = KEY_LOOKUPS[info.fieldName]
  if (
    lookup &&
    args[lookup.argument] !== undefined &&
    args[lookup.argument] !== null &&
    !(await canSee(ctx, lookup.entityType, lookup.field))
  )
    throw forbiddenField(lookup.entityType, lookup.field, { argument: lookup.argument })
  const filterSpec = FILTER_TARGETS[info.fieldName]
  const filter = args.filter as Record<string, unknown> | null | undefined
  if (!filterSpec || !filter) return
  for (const [arg, value] of Object.entries(filter)) {
    const field = filterSpec.fields[arg]
    if (!field || value === null || value === undefined || value === false) continue
    if (!(await canSee(ctx, filterSpec.entityType, field)))
      throw forbiddenField(filterSpec.entityType, field, { argument: `filter.${arg}` })
  }
}

/** Blanks, in place, values of fields the caller may not see in provenance entries. */
async function blankProvenance(
  ctx: Context,
  entityType: EntityTypeName,
  kind: string | null,
  entries: { field: string; value: unknown }[],
) {
  for (const e of entries) {
    if (await canSee(ctx, entityType, e.field, kind)) continue
    e.value = e.field === 'idNumber' && typeof e.value === 'string' ? maskIdNumber(e.value) : null
  }
  return entries
}

/** The value-blanking checks of the less travelled fields (provenance, history, source records, conflicts). */
async function blankValues(
  root: unknown,
  ctx: Context,
  info: GraphQLResolveInfo,
  next: () => unknown,
): Promise<unknown> {
  const parent = info.parentType.name
  const rootObj = (root ?? {}) as Record<string, unknown>
  const entityType = TYPE_TO_ENTITY.get(parent)
  if (entityType && info.fieldName === 'provenance') {
    return blankProvenance(
      ctx,
      entityType,
      entityKind(entityType, rootObj),
      (await next()) as { field: string; value: unknown }[],
    )
  }
  if (
    (parent === 'FieldChange' || parent === 'Change') &&
    (info.fieldName === 'oldValue' || info.fieldName === 'newValue')
  ) {
    const value = await next()
    const et = rootObj.entityType as EntityTypeName
    if (await canSee(ctx, et, rootObj.field as string)) return value
    return rootObj.field === 'idNumber' && typeof value === 'string' ? maskIdNumber(value) : null
  }
  if (parent === 'SourceRecord' && info.fieldName === 'attributes') {
    const value = (await next()) as Record<string, unknown> | null
    // A department sees everything it submitted itself.
    if (
      !value ||
      typeof value !== 'object' ||
      (ctx.principal.departmentCode && rootObj.departmentCode === ctx.principal.departmentCode)
    )
      return value
    const et = rootObj.entityType as EntityTypeName
    const shown: Record<string, unknown> = {}
    for (const [name, v] of Object.entries(value)) {
      // A catalogue item is its own name; it is shown under its sharing class like any field.
      const field = fieldForAttribute(et, name)?.name ?? name
      if (await canSee(ctx, et, field)) shown[name] = v
      else if (field === 'idNumber' && typeof v === 'string') shown[name] = maskIdNumber(v)
    }
    return shown
  }
  if (
    parent === 'Conflict' &&
    (info.fieldName === 'currentValue' || info.fieldName === 'candidates' || info.fieldName === 'suggestedValue')
  ) {
    const value = await next()
    const et = rootObj.entityType as EntityTypeName
    const field = rootObj.field as string | null
    if (!field || (await canSee(ctx, et, field))) return value
    // The reporter of a suspected error sees its own suggestion.
    if (
      info.fieldName === 'suggestedValue' &&
      ctx.principal.departmentCode &&
      rootObj.reportedByCode === ctx.principal.departmentCode
    )
      return value
    if (info.fieldName === 'candidates')
      return (value as { departmentCode: string; value: unknown }[]).map((c) =>
        c.departmentCode === ctx.principal.departmentCode ? c : { ...c, value: null },
      )
    return null
  }
  return next()
}

function isBlanked(parent: string, field: string): boolean {
  return (
    (TYPE_TO_ENTITY.has(parent) && field === 'provenance') ||
    ((parent === 'FieldChange' || parent === 'Change') && (field === 'oldValue' || field === 'newValue')) ||
    (parent === 'SourceRecord' && field === 'attributes') ||
    (parent === 'Conflict' && (field === 'currentValue' || field === 'candidates' || field === 'suggestedValue'))
  )
}

const isPromise = (v: unknown): v is PromiseLike<unknown> => !!v && typeof (v as { then?: unknown }).then === 'function'

/**
 * Installs field-level sharing into a built schema: each field's resolver is wrapped once, at
 * build time, with only the checks that field needs (decided from its type and name here, not on
 * every call), so the fields that show no registry value run their resolver unwrapped. Decisions
 * are made once per (type, field, kind) per request and synchronously once the request's rules
 * and grants are loaded (decide in ./visibility.ts). Arguments of every field with arguments pass
 * the input-safety check first (./input-safety.ts).
 */
export function applyFieldAccess(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue
    const parent = type.name
    const isRoot = parent === 'Query' || parent === 'Mutation' || parent === 'Subscription'
    for (const field of Object.values(type.getFields())) {
      const resolve: GraphQLFieldResolver<unknown, Context> = field.resolve ?? defaultFieldResolver
      const hasArgs = field.args.length > 0
      const checkArgs = hasArgs && !PER_RECORD_FIELDS.has(field.name)
      let wrapped: GraphQLFieldResolver<unknown, Context> | undefined
      if (isRoot) {
        wrapped = (root, args, ctx, info) => {
          if (checkArgs) checkStorableArgs(args)
          return checkRootField(ctx, info, args).then(() => resolve(root, args, ctx, info))
        }
      } else {
        const target = FIELD_TARGETS.get(`${parent}.${field.name}`)
        const logsPerson = parent === 'Person' && (!!target || PROVENANCE_FIELDS.has(field.name))
        const blanked = isBlanked(parent, field.name)
        if (target) {
          const byKind = parent === 'LegalEntity'
          const staticKey = `${target.entityType}|${target.field}|`
          const masks = parent === 'Person' && field.name === 'idNumber'
          const nonNull = isNonNullType(field.type)
          const denied = (root: unknown, args: Record<string, unknown>, ctx: Context, info: GraphQLResolveInfo) => {
            if (masks) {
              const value = resolve(root, args, ctx, info)
              const mask = (v: unknown) => (typeof v === 'string' ? maskIdNumber(v) : null)
              return isPromise(value) ? Promise.resolve(value).then(mask) : mask(value)
            }
            const error = forbiddenField(target.entityType, target.field)
            if (!nonNull) throw error
            accessState(ctx).extraErrors.push({ message: error.message, path: responsePathAsArray(info.path) })
            return emptyValue(info)
          }
          wrapped = (root, args, ctx, info) => {
            if (checkArgs) checkStorableArgs(args)
            const rootObj = (root ?? {}) as Record<string, unknown>
            if (logsPerson && typeof rootObj.id === 'string') {
              const s = accessState(ctx)
              s.personIds.add(rootObj.id)
              s.personFields.add(field.name)
            }
            const kind = byKind ? entityKind('LEGAL_ENTITY', rootObj) : null
            const d = decide(ctx, target.entityType, target.field, kind, kind ? staticKey + kind : staticKey)
            if (d === true) return resolve(root, args, ctx, info)
            if (d === false) return denied(root, args, ctx, info)
            return d.then((ok) => (ok ? resolve(root, args, ctx, info) : denied(root, args, ctx, info)))
          }
        } else if (logsPerson || blanked) {
          wrapped = (root, args, ctx, info) => {
            if (checkArgs) checkStorableArgs(args)
            const rootObj = (root ?? {}) as Record<string, unknown>
            if (logsPerson && typeof rootObj.id === 'string') {
              const s = accessState(ctx)
              s.personIds.add(rootObj.id)
              s.personFields.add(field.name)
            }
            return blanked
              ? blankValues(root, ctx, info, () => resolve(root, args, ctx, info))
              : resolve(root, args, ctx, info)
          }
        } else if (checkArgs) {
          wrapped = (root, args, ctx, info) => {
            checkStorableArgs(args)
            return resolve(root, args, ctx, info)
          }
        }
      }
      if (wrapped) field.resolve = wrapped
    }
  }
}
