import { ENTITY_TYPES, SHARING_CLASSES, type EntityTypeName, type SharingClassName } from '../../shared/entity-types.js'
import type { FieldKind, FieldSpec } from '../fields.js'
import { ValidationError } from './validate.js'

/** The data types a catalogue item may have (GraphQL DataItemType). */
export const DATA_ITEM_TYPES = ['STRING', 'INTEGER', 'DECIMAL', 'BOOLEAN', 'DATE', 'DATETIME', 'CODE'] as const
export type DataItemTypeName = (typeof DATA_ITEM_TYPES)[number]

export interface CodeLabel {
  code: string
  label: string
}

/** One item definition as given to defineDataItem or in the seed's catalogue file. */
export interface DataItemDefinition {
  entityType: EntityTypeName
  name: string
  title: string
  description?: string | null
  dataType: DataItemTypeName
  codeList?: CodeLabel[] | null
  pattern?: string | null
  min?: number | null
  max?: number | null
  authority: string
  fallback?: string[] | null
  sharingClass: SharingClassName
  updateCycle?: string | null
}

const NAME = /^[a-z][A-Za-z0-9]{1,62}$/
const MAX_PATTERN = 500
const MAX_STRING = 2000

export interface DefinitionContext {
  departments: ReadonlySet<string>
  /** Whether the entity type already has a core field, alias or item of this name. */
  taken: (entityType: EntityTypeName, name: string) => boolean
}

/**
 * Checks a data item definition and returns it normalised (trimmed, empty lists dropped). Throws
 * ValidationError naming the offending input field: unknown entity type or data type, a name that
 * is malformed or already taken, a pattern that is not a regular expression, a code list on a
 * non-CODE item (or a CODE item without one), min > max, an owner or fallback that is not a
 * department, an unknown sharing class.
 */
export function checkDataItemDefinition(def: DataItemDefinition, ctx: DefinitionContext): DataItemDefinition {
  const bad = (field: string, message: string, code: 'INVALID_VALUE' | 'MISSING_FIELD' = 'INVALID_VALUE'): never => {
    throw new ValidationError(code, field, message)
  }
  if (!(ENTITY_TYPES as readonly string[]).includes(def.entityType))
    bad('entityType', `unknown entity type ${String(def.entityType)}`)
  if (!(DATA_ITEM_TYPES as readonly string[]).includes(def.dataType))
    bad('dataType', `unknown data type ${String(def.dataType)}; one of ${DATA_ITEM_TYPES.join(', ')}`)
  const name = typeof def.name === 'string' ? def.name.trim() : ''
  if (!NAME.test(name)) bad('name', 'name must be lowerCamelCase letters and digits, 2 to 63 characters')
  if (ctx.taken(def.entityType, name)) bad('name', `${def.entityType}.${name} is already defined`)
  const title = typeof def.title === 'string' ? def.title.trim() : ''
  if (!title) bad('title', 'title is required', 'MISSING_FIELD')
  if (title.length > 200) bad('title', 'title is longer than 200 characters')
  if (def.description && def.description.length > 4000) bad('description', 'description is longer than 4000 characters')

  let pattern: string | null = def.pattern ?? null
  if (pattern !== null) {
    if (def.dataType !== 'STRING') bad('pattern', 'pattern applies to STRING items only')
    if (pattern.length > MAX_PATTERN) bad('pattern', `pattern is longer than ${MAX_PATTERN} characters`)
    try {
      new RegExp(pattern, 'u')
    } catch (e) {
      bad('pattern', `pattern is not a valid regular expression: ${(e as Error).message}`)
    }
  } else pattern = null

  const codeList = def.codeList?.length ? def.codeList : null
  if (def.dataType === 'CODE') {
    if (!codeList) bad('codeList', 'a CODE item needs a codeList', 'MISSING_FIELD')
    const codes = codeList!.map((c) => (typeof c.code === 'string' ? c.code.trim() : ''))
    if (codes.some((c) => !c || c.length > 100)) bad('codeList', 'every code must be 1 to 100 characters')
    if (new Set(codes).size !== codes.length) bad('codeList', 'a code is listed twice')
    if (codeList!.some((c) => typeof c.label !== 'string' || !c.label.trim()))
      bad('codeList', 'every code needs a label')
  } else if (codeList) bad('codeList', 'codeList applies to CODE items only')

  const numeric = def.dataType === 'INTEGER' || def.dataType === 'DECIMAL'
  for (const k of ['min', 'max'] as const) {
    const v = def[k]
    if (v === null || v === undefined) continue
    if (!numeric) bad(k, `${k} applies to INTEGER and DECIMAL items only`)
    if (!Number.isFinite(v)) bad(k, `${k} must be a finite number`)
  }
  if (typeof def.min === 'number' && typeof def.max === 'number' && def.min > def.max)
    bad('min', 'min is greater than max')

  if (!ctx.departments.has(def.authority)) bad('authority', `${String(def.authority)} is not a department`)
  const fallback = def.fallback ?? []
  const unknown = fallback.find((d) => !ctx.departments.has(d))
  if (unknown) bad('fallback', `${unknown} is not a department`)
  if (new Set(fallback).size !== fallback.length) bad('fallback', 'a department is listed twice in fallback')
  if (fallback.includes(def.authority)) bad('fallback', 'the authority cannot also be a fallback')
  if (!(SHARING_CLASSES as readonly string[]).includes(def.sharingClass))
    bad('sharingClass', `unknown sharing class ${String(def.sharingClass)}`)

  return {
    ...def,
    name,
    title,
    description: def.description?.trim() || null,
    codeList: codeList?.map((c) => ({ code: c.code.trim(), label: c.label.trim() })) ?? null,
    pattern,
    min: def.min ?? null,
    max: def.max ?? null,
    fallback,
    updateCycle: def.updateCycle?.trim() || null,
  }
}

/** The field-registry kind an item's values are validated with. */
export function itemKind(
  item: Pick<DataItemDefinition, 'dataType' | 'codeList' | 'pattern' | 'min' | 'max'>,
): FieldKind {
  const range = { min: item.min ?? undefined, max: item.max ?? undefined }
  switch (item.dataType) {
    case 'STRING':
      return {
        type: 'string',
        maxLength: MAX_STRING,
        pattern: item.pattern ? new RegExp(item.pattern, 'u') : undefined,
      }
    case 'INTEGER':
      return { type: 'integer', ...range }
    case 'DECIMAL':
      return { type: 'number', ...range }
    case 'BOOLEAN':
      return { type: 'boolean' }
    case 'DATE':
      return { type: 'date' }
    case 'DATETIME':
      return { type: 'datetime' }
    case 'CODE':
      return { type: 'enum', values: (item.codeList ?? []).map((c) => c.code) }
  }
}

/** A catalogue item as a registry field (no projection column: its value lives in golden values only). */
export function itemFieldSpec(item: DataItemDefinition): FieldSpec {
  return { name: item.name, column: '', label: item.title, kind: itemKind(item) }
}

/** The DataItemType a core field is shown with in the catalogue (keys, codes and references are strings). */
export function coreDataType(kind: FieldKind): DataItemTypeName {
  switch (kind.type) {
    case 'enum':
      return 'CODE'
    case 'date':
      return 'DATE'
    case 'datetime':
      return 'DATETIME'
    case 'number':
      return 'DECIMAL'
    case 'integer':
      return 'INTEGER'
    case 'boolean':
      return 'BOOLEAN'
    default:
      return 'STRING'
  }
}
