import type { Knex } from 'knex'
import { lockKeys, withTransaction } from '../db/transaction.js'
import { ENTITY_TYPES, type EntityTypeName, type SharingClassName } from '../shared/entity-types.js'
import { badInput } from '../shared/errors.js'
import type { AuthorityRules } from './authority.store.js'
import { coreCreatedAt, insertDataItems, listDataItemRows, type DbDataItemRow } from './data-items.store.js'
import { ENTITY_SPECS, fieldForAttribute, type FieldSpec } from './fields.js'
import {
  checkDataItemDefinition,
  coreDataType,
  itemFieldSpec,
  type CodeLabel,
  type DataItemDefinition,
  type DataItemTypeName,
} from './rules/data-item.js'
import { ValidationError } from './rules/validate.js'

/** One data item of the catalogue, core or extended, with its owner and sharing class. */
export interface DataItemRecord {
  code: string
  entityType: EntityTypeName
  name: string
  title: string
  description: string | null
  dataType: DataItemTypeName
  codeList: CodeLabel[] | null
  authorityCode: string
  fallbackCodes: string[]
  sharingClass: SharingClassName
  core: boolean
  updateCycle: string | null
  createdAt: Date
}

/**
 * The extended items of the catalogue in memory: their validation specs by `ENTITY_TYPE|name`.
 * Read from the database by each submission (a few hundred rows), so an item takes values from
 * the moment its definition commits, in every process, with no restart and no cache to clear.
 */
export class ItemCatalogue {
  readonly specs: ReadonlyMap<string, FieldSpec>
  constructor(readonly rows: DbDataItemRow[]) {
    this.specs = new Map(rows.map((r) => [`${r.entity_type}|${r.name}`, itemFieldSpec(definitionOf(r))]))
  }

  /** True when the entity type has a core field or an extended item of this name. */
  has(entityType: EntityTypeName, name: string): boolean {
    return !!ENTITY_SPECS[entityType]?.fields.some((f) => f.name === name) || this.specs.has(`${entityType}|${name}`)
  }
}

function definitionOf(r: DbDataItemRow): DataItemDefinition {
  return {
    entityType: r.entity_type,
    name: r.name,
    title: r.title,
    dataType: r.data_type,
    codeList: r.code_list,
    pattern: r.pattern,
    min: r.min_value,
    max: r.max_value,
    authority: '',
    sharingClass: 'NONE',
  }
}

/** Loads the extended items (an empty catalogue when none is defined). */
export async function loadItemCatalogue(db: Knex | Knex.Transaction): Promise<ItemCatalogue> {
  return new ItemCatalogue(await listDataItemRows(db))
}

/** Whether a name is a core field or alias of the entity type (or one of its rule-only fields). */
function isCoreName(entityType: EntityTypeName, name: string): boolean {
  return (
    !!fieldForAttribute(entityType, name) ||
    name === 'geometry' ||
    (entityType === 'LEGAL_ENTITY' && name === 'employees')
  )
}

/**
 * Checks and stores item definitions (ADMIN, or the seed's catalogue file) in one transaction:
 * all or none. Returns the stored rows. Throws BAD_USER_INPUT naming the input field (prefixed
 * with the item's position when more than one is given): see checkDataItemDefinition.
 */
export async function defineDataItems(
  knex: Knex,
  actor: { principalId: string | null; departmentCode: string | null },
  defs: DataItemDefinition[],
): Promise<DbDataItemRow[]> {
  return withTransaction(
    knex,
    {
      operation: 'defineDataItem',
      principalId: actor.principalId,
      departmentCode: actor.departmentCode,
      reason: defs.length === 1 ? `${defs[0].entityType}.${defs[0].name}` : `${defs.length} data items`,
    },
    async (tx) => {
      // Definitions run one at a time, so a name defined concurrently is seen here (a coded
      // error) rather than by the primary key (a raw one).
      await lockKeys(tx, ['data_items'])
      const departments = new Set((await tx.trx('departments').pluck('code')) as string[])
      const existing = await loadItemCatalogue(tx.trx)
      const seen = new Set<string>()
      const checked = defs.map((def, i) => {
        try {
          const d = checkDataItemDefinition(def, {
            departments,
            taken: (t, n) => isCoreName(t, n) || existing.specs.has(`${t}|${n}`) || seen.has(`${t}|${n}`),
          })
          seen.add(`${d.entityType}|${d.name}`)
          return d
        } catch (e) {
          if (!(e instanceof ValidationError)) throw e
          const at = defs.length > 1 ? `input[${i}].` : 'input.'
          throw badInput(e.message, `${at}${e.field}`, e.code)
        }
      })
      return insertDataItems(tx, checked)
    },
  )
}

/**
 * The catalogue: every core field of the registry (core: true) and every extended item, with
 * owner and sharing class from the authority table; filtered by entity type, owner department
 * and core. Core items without an authority rule are shown as owned by STATS with sharing NONE.
 */
export async function listDataItems(
  knex: Knex,
  rules: AuthorityRules,
  filter: { entityType?: EntityTypeName | null; department?: string | null; core?: boolean | null } = {},
): Promise<DataItemRecord[]> {
  const coreAt = (await coreCreatedAt(knex)) ?? new Date(0)
  const out: DataItemRecord[] = []
  const rows = filter.core === true ? [] : await listDataItemRows(knex)
  for (const t of ENTITY_TYPES) {
    if (filter.entityType && filter.entityType !== t) continue
    const rule = (name: string) => rules.ruleFor(t, name)
    if (filter.core !== false)
      for (const f of ENTITY_SPECS[t].fields) {
        const r = rule(f.name)
        out.push({
          code: `${t}.${f.name}`,
          entityType: t,
          name: f.name,
          title: f.label,
          description: null,
          dataType: coreDataType(f.kind),
          codeList: f.kind.type === 'enum' ? f.kind.values.map((v) => ({ code: v, label: v })) : null,
          authorityCode: r?.authority ?? 'STATS',
          fallbackCodes: r?.fallbacks ?? [],
          sharingClass: r?.sharingClass ?? 'NONE',
          core: true,
          updateCycle: null,
          createdAt: coreAt,
        })
      }
    for (const d of rows) {
      if (d.entity_type !== t) continue
      const r = rule(d.name)
      out.push({
        code: `${t}.${d.name}`,
        entityType: t,
        name: d.name,
        title: d.title,
        description: d.description,
        dataType: d.data_type,
        codeList: d.code_list,
        authorityCode: r?.authority ?? 'STATS',
        fallbackCodes: r?.fallbacks ?? [],
        sharingClass: r?.sharingClass ?? 'NONE',
        core: false,
        updateCycle: d.update_cycle,
        createdAt: new Date(d.created_at),
      })
    }
  }
  return filter.department ? out.filter((i) => i.authorityCode === filter.department) : out
}

/** One item by its code `ENTITY_TYPE.name`; null when there is none. */
export async function findDataItem(knex: Knex, rules: AuthorityRules, code: string): Promise<DataItemRecord | null> {
  const [t, name] = code.split('.', 2)
  if (!(ENTITY_TYPES as readonly string[]).includes(t) || !name) return null
  const items = await listDataItems(knex, rules, { entityType: t as EntityTypeName })
  return items.find((i) => i.name === name) ?? null
}
