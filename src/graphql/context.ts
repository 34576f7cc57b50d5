import DataLoader from 'dataloader'
import type { Knex } from 'knex'
import { principalsById } from '../access/keys.js'
import type { Principal } from '../access/principal.js'
import { representedEntityIds } from '../legal-entity/legal-entity.store.js'
import type { Config } from '../config.js'
import { cachedAuthorityRules, departmentsByCode, type AuthorityRules } from '../reconciliation/authority.store.js'
import { openConflictFieldsOf } from '../reconciliation/conflicts.store.js'
import { countGoldenValues } from '../reconciliation/data-items.store.js'
import { listDataItems, type DataItemRecord } from '../reconciliation/data-items.service.js'
import {
  type JoinPlan,
  loadDivisionGeometries,
  loadEntities,
  loadEntityTypes,
  type EntityObject,
} from '../reconciliation/entity.store.js'
import { ENTITY_SPECS } from '../reconciliation/fields.js'
import { goldenValuesOf, type GoldenRow } from '../reconciliation/golden-values.store.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import { neededFields, type Selection } from './lookahead.js'

export type { GoldenRow }

export interface Loaders {
  entity: Record<EntityTypeName, DataLoader<string, EntityObject | null>>
  entityType: DataLoader<string, EntityTypeName | undefined>
  /** Golden values of an entity, every field. */
  golden: DataLoader<string, GoldenRow[]>
  /** Fields of an entity with an open conflict or error report. */
  openConflictFields: DataLoader<string, Set<string>>
  department: DataLoader<string, { code: string; name: string } | null>
  /** Principals by id (who resolved a conflict); null for an unknown id. */
  principal: DataLoader<string, { id: string; name: string; departmentCode: string | null; roles: string[] } | null>
  /** Ids of the legal entities a person represents. */
  representativeOf: DataLoader<string, string[]>
  /** The authority table, read once per request. */
  rules: () => Promise<AuthorityRules>
  /** The whole data-item catalogue (core and extended), read once per request. */
  dataItems: () => Promise<DataItemRecord[]>
  /** Number of entities holding a golden value, by `ENTITY_TYPE|item`. */
  itemValueCount: DataLoader<string, number>
  /** Boundaries of divisions, loaded only when selected (LAZY_GEOMETRY). */
  divisionGeometry: DataLoader<string, unknown>
  /**
   * What the request's operation selects, by type (set by lookaheadPlugin before it runs); the
   * entity loaders of LEAN_TYPES read only the columns it shows. Unset: whole rows.
   */
  selection: { fields?: Selection }
  /**
   * Entities a joined lookup or page has already read in this request, by id: a reference to one
   * of them resolves at once (no promise, no batch), the rest through `entity`'s loaders.
   */
  known: Map<string, EntityObject>
}

/** Entity types whose loaders read only the selected columns. */
const LEAN_TYPES: ReadonlySet<EntityTypeName> = new Set(['PERSON', 'LEGAL_ENTITY', 'ADDRESS', 'ADMIN_DIVISION'])

/** The registry fields a request needs of an entity type (undefined: the whole row). */
export function fieldsNeeded(loaders: Loaders, entityType: EntityTypeName): Set<string> | undefined {
  return fieldsNeededOf(loaders.selection, entityType)
}

/**
 * What a key lookup of this type reads in its one statement: the selected columns and, up to
 * `depth` references deep, the entities its selected references name (each with its own selected
 * columns), so their loaders are primed instead of running a statement each.
 */
export function joinPlan(loaders: Loaders, entityType: EntityTypeName, depth = 2): JoinPlan {
  const fields = fieldsNeededOf(loaders.selection, entityType)
  const selected = loaders.selection.fields?.get(ENTITY_SPECS[entityType].typeName)
  const joins: JoinPlan['joins'] = []
  if (depth > 0 && selected && LEAN_TYPES.has(entityType))
    for (const f of ENTITY_SPECS[entityType].fields)
      if (f.kind.type === 'reference' && selected.has(f.name) && LEAN_TYPES.has(f.kind.target))
        joins.push({ field: f.name, plan: joinPlan(loaders, f.kind.target, depth - 1) })
  return { entityType, fields, joins }
}

