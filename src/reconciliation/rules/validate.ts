import { bbox } from '@turf/bbox'
import type { EntityTypeName } from '../../shared/entity-types.js'
import { ENTITY_SPECS, fieldForAttribute, normalizeAddressText, type FieldSpec } from '../fields.js'
import { validateCreditCode } from './credit-code.js'
import { divisionLevelOf, isValidDivisionCode, parentCodeOf } from './division-code.js'
import { validateIdNumber } from './id-number.js'
import { parsePeriod } from './period.js'
import { DECIMAL, printable, textProblem, valueProblem, yearInRange } from './storable.js'

/** Per-record rejection codes (CONTRACT.md §3). */
export type ValidationCode =
  | 'INVALID_ID_NUMBER'
  | 'INVALID_CREDIT_CODE'
  | 'INVALID_DIVISION_CODE'
  | 'INVALID_GEOMETRY'
  | 'INVALID_DATE'
  | 'INVALID_VALUE'
  | 'UNKNOWN_FIELD'
  | 'MISSING_FIELD'
  | 'NOT_AUTHORIZED'

export class ValidationError extends Error {
  constructor(
    readonly code: ValidationCode,
    readonly field: string | null,
    message: string,
  ) {
    super(message)
  }
}

export interface RecordInput {
  sourceKey?: unknown
  observedAt?: unknown
  attributes?: unknown
  geometry?: unknown
}

export interface ValidatedRecord {
  sourceKey: string
  observedAt: string | null
  /** Field name → claimed value, in the stored form (dates 'YYYY-MM-DD', references as key strings). */
  values: Record<string, unknown>
}

export interface ValidationOptions {
  /** [minLon, minLat, maxLon, maxLat] submitted geometry must lie inside. */
  extent: [number, number, number, number]
  /** Known department codes (for INDICATOR.owner). */
  departments: Set<string>
  /** Most positions a geometry may have; DEFAULT_MAX_GEOMETRY_VERTICES when absent. */
  maxVertices?: number
  /** How far after the service's clock an observedAt may lie (clock skew between systems); default 5 minutes. */
  observedAtMaxSkewMs?: number
  /** The service's clock (tests pass a fixed one). */
  now?: Date
  /** Catalogue-defined items by `ENTITY_TYPE|name` (see data-items.service), validated like fields. */
  extended?: ReadonlyMap<string, FieldSpec>
}

/** The registry field or catalogue item an attribute names; undefined when neither exists. */
function specForAttribute(entityType: EntityTypeName, attribute: string, opts: ValidationOptions) {
  return fieldForAttribute(entityType, attribute) ?? opts.extended?.get(`${entityType}|${attribute}`)
}

/** Default tolerance for observedAt after the service's clock. */
export const DEFAULT_OBSERVED_AT_SKEW_MS = 5 * 60_000

/** Most positions a geometry may have unless configured otherwise (MAX_GEOMETRY_VERTICES). */
export const DEFAULT_MAX_GEOMETRY_VERTICES = 20_000
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Checks a 'YYYY-MM-DD' string is a real calendar date; returns false for anything else. */
export function isRealDate(value: unknown): value is string {
  // Year 0000 is no calendar year (and PostgreSQL refuses it).
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || value.startsWith('0000')) return false
  const d = new Date(`${value}T00:00:00Z`)
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value
}

/**
 * Walks a coordinates array nested `depth` levels above its positions once (linear time, no
 * recursion beyond the type's depth) and returns its number of positions, stopping early once it
 * exceeds `limit`; null when a position is not [longitude, latitude] in range or the nesting is wrong.
 */
function countCheckedPositions(coords: unknown, depth: number, limit: number): number | null {
  if (!Array.isArray(coords)) return null
  if (depth === 0) {
    const ok =
      // 2-D only: the columns are 2-D, and an elevation would be silently dropped or refused by PostGIS.
      coords.length === 2 &&
      coords.every((n) => typeof n === 'number' && Number.isFinite(n)) &&
      Math.abs(coords[0] as number) <= 180 &&
      Math.abs(coords[1] as number) <= 90
    return ok ? 1 : null
  }
  let n = 0
  for (const c of coords) {
    const k = countCheckedPositions(c, depth - 1, limit - n)
    if (k === null) return null
    n += k
    if (n > limit) return n
  }
  return n
}

