import {
  GraphQLError,
  getNullableType,
  isListType,
  isNonNullType,
  responsePathAsArray,
  type GraphQLResolveInfo,
} from 'graphql'
import type { MiddlewareFn } from 'type-graphql'
import type { Context } from '../graphql/context.js'
import { Page } from '../graphql/pagination.js'
import { ENTITY_SPECS, fieldForAttribute } from '../reconciliation/fields.js'
import { maskIdNumber } from '../reconciliation/rules/id-number.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import { unauthenticated } from '../shared/errors.js'
import { isAnonymous } from './guards.js'
import { accessState, canSee } from './visibility.js'

/**
 * The one place field-level sharing is enforced (CONTRACT §4): a type-graphql global middleware
 * that knows which GraphQL field shows which registry field. A field the caller may not see
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

export const fieldAccess: MiddlewareFn<Context> = async ({ root, args, context: ctx, info }, next) => {
  const parent = info.parentType.name
  if (parent === 'Query' || parent === 'Mutation') {
    await checkRootField(ctx, info, args)
    return next()
  }
  const target = FIELD_TARGETS.get(`${parent}.${info.fieldName}`)
  const rootObj = (root ?? {}) as Record<string, unknown>
  if (parent === 'Person' && typeof rootObj.id === 'string' && (target || PROVENANCE_FIELDS.has(info.fieldName))) {
    const s = accessState(ctx)
    s.personIds.add(rootObj.id)
    s.personFields.add(info.fieldName)
  }
  if (target) {
    const kind = parent === 'LegalEntity' ? entityKind('LEGAL_ENTITY', rootObj) : null
    if (await canSee(ctx, target.entityType, target.field, kind)) return next()
    if (parent === 'Person' && info.fieldName === 'idNumber') {
      const value = await next()
      return typeof value === 'string' ? maskIdNumber(value) : null
    }
    const error = forbiddenField(target.entityType, target.field)
    if (!isNonNullType(info.returnType)) throw error
    accessState(ctx).extraErrors.push({ message: error.message, path: responsePathAsArray(info.path) })
    return emptyValue(info)
  }
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
