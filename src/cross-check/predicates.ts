import { ENTITY_SPECS, fieldSpec } from '../reconciliation/fields.js'
import type { EntityTypeName } from '../shared/entity-types.js'

/**
 * The rule library of cross-checks (CONTRACT §8): each predicate is a set-based condition over
 * the registers as of a time, compiled to one INSERT … SELECT over a slice of a check's subjects.
 * Pure: no I/O; field names are checked against the field registry before they reach SQL, and
 * every value (field names included) is a binding.
 */

export type SubjectType = Extract<EntityTypeName, 'PERSON' | 'LEGAL_ENTITY'>
export const SUBJECT_TYPES: readonly SubjectType[] = ['PERSON', 'LEGAL_ENTITY']

export type Predicate =
  /** The subject's `field` equals `equals` (from `department`, if given), observed on or after its `since`. */
  | { kind: 'VALUE_OBSERVED_SINCE'; field: string; equals: string; department?: string }
  /** The subject's date `field` is on or before the check's asOf (e.g. deathDate). */
  | { kind: 'DATE_ON_OR_BEFORE_AS_OF'; field: string }
  /** An entity of `entityType` whose reference `via` names the subject has `field` = `equals`. */
  | { kind: 'RELATED_IN_STATE'; entityType: EntityTypeName; via: string; field: string; equals: string }
  /** The subject's address reference `field` is not an address of a division under `divisionPrefix`. */
  | { kind: 'ADDRESS_OUTSIDE_DIVISION'; field: string; divisionPrefix: string }
  /** The subject holds a parcel (parcel `via` names it) while its `unlessField` is not `unlessEquals`. */
  | { kind: 'HOLDS_PARCEL'; via: string; unlessField?: string; unlessEquals?: string }
  /** Buildings whose footprint stands on parcels the subject holds, with their floor area. */
  | { kind: 'BUILDINGS_ON_HELD_PARCELS'; via: string }
  /** One of `fields` of the subject changed (a previous value replaced) after its `since`. */
  | { kind: 'CHANGED_SINCE'; fields: string[]; department?: string }

export interface RuleDefinition {
  code: string
  description: string
  predicate: Predicate
}

export interface CrossCheckTypeDefinition {
  code: string
  name: string
  description: string
  subjectType: SubjectType
  ownerCode: string
  rules: RuleDefinition[]
}

/** Registers' fields a rule reads, as `ENTITY_TYPE.field` (CrossCheckRule.fields). */
export function ruleFields(subjectType: SubjectType, p: Predicate): string[] {
  const own = (f: string) => `${subjectType}.${f}`
  switch (p.kind) {
    case 'VALUE_OBSERVED_SINCE':
    case 'DATE_ON_OR_BEFORE_AS_OF':
      return [own(p.field)]
    case 'RELATED_IN_STATE':
      return [`${p.entityType}.${p.via}`, `${p.entityType}.${p.field}`]
    case 'ADDRESS_OUTSIDE_DIVISION':
      return [own(p.field), 'ADDRESS.division']
    case 'HOLDS_PARCEL':
      return [`PARCEL.${p.via}`, ...(p.unlessField ? [own(p.unlessField)] : [])]
    case 'BUILDINGS_ON_HELD_PARCELS':
      return [`PARCEL.${p.via}`, 'BUILDING.footprint', 'BUILDING.floors']
    case 'CHANGED_SINCE':
      return p.fields.map(own)
  }
}

/** Problems of a type definition (unknown fields, wrong kinds, duplicate rule codes); [] when sound. */
export function validateTypeDefinition(t: CrossCheckTypeDefinition): string[] {
  const problems: string[] = []
  if (!/^[A-Z][A-Z0-9_]{1,63}$/.test(t.code)) problems.push(`type code ${t.code} is not SCREAMING_SNAKE`)
  if (!SUBJECT_TYPES.includes(t.subjectType))
    problems.push(`subject type ${t.subjectType} is not PERSON or LEGAL_ENTITY`)
  if (!t.rules.length) problems.push('a type needs at least one rule')
  const codes = new Set<string>()
  for (const r of t.rules) {
    if (codes.has(r.code)) problems.push(`rule ${r.code} appears twice`)
    codes.add(r.code)
    for (const problem of predicateProblems(t.subjectType, r.predicate)) problems.push(`rule ${r.code}: ${problem}`)
  }
  return problems
}