/** True when two consecutive positions of a line or ring (depth 1) are 180° of longitude apart or more. */
function hasAntimeridianEdge(coords: unknown, depth: number): boolean {
  if (depth > 1) return (coords as unknown[]).some((c) => hasAntimeridianEdge(c, depth - 1))
  const line = coords as number[][]
  for (let i = 1; i < line.length; i++) if (Math.abs(line[i][0] - line[i - 1][0]) >= 180) return true
  return false
}

/**
 * Checks the shape of an RFC 7946 geometry of one of the allowed types in linear time: coordinate
 * ranges, at most `maxVertices` positions, closed rings of 4+ positions, no edge spanning 180° of
 * longitude (ambiguous on the sphere; PostGIS's geography refuses it), inside the extent.
 * Topology (self-intersection, a hole outside its shell) is left to PostGIS's ST_IsValid, which
 * runs in O(n log n), so caller input never costs quadratic time on the event loop.
 * Throws ValidationError(INVALID_GEOMETRY, field).
 */
export function validateGeometry(
  value: unknown,
  allowed: readonly string[],
  field: string,
  extent?: [number, number, number, number],
  maxVertices: number = DEFAULT_MAX_GEOMETRY_VERTICES,
): void {
  const fail = (message: string): never => {
    throw new ValidationError('INVALID_GEOMETRY', field, message)
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('geometry must be a GeoJSON geometry object')
  const g = value as { type?: unknown; coordinates?: unknown }
  if (typeof g.type !== 'string' || !allowed.includes(g.type))
    fail(`geometry type must be ${allowed.join(' or ')}, got ${String(g.type)}`)
  const depth = ({ Point: 0, MultiPoint: 1, LineString: 1, Polygon: 2, MultiPolygon: 3 } as Record<string, number>)[
    g.type as string
  ]
  if (depth === undefined) fail(`unsupported geometry type ${String(g.type)}`)
  const positions = countCheckedPositions(g.coordinates, depth, maxVertices)
  if (positions === null)
    fail(
      'coordinates must be 2-D [longitude, latitude] positions of finite numbers, longitude in [-180, 180] and latitude in [-90, 90]',
    )
  if ((positions as number) > maxVertices) fail(`geometry has more than ${maxVertices} vertices (the service's limit)`)
  const polygons =
    g.type === 'Polygon'
      ? [g.coordinates as number[][][]]
      : g.type === 'MultiPolygon'
        ? (g.coordinates as number[][][][])
        : []
  if ((g.type === 'Polygon' || g.type === 'MultiPolygon') && polygons.length === 0) fail('polygon has no rings')
  for (const rings of polygons) {
    if (!rings.length) fail('polygon has no rings')
    for (const ring of rings) {
      if (ring.length < 4) fail('a polygon ring needs at least 4 positions')
      const [a, b] = [ring[0], ring[ring.length - 1]]
      if (a[0] !== b[0] || a[1] !== b[1]) fail('polygon ring is not closed (first and last positions differ)')
    }
  }
  if (g.type !== 'Point' && g.type !== 'MultiPoint' && hasAntimeridianEdge(g.coordinates, depth))
    fail('an edge spans 180° of longitude or more; add intermediate vertices')
  if (extent) {
    const [minX, minY, maxX, maxY] = bbox(g as never)
    if (minX < extent[0] || minY < extent[1] || maxX > extent[2] || maxY > extent[3])
      fail(`geometry lies outside the service extent [${extent.join(', ')}]`)
  }
}

function checkValue(spec: FieldSpec, attribute: string, raw: unknown, opts: ValidationOptions): unknown {
  const field = attribute
  const invalid = (code: ValidationCode, message: string): never => {
    throw new ValidationError(code, field, message)
  }
  const kind = spec.kind
  switch (kind.type) {
    case 'string': {
      // A number is not silently turned into a name: the sender quotes it if it means text.
      if (typeof raw !== 'string') invalid('INVALID_VALUE', `${field} must be a string (got ${typeof raw})`)
      const v = (raw as string).trim()
      if (!v) invalid('INVALID_VALUE', `${field} must not be empty`)
      if (kind.maxLength && v.length > kind.maxLength)
        invalid('INVALID_VALUE', `${field} is longer than ${kind.maxLength} characters`)
      if (kind.pattern && !kind.pattern.test(v)) invalid('INVALID_VALUE', `${field} has an invalid format`)
      return v
    }
    case 'enum':
      if (typeof raw !== 'string' || !kind.values.includes(raw))
        invalid('INVALID_VALUE', `${field} must be one of ${kind.values.join(', ')}`)
      return raw
    case 'date':
      if (!isRealDate(raw)) invalid('INVALID_DATE', `${field} must be a real date YYYY-MM-DD`)
      // "Today" where the service runs may be a day behind the caller's (UTC vs UTC+8): allow one day.
      if (kind.past && (raw as string) > new Date(Date.now() + 86_400_000).toISOString().slice(0, 10))
        invalid('INVALID_DATE', `${field} must not be in the future`)
      return raw
    case 'number':
    case 'integer': {
      // Only plain decimals: Number() would also read "0x10" as 16, "0b1" as 1 and "" as 0.
      if (typeof raw === 'string' && !DECIMAL.test(raw.trim()))
        invalid('INVALID_VALUE', `${field} must be a decimal number (got "${printable(raw, 40)}")`)
      const n = typeof raw === 'string' ? Number(raw.trim()) : raw
      if (typeof n !== 'number' || !Number.isFinite(n)) invalid('INVALID_VALUE', `${field} must be a finite number`)
      const num = n as number
      if (kind.type === 'integer' && !Number.isInteger(num)) invalid('INVALID_VALUE', `${field} must be a whole number`)
      if (kind.min !== undefined && kind.max !== undefined && (num < kind.min || num > kind.max))
        invalid('INVALID_VALUE', `${field} must be between ${kind.min} and ${kind.max}`)
      if (kind.min !== undefined && num < kind.min) invalid('INVALID_VALUE', `${field} must be at least ${kind.min}`)
      if (kind.max !== undefined && num > kind.max) invalid('INVALID_VALUE', `${field} must be at most ${kind.max}`)
      return num
    }
    case 'boolean':
      // CSV and form imports carry text: 'true' / 'false' are the same values.
      if (raw === 'true' || raw === 'false') return raw === 'true'
      if (typeof raw !== 'boolean') invalid('INVALID_VALUE', `${field} must be true or false`)
      return raw
    case 'datetime': {
      const t = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(raw) ? new Date(raw) : null
      if (!t || Number.isNaN(t.getTime())) invalid('INVALID_DATE', `${field} must be an ISO 8601 date-time`)
      return t!.toISOString()
    }
    case 'idNumber': {
      const r =
        typeof raw === 'string' ? validateIdNumber(raw.trim()) : { ok: false as const, message: 'must be a string' }
      if (!r.ok) invalid('INVALID_ID_NUMBER', `${field}: ${r.message}`)
      return (raw as string).trim().toUpperCase()
    }
    case 'creditCode': {
      const r =
        typeof raw === 'string'
          ? validateCreditCode(raw.trim().toUpperCase())
          : { ok: false as const, message: 'must be a string' }
      if (!r.ok) invalid('INVALID_CREDIT_CODE', `${field}: ${r.message}`)
      return (raw as string).trim().toUpperCase()
    }
    case 'divisionCode': {
      const v = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw
      if (typeof v !== 'string' || !isValidDivisionCode(v))
        invalid('INVALID_DIVISION_CODE', `${field} must be a 6, 9 or 12 digit division code`)
      return v
    }
    case 'period':
      if (typeof raw !== 'string' || !parsePeriod(raw))
        invalid('INVALID_VALUE', `${field} must be a year '2024', quarter '2024Q2' or month '2024-05'`)
      return raw
    case 'department':
      if (typeof raw !== 'string' || !opts.departments.has(raw))
        invalid('INVALID_VALUE', `${field} must be a known department code`)
      return raw
    case 'geometry':
      validateGeometry(raw, kind.geometryTypes, field, opts.extent, opts.maxVertices)
      return raw
    case 'reference': {
      if (attribute.endsWith('Id')) {
        if (typeof raw !== 'string' || !UUID.test(raw)) invalid('INVALID_VALUE', `${field} must be an entity id`)
        return `id:${(raw as string).toLowerCase()}`
      }
      const keySpec: FieldSpec = {
        ...spec,
        kind:
          kind.keyKind === 'idNumber'
            ? { type: 'idNumber' }
            : kind.keyKind === 'creditCode'
              ? { type: 'creditCode' }
              : kind.keyKind === 'divisionCode'
                ? { type: 'divisionCode' }
                : kind.keyKind === 'parcelCode'
                  ? ENTITY_SPECS.PARCEL.fields.find((f) => f.name === 'parcelCode')!.kind
                  : kind.keyKind === 'indicatorCode'
                    ? ENTITY_SPECS.INDICATOR.fields.find((f) => f.name === 'code')!.kind
                    : { type: 'string', maxLength: 300 },
      }
      const key = checkValue(keySpec, attribute, raw, opts) as string
      return kind.keyKind === 'addressText' ? normalizeAddressText(key) : key
    }
  }
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i

/**
 * observedAt as an ISO string, or null when absent. It must be an ISO 8601 date-time with zone,
 * in years 1..9999, and not after the service's clock plus the allowed skew: a claim "from the
 * future" would otherwise outrank every real correction until that time. Throws INVALID_DATE.
 */
export function checkObservedAt(raw: unknown, opts: ValidationOptions): string | null {
  if (raw === undefined || raw === null) return null
  const fail = (message: string): never => {
    throw new ValidationError('INVALID_DATE', 'observedAt', message)
  }
  if (typeof raw === 'string' && !ISO_DATE_TIME.test(raw.trim()))
    fail('observedAt must be an ISO 8601 date-time with a time zone, e.g. 2024-12-01T08:00:00Z')
  if (typeof raw !== 'string' && !(raw instanceof Date)) fail('observedAt must be an ISO 8601 date-time')
  const t = raw instanceof Date ? raw : new Date((raw as string).trim())
  if (Number.isNaN(t.getTime()) || !yearInRange(t)) fail('observedAt must be a real date-time in years 0001..9999')
  const now = opts.now ?? new Date()
  const skew = opts.observedAtMaxSkewMs ?? DEFAULT_OBSERVED_AT_SKEW_MS
  if (t.getTime() > now.getTime() + skew)
    fail(
      `observedAt ${t.toISOString()} is in the future: it may be at most ${Math.round(skew / 1000)} s after the service's clock (${now.toISOString()})`,
    )
  return t.toISOString()
}

/**
 * Validates one submitted record of the given type; returns the claimed values by field, or
 * throws ValidationError with the first problem found (code, field, message).
 */
export function validateRecord(
  entityType: EntityTypeName,
  record: RecordInput,
  opts: ValidationOptions,
): ValidatedRecord {
  const spec = ENTITY_SPECS[entityType]
  if (typeof record.sourceKey !== 'string' || !record.sourceKey.trim())
    throw new ValidationError('MISSING_FIELD', 'sourceKey', 'sourceKey is required')
  if (record.sourceKey.length > 200)
    throw new ValidationError('INVALID_VALUE', 'sourceKey', 'sourceKey is longer than 200 characters')
  const keyProblem = textProblem(record.sourceKey)
  if (keyProblem) throw new ValidationError('INVALID_VALUE', 'sourceKey', `sourceKey ${keyProblem}`)
  const observedAt = checkObservedAt(record.observedAt, opts)
  const attributes = record.attributes
  if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes))
    throw new ValidationError('INVALID_VALUE', 'attributes', 'attributes must be an object of field name → value')

  const values: Record<string, unknown> = {}
  for (const [attribute, raw] of Object.entries(attributes as Record<string, unknown>)) {
    const field = specForAttribute(entityType, attribute, opts)
    if (!field || (field.kind.type === 'geometry' && attribute !== field.name)) {
      const name = printable(attribute, 100)
      throw new ValidationError('UNKNOWN_FIELD', name, `${spec.typeName} has no field "${name}"`)
    }
    if (raw === null || raw === undefined) continue
    const problem = valueProblem(raw)
    if (problem)
      throw new ValidationError(
        field.kind.type === 'geometry' ? 'INVALID_GEOMETRY' : 'INVALID_VALUE',
        attribute,
        `${[attribute, problem[0]].filter(Boolean).join('.')} ${problem[1]}`,
      )
    if (field.name in values)
      throw new ValidationError(
        'INVALID_VALUE',
        attribute,
        `${field.name} is given twice (by "${attribute}" and another name)`,
      )
    values[field.name] = checkValue(field, attribute, raw, opts)
  }
  if (record.geometry !== undefined && record.geometry !== null) {
    if (!spec.geometryField)
      throw new ValidationError('INVALID_GEOMETRY', 'geometry', `${spec.typeName} has no geometry`)
    const field = spec.fields.find((f) => f.name === spec.geometryField)!
    if (spec.geometryField in values)
      throw new ValidationError('INVALID_VALUE', 'geometry', `${spec.geometryField} is given twice`)
    const problem = valueProblem(record.geometry)
    if (problem)
      throw new ValidationError(
        'INVALID_GEOMETRY',
        'geometry',
        `geometry${problem[0] ? `.${problem[0]}` : ''} ${problem[1]}`,
      )
    values[field.name] = checkValue(field, 'geometry', record.geometry, opts)
  }

  if (
    typeof values.birthDate === 'string' &&
    typeof values.deathDate === 'string' &&
    values.deathDate < values.birthDate
  )
    throw new ValidationError('INVALID_DATE', 'deathDate', 'deathDate is before birthDate')

  // Facts that follow from a code need not be submitted.
  if (entityType === 'ADMIN_DIVISION' && typeof values.code === 'string') {
    values.level ??= divisionLevelOf(values.code)
    const parent = parentCodeOf(values.code)
    if (values.parent === undefined && parent) values.parent = parent
  }
  for (const f of spec.fields) {
    if (
      f.naturalKey &&
      entityType !== 'PERSON' &&
      entityType !== 'LEGAL_ENTITY' &&
      entityType !== 'ADDRESS' &&
      values[f.name] === undefined
    )
      throw new ValidationError('MISSING_FIELD', f.name, `${f.name} is required to identify a ${spec.typeName}`)
  }
  if (Object.keys(values).length === 0)
    throw new ValidationError('MISSING_FIELD', 'attributes', 'the record claims no field')
  return { sourceKey: record.sourceKey.trim(), observedAt, values }
}

/**
 * Validates one value for one field the way a submitted attribute is validated (a steward's
 * SET_VALUE, an error report's suggestion); returns it in stored form. Throws ValidationError:
 * UNKNOWN_FIELD for a field the type lacks, MISSING_FIELD for null.
 */
export function validateFieldValue(
  entityType: EntityTypeName,
  field: string,
  raw: unknown,
  opts: ValidationOptions,
): unknown {
  const spec =
    ENTITY_SPECS[entityType].fields.find((f) => f.name === field) ?? opts.extended?.get(`${entityType}|${field}`)
  if (!spec)
    throw new ValidationError('UNKNOWN_FIELD', field, `${ENTITY_SPECS[entityType].typeName} has no field "${field}"`)
  if (raw === null || raw === undefined)
    throw new ValidationError('MISSING_FIELD', field, `a value for ${field} is required`)
  return checkValue(spec, field, raw, opts)
}