/** Makes an entity read by a joined statement the request's answer for its id (loader and `known`). */
export function primeEntity(loaders: Loaders, e: EntityObject): void {
  loaders.entity[e.entityType].prime(e.id, e)
  if (!loaders.known.has(e.id)) loaders.known.set(e.id, e)
}

/** Primes the loaders with the entities of joined rows ([root, referenced…] each); returns the roots in row order. */
export function primeRows(loaders: Loaders, rows: EntityObject[][]): EntityObject[] {
  for (const row of rows) for (const e of row) primeEntity(loaders, e)
  return rows.map((r) => r[0])
}

/** Primes the loaders with the entities a joined lookup read; returns the matches (lowest id first). */
export function primeJoined(loaders: Loaders, rows: EntityObject[][]): EntityObject[] {
  return primeRows(loaders, rows).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/**
 * The entity a reference names: the one this request has already read when there is one
 * (synchronously), else loaded (batched with the other loads of its type); null for no id.
 */
export function entityRef(
  loaders: Loaders,
  entityType: EntityTypeName,
  id: string | null | undefined,
): EntityObject | null | Promise<EntityObject | null> {
  if (!id) return null
  const known = loaders.known.get(id)
  return known && known.entityType === entityType ? known : loaders.entity[entityType].load(id)
}

function fieldsNeededOf(selection: Loaders['selection'], entityType: EntityTypeName): Set<string> | undefined {
  if (!LEAN_TYPES.has(entityType)) return undefined
  const selected = selection.fields?.get(ENTITY_SPECS[entityType].typeName)
  return selected ? neededFields(entityType, selected) : undefined
}

export interface Context {
  /** Where this request reads: a streaming replica for a query when one is fit, else the primary. */
  knex: Knex
  /** The primary, for writes made while serving a query (the access log). */
  primary?: Knex
  config: Config
  principal: Principal
  /** Free-text purpose from the X-Purpose header, for the access log. */
  purpose: string | null
  loaders: Loaders
}

/** A fresh DataLoader set: one per request, never shared, so no caller sees another's cache. */
export function createLoaders(knex: Knex): Loaders {
  const selection: Loaders['selection'] = {}
  // Every load of a type in the request batches into one statement with the same columns: the
  // union of what the whole operation selects of that type.
  const entity = Object.fromEntries(
    ENTITY_TYPES.map((t) => [
      t,
      new DataLoader<string, EntityObject | null>((ids) => loadEntities(knex, t, ids, fieldsNeededOf(selection, t))),
    ]),
  ) as Loaders['entity']
  let rules: Promise<AuthorityRules> | undefined
  let dataItems: Promise<DataItemRecord[]> | undefined
  const loadRules = () => (rules ??= cachedAuthorityRules(knex))
  return {
    selection,
    known: new Map(),
    rules: loadRules,
    dataItems: () => (dataItems ??= loadRules().then((r) => listDataItems(knex, r))),
    itemValueCount: new DataLoader(async (keys) => {
      const counts = await countGoldenValues(
        knex,
        keys.map((k) => {
          const [entityType, field] = k.split('|')
          return { entityType, field }
        }),
      )
      return keys.map((k) => counts.get(k) ?? 0)
    }),
    entity,
    entityType: new DataLoader((ids) => loadEntityTypes(knex, ids)),
    divisionGeometry: new DataLoader((ids) => loadDivisionGeometries(knex, ids)),
    golden: new DataLoader((ids) => goldenValuesOf(knex, ids)),
    openConflictFields: new DataLoader((ids) => openConflictFieldsOf(knex, ids)),
    principal: new DataLoader((ids) => principalsById(knex, ids)),
    representativeOf: new DataLoader((ids) => representedEntityIds(knex, ids)),
    department: new DataLoader((codes) => departmentsByCode(knex, codes)),
  }
}