function predicateProblems(subjectType: SubjectType, p: Predicate): string[] {
  const need = (entityType: EntityTypeName, field: string, kinds?: string[]): string[] => {
    const spec = fieldSpec(entityType, field)
    if (!spec) return [`${entityType}.${field} is not a field`]
    if (kinds && !kinds.includes(spec.kind.type)) return [`${entityType}.${field} is not a ${kinds.join(' or ')}`]
    return []
  }
  const referencesSubject = (entityType: EntityTypeName, field: string): string[] => {
    const spec = fieldSpec(entityType, field)
    if (!spec) return [`${entityType}.${field} is not a field`]
    const k = spec.kind
    const names =
      (k.type === 'reference' && k.target === subjectType) ||
      (k.type === 'creditCode' && subjectType === 'LEGAL_ENTITY') ||
      (k.type === 'idNumber' && subjectType === 'PERSON')
    return names ? [] : [`${entityType}.${field} does not name a ${subjectType}`]
  }
  switch (p.kind) {
    case 'VALUE_OBSERVED_SINCE':
      return need(subjectType, p.field)
    case 'DATE_ON_OR_BEFORE_AS_OF':
      return need(subjectType, p.field, ['date'])
    case 'RELATED_IN_STATE':
      if (!ENTITY_SPECS[p.entityType]) return [`${p.entityType} is not an entity type`]
      return [...referencesSubject(p.entityType, p.via), ...need(p.entityType, p.field)]
    case 'ADDRESS_OUTSIDE_DIVISION': {
      const spec = fieldSpec(subjectType, p.field)
      if (spec?.kind.type !== 'reference' || spec.kind.target !== 'ADDRESS')
        return [`${subjectType}.${p.field} is not an address reference`]
      return /^\d{2,12}$/.test(p.divisionPrefix) ? [] : [`division prefix ${p.divisionPrefix} is not digits`]
    }
    case 'HOLDS_PARCEL':
      return [
        ...referencesSubject('PARCEL', p.via),
        ...(p.unlessField ? need(subjectType, p.unlessField) : []),
        ...(p.unlessField && p.unlessEquals === undefined ? ['unlessField needs unlessEquals'] : []),
      ]
    case 'BUILDINGS_ON_HELD_PARCELS':
      return referencesSubject('PARCEL', p.via)
    case 'CHANGED_SINCE':
      return p.fields.length ? p.fields.flatMap((f) => need(subjectType, f)) : ['CHANGED_SINCE needs fields']
    default:
      return [`unknown predicate kind ${(p as { kind: string }).kind}`]
  }
}

/** A piece of SQL with its positional bindings, composable with `sql`. */
export interface SqlFragment {
  text: string
  bindings: unknown[]
}

const isFragment = (v: unknown): v is SqlFragment =>
  typeof v === 'object' && v !== null && 'text' in v && 'bindings' in v && Array.isArray((v as SqlFragment).bindings)

/** Tagged template: values become `?` bindings; nested fragments are spliced in with theirs. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): SqlFragment {
  let text = strings[0]
  const bindings: unknown[] = []
  values.forEach((v, i) => {
    if (isFragment(v)) {
      text += v.text
      bindings.push(...v.bindings)
    } else {
      text += '?'
      bindings.push(v)
    }
    text += strings[i + 1]
  })
  return { text, bindings }
}

/** Literal SQL text (never user input: table aliases and fixed expressions only). */
const raw = (text: string): SqlFragment => ({ text, bindings: [] })

/** The slice of a check's subjects a statement works on. */
export interface SubjectSlice {
  checkId: string
  /** Ordinals from (inclusive) … to (exclusive). */
  from: number
  to: number
  asOf: Date
}

/** The value a field of `entity` (SQL expression) held at asOf, as a LATERAL subquery named `alias`. */
function asOfValue(alias: string, entity: string, field: string, asOf: Date): SqlFragment {
  return sql`LATERAL (SELECT h.new_value AS value, h.source_department AS source, h.observed_at
      FROM field_history h WHERE h.entity_id = ${raw(entity)} AND h.field = ${field} AND h.recorded_at <= ${asOf}
      ORDER BY h.id DESC LIMIT 1) ${raw(alias)}`
}

/** One evidence item as jsonb. */
function evidence(
  entityType: string,
  field: string,
  value: string,
  source: string,
  observedAt: string,
  entityId: string,
) {
  return sql`jsonb_build_object('entityType', ${entityType}::text, 'field', ${field}::text, 'value', ${raw(value)},
      'source', ${raw(source)}, 'observedAt', ${raw(observedAt)}, 'entityId', ${raw(entityId)})`
}

