import { readFileSync } from 'node:fs'
import type { Knex } from 'knex'
import { defineDataItems, loadItemCatalogue } from '../src/reconciliation/data-items.service.js'
import type { DataItemDefinition } from '../src/reconciliation/rules/data-item.js'
import type { RecordInput } from '../src/reconciliation/rules/validate.js'
import type { EntityTypeName } from '../src/shared/entity-types.js'
import type { Rng } from '../src/shared/random.js'
import { projectPath } from '../src/shared/paths.js'

/** One item of seeds/data/data-items.json: a definition plus demo example values for STRING items. */
export interface CatalogueFileItem extends DataItemDefinition {
  examples?: string[]
}

/** The demo city's extended data items (seeds/data/data-items.json). */
export const CATALOGUE_FILE_ITEMS: CatalogueFileItem[] = JSON.parse(
  readFileSync(projectPath('seeds', 'data', 'data-items.json'), 'utf8'),
).items

/**
 * Defines the catalogue file's items that are not defined yet, in one transaction (a rerun adds
 * only new ones and never overwrites an edited one). Returns how many were defined.
 */
export async function seedDataItems(knex: Knex, items: CatalogueFileItem[] = CATALOGUE_FILE_ITEMS): Promise<number> {
  const existing = await loadItemCatalogue(knex)
  const missing = items
    .filter((i) => !existing.specs.has(`${i.entityType}|${i.name}`))
    .map(({ examples: _examples, ...def }) => def)
  if (missing.length) await defineDataItems(knex, { principalId: null, departmentCode: null }, missing)
  return missing.length
}

const DAY = 86_400_000
const FIRST_DAY = Date.UTC(1990, 0, 1)
const LAST_DAY = Date.UTC(2024, 11, 31)

/** A plausible value of an item (deterministic for the generator's state). */
export function demoItemValue(rng: Rng, item: CatalogueFileItem): unknown {
  switch (item.dataType) {
    case 'CODE':
      return rng.pick(item.codeList!).code
    case 'BOOLEAN':
      return rng.chance(0.3)
    case 'DATE':
      return new Date(FIRST_DAY + rng.int(0, (LAST_DAY - FIRST_DAY) / DAY) * DAY).toISOString().slice(0, 10)
    case 'DATETIME':
      return new Date(FIRST_DAY + rng.int(0, (LAST_DAY - FIRST_DAY) / DAY) * DAY).toISOString()
    case 'INTEGER': {
      const lo = item.min ?? 0
      if (/Year$/.test(item.name)) return rng.int(Math.max(lo, 1950), 2024)
      return rng.int(lo, Math.min(item.max ?? lo + 100, lo + 200))
    }
    case 'DECIMAL': {
      const lo = item.min ?? 0
      const hi = Math.min(item.max ?? lo + 10_000, lo + 10_000)
      return Math.round(rng.float(lo, hi) * 100) / 100
    }
    case 'STRING':
      return rng.pick(item.examples ?? [item.title])
  }
}

/** Items of an entity type owned by a department. */
function owned(entityType: EntityTypeName, department: string): CatalogueFileItem[] {
  return CATALOGUE_FILE_ITEMS.filter((i) => i.entityType === entityType && i.authority === department)
}

/** About half of a department's own items of an entity type, with demo values, as attributes. */
export function demoItemAttributes(rng: Rng, entityType: EntityTypeName, department: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const item of owned(entityType, department)) if (rng.chance(0.5)) out[item.name] = demoItemValue(rng, item)
  return out
}

export interface DemoSubmitter {
  add(department: string, entityType: EntityTypeName, record: RecordInput): Promise<void>
  flush(): Promise<void>
}

/** How many entities of each type get item values (the first ones by natural key), and the SQL that lists their keys. */
const SUBJECTS: { entityType: EntityTypeName; limit: number; sql: string; key: (r: any) => Record<string, unknown> }[] =
  [
    {
      entityType: 'PERSON',
      limit: 400,
      sql: 'SELECT id_number FROM persons WHERE id_number IS NOT NULL ORDER BY id_number LIMIT ?',
      key: (r) => ({ idNumber: r.id_number }),
    },
    {
      entityType: 'LEGAL_ENTITY',
      limit: 200,
      sql: 'SELECT credit_code FROM legal_entities WHERE credit_code IS NOT NULL ORDER BY credit_code LIMIT ?',
      key: (r) => ({ creditCode: r.credit_code }),
    },
    {
      entityType: 'ADMIN_DIVISION',
      limit: 100,
      sql: 'SELECT code FROM admin_divisions ORDER BY code LIMIT ?',
      key: (r) => ({ code: r.code }),
    },
    {
      entityType: 'ADDRESS',
      limit: 100,
      sql: 'SELECT full_text FROM addresses WHERE full_text IS NOT NULL ORDER BY normalized_text LIMIT ?',
      key: (r) => ({ fullText: r.full_text }),
    },
    {
      entityType: 'PARCEL',
      limit: 100,
      sql: 'SELECT parcel_code FROM parcels ORDER BY parcel_code LIMIT ?',
      key: (r) => ({ parcelCode: r.parcel_code }),
    },
    {
      entityType: 'INDICATOR',
      limit: 40,
      sql: 'SELECT code FROM indicators ORDER BY code LIMIT ?',
      key: (r) => ({ code: r.code }),
    },
    {
      entityType: 'OBSERVATION',
      limit: 100,
      sql: 'SELECT indicator_key, region_key, period FROM observations ORDER BY indicator_key, region_key, period LIMIT ?',
      key: (r) => ({ indicatorCode: r.indicator_key, regionCode: r.region_key, period: r.period }),
    },
  ]

/**
 * The departments' submissions of extended items: each owner sends about half of its items for
 * 60 % of the first entities of each type; for an item with a fallback, the first fallback
 * department sends its own value for 4 % of them (in its record about the entity), so the demo
 * shows PROVISIONAL item values where the owner is silent and VALUE_MISMATCH conflicts where it
 * is not. Buildings have no natural key and get their items in NRP's own building records instead.
 */
export async function seedDemoItemValues(knex: Knex, s: DemoSubmitter, rng: Rng): Promise<void> {
  const observedAt = '2024-12-31T00:00:00Z'
  for (const subject of SUBJECTS) {
    const { rows } = await knex.raw(subject.sql, [subject.limit])
    const items = CATALOGUE_FILE_ITEMS.filter((i) => i.entityType === subject.entityType)
    const owners = [...new Set(items.map((i) => i.authority))].sort()
    for (const row of rows) {
      const key = subject.key(row)
      const byDepartment = new Map<string, Record<string, unknown>>()
      for (const department of owners)
        if (rng.chance(0.6)) byDepartment.set(department, demoItemAttributes(rng, subject.entityType, department))
      for (const item of items) {
        const fallback = item.fallback?.[0]
        if (!fallback || !rng.chance(0.04)) continue
        const attributes = byDepartment.get(fallback) ?? {}
        byDepartment.set(fallback, { ...attributes, [item.name]: demoItemValue(rng, item) })
      }
      for (const [department, attributes] of byDepartment) {
        if (!Object.keys(attributes).length) continue
        await s.add(department, subject.entityType, {
          sourceKey: `items-${Object.values(key).join('|')}`,
          observedAt,
          attributes: { ...key, ...attributes },
        })
      }
    }
    await s.flush()
  }
}
