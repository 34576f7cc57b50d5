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
  loadDivisionGeometries,
  loadEntities,
  loadEntityTypes,
  type EntityObject,
} from '../reconciliation/entity.store.js'
import { goldenValuesOf, type GoldenRow } from '../reconciliation/golden-values.store.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'

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
  const entity = Object.fromEntries(
    ENTITY_TYPES.map((t) => [t, new DataLoader<string, EntityObject | null>((ids) => loadEntities(knex, t, ids))]),
  ) as Loaders['entity']
  let rules: Promise<AuthorityRules> | undefined
  let dataItems: Promise<DataItemRecord[]> | undefined
  const loadRules = () => (rules ??= cachedAuthorityRules(knex))
  return {
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