const SUBJECTS = raw('cross_check_subjects s')

// Subject's `since` as an instant: the start of that day, UTC.
const SINCE_AT = "(s.since::timestamp AT TIME ZONE 'UTC')"

/** Entities of `entityType` whose reference `via` named the subject at asOf (a LATERAL named `alias`). */
function referencing(alias: string, entityType: EntityTypeName, via: string, asOf: Date): SqlFragment {
  // Candidates from the history index (anyone who ever named the key by then), kept when the
  // newest value by asOf still names it. The constant IN list lets the planner use the partial index.
  return sql`LATERAL (SELECT c.entity_id, cv.source, cv.observed_at, cv.value FROM
      (SELECT DISTINCT r.entity_id FROM field_history r
        WHERE r.entity_type IN ('LEGAL_ENTITY', 'PARCEL', 'BUILDING') AND r.entity_type = ${entityType} AND r.field = ${via}
          AND (r.new_value #>> '{}') IN (s.key, 'id:' || s.entity_id::text) AND r.recorded_at <= ${asOf}) c
      JOIN ${asOfValue('cv', 'c.entity_id', via, asOf)} ON (cv.value #>> '{}') IN (s.key, 'id:' || s.entity_id::text)) ${raw(alias)}`
}

/**
 * The INSERT … SELECT that writes the hits of one rule for one slice of subjects (one row per
 * subject hit, evidence as a jsonb array). Subjects without an entity (invalid, not found) never hit.
 */
export function ruleSql(subjectType: SubjectType, rule: RuleDefinition, slice: SubjectSlice): SqlFragment {
  const { asOf } = slice
  const p = rule.predicate
  let select: SqlFragment
  switch (p.kind) {
    case 'VALUE_OBSERVED_SINCE':
      select = sql`SELECT s.check_id, s.ordinal,
          jsonb_build_array(${evidence(subjectType, p.field, 'v.value', 'v.source', 'v.observed_at', 's.entity_id')})
        FROM ${SUBJECTS}
        JOIN ${asOfValue('v', 's.entity_id', p.field, asOf)} ON true
        WHERE ${subjectsWhere(slice)} AND v.value = to_jsonb(${p.equals}::text)
          AND (s.since IS NULL OR v.observed_at >= ${raw(SINCE_AT)})
          ${p.department ? sql`AND v.source = ${p.department}` : raw('')}`
      break
    case 'DATE_ON_OR_BEFORE_AS_OF':
      select = sql`SELECT s.check_id, s.ordinal,
          jsonb_build_array(${evidence(subjectType, p.field, 'v.value', 'v.source', 'v.observed_at', 's.entity_id')})
        FROM ${SUBJECTS} JOIN ${asOfValue('v', 's.entity_id', p.field, asOf)} ON true
        WHERE ${subjectsWhere(slice)} AND jsonb_typeof(v.value) = 'string'
          AND (v.value #>> '{}')::date <= (${asOf}::timestamptz AT TIME ZONE 'UTC')::date`
      break
    case 'RELATED_IN_STATE':
      select = sql`SELECT s.check_id, s.ordinal, jsonb_agg(${evidence(p.entityType, p.field, 'st.value', 'st.source', 'st.observed_at', 'rel.entity_id')} ORDER BY rel.entity_id)
        FROM ${SUBJECTS} JOIN ${referencing('rel', p.entityType, p.via, asOf)} ON true
        JOIN ${asOfValue('st', 'rel.entity_id', p.field, asOf)} ON st.value = to_jsonb(${p.equals}::text)
        WHERE ${subjectsWhere(slice)}
        GROUP BY s.check_id, s.ordinal`
      break
    case 'ADDRESS_OUTSIDE_DIVISION':
      // Outside: the address is in the register under another division, or not an address the
      // city's register holds at all (addresses outside the city are not registered).
      select = sql`SELECT s.check_id, s.ordinal, jsonb_build_array(
          ${evidence(subjectType, p.field, 'v.value', 'v.source', 'v.observed_at', 's.entity_id')},
          ${evidence('ADDRESS', 'division', 'to_jsonb(coalesce(a1.division_key, a2.division_key))', 'NULL', 'NULL', 'coalesce(a1.id, a2.id)')})
        FROM ${SUBJECTS} JOIN ${asOfValue('v', 's.entity_id', p.field, asOf)} ON jsonb_typeof(v.value) = 'string'
        LEFT JOIN addresses a1 ON a1.normalized_text = (v.value #>> '{}')
        LEFT JOIN addresses a2 ON a2.id = (CASE WHEN (v.value #>> '{}') ~ '^id:[0-9a-f-]{36}$' THEN substr(v.value #>> '{}', 4)::uuid END)
        WHERE ${subjectsWhere(slice)}
          AND coalesce(a1.division_key, a2.division_key, '') NOT LIKE ${`${p.divisionPrefix}%`}`
      break
    case 'HOLDS_PARCEL':
      select = sql`SELECT s.check_id, s.ordinal,
          ${
            p.unlessField
              ? sql`jsonb_build_array(${evidence(subjectType, p.unlessField, 'u.value', 'u.source', 'u.observed_at', 's.entity_id')}) ||`
              : raw('')
          }
          jsonb_agg(${evidence('PARCEL', p.via, 'rel.value', 'rel.source', 'rel.observed_at', 'rel.entity_id')} ORDER BY rel.entity_id)
        FROM ${SUBJECTS} JOIN ${referencing('rel', 'PARCEL', p.via, asOf)} ON true
        ${p.unlessField ? sql`LEFT JOIN ${asOfValue('u', 's.entity_id', p.unlessField, asOf)} ON true` : raw('')}
        WHERE ${subjectsWhere(slice)}
          ${p.unlessField ? sql`AND u.value IS DISTINCT FROM to_jsonb(${p.unlessEquals ?? ''}::text)` : raw('')}
        GROUP BY s.check_id, s.ordinal${p.unlessField ? raw(', u.value, u.source, u.observed_at') : raw('')}`
      break
    case 'BUILDINGS_ON_HELD_PARCELS':
      // A building stands on a parcel when a point of its footprint's surface lies in it (a
      // footprint merely touching the boundary does not count). Geometry as registered now.
      select = sql`SELECT s.check_id, s.ordinal, jsonb_agg(jsonb_build_object('entityType', 'BUILDING', 'field', 'footprint',
            'value', jsonb_build_object('parcelCode', pc.parcel_code, 'floors', b.floors,
              'footprintSqM', round(ST_Area(b.footprint::geography)::numeric, 1),
              'floorAreaSqM', round((ST_Area(b.footprint::geography) * greatest(coalesce(b.floors, 1), 1))::numeric, 1)),
            'source', g.source_department, 'observedAt', g.observed_at, 'entityId', b.id) ORDER BY b.id)
        FROM ${SUBJECTS} JOIN ${referencing('rel', 'PARCEL', p.via, asOf)} ON true
        JOIN parcels pc ON pc.id = rel.entity_id
        JOIN buildings b ON ST_Intersects(b.footprint, pc.geom) AND ST_Within(ST_PointOnSurface(b.footprint), pc.geom)
        LEFT JOIN golden_values g ON g.entity_id = b.id AND g.field = 'footprint'
        WHERE ${subjectsWhere(slice)}
        GROUP BY s.check_id, s.ordinal`
      break
    case 'CHANGED_SINCE':
      select = sql`SELECT s.check_id, s.ordinal, jsonb_agg(${evidence(subjectType, 'x', 'h.new_value', 'h.source_department', 'h.observed_at', 's.entity_id')} || jsonb_build_object('field', h.field) ORDER BY h.id)
        FROM ${SUBJECTS} JOIN field_history h ON h.entity_id = s.entity_id AND h.field = ANY(${p.fields}::text[])
          AND h.old_value IS NOT NULL AND h.new_value IS DISTINCT FROM h.old_value AND h.recorded_at <= ${asOf}
          AND (s.since IS NULL OR h.observed_at > ${raw(SINCE_AT)})
          ${p.department ? sql`AND h.source_department = ${p.department}` : raw('')}
        WHERE ${subjectsWhere(slice)}
        GROUP BY s.check_id, s.ordinal`
      break
  }
  return sql`INSERT INTO cross_check_hits (check_id, ordinal, evidence, rule_code)
    SELECT q.*, ${rule.code}::text FROM (${select}) q
    ON CONFLICT (check_id, ordinal, rule_code) DO NOTHING`
}

function subjectsWhere(slice: SubjectSlice): SqlFragment {
  return sql`s.check_id = ${slice.checkId} AND s.ordinal >= ${slice.from} AND s.ordinal < ${slice.to} AND s.entity_id IS NOT NULL`
}
