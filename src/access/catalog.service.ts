import type { Knex } from 'knex'
import type { AuthorityRules } from '../reconciliation/authority.store.js'
import { listDataItemRows } from '../reconciliation/data-items.store.js'
import { ENTITY_SPECS, type FieldKind } from '../reconciliation/fields.js'
import { ENTITY_TYPES, type EntityTypeName } from '../shared/entity-types.js'
import type { CatalogEntry, CatalogField } from './access.types.js'

// Which base catalogue each entity type belongs to, and its short resource code.
const BASE: Record<EntityTypeName, { base: string; abbr: string; name: string }> = {
  PERSON: { base: 'POPULATION', abbr: 'POP', name: 'Persons (population register)' },
  LEGAL_ENTITY: { base: 'LEGAL_ENTITY', abbr: 'LE', name: 'Legal entities' },
  ADMIN_DIVISION: { base: 'SPATIAL', abbr: 'SPA', name: 'Administrative divisions' },
  ADDRESS: { base: 'SPATIAL', abbr: 'SPA', name: 'Addresses' },
  BUILDING: { base: 'SPATIAL', abbr: 'SPA', name: 'Buildings' },
  PARCEL: { base: 'SPATIAL', abbr: 'SPA', name: 'Land parcels' },
  INDICATOR: { base: 'STATISTICS', abbr: 'STA', name: 'Statistical indicators' },
  OBSERVATION: { base: 'STATISTICS', abbr: 'STA', name: 'Statistical observations' },
}

/** A registry kind as a catalogue data type, e.g. `enum(MALE|FEMALE|UNKNOWN)`, `reference(LEGAL_ENTITY)`. */
export function dataTypeOf(kind: FieldKind): string {
  switch (kind.type) {
    case 'enum':
      return `enum(${kind.values.join('|')})`
    case 'reference':
      return `reference(${kind.target})`
    case 'geometry':
      return `geometry(${kind.geometryTypes.join('|')})`
    default:
      return kind.type
  }
}

/** Departments by number of fields owned, most first (ties by code). */
const rank = (owners: Map<string, number>) =>
  [...owners.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))

/**
 * The data-resource catalogue, generated from the field registry, the catalogue-defined items and
 * the authority table: one
 * entry per entity type; provider = the department that owns most of its core fields; recordCount
 * from the projection table; updatedAt = the last golden-value change (null when none).
 */
export async function buildCatalog(knex: Knex, rules: AuthorityRules): Promise<CatalogEntry[]> {
  const updated: { entity_type: string; at: Date }[] = await knex('field_history')
    .select('entity_type')
    .max({ at: 'recorded_at' })
    .groupBy('entity_type')
  const updatedAt = new Map(updated.map((r) => [r.entity_type, r.at]))
  const items = await listDataItemRows(knex)
  return Promise.all(
    ENTITY_TYPES.map(async (t) => {
      const spec = ENTITY_SPECS[t]
      const names = spec.fields.map((f) => f.name)
      const own = items.filter((i) => i.entity_type === t)
      const itemNames = new Set(own.map((i) => i.name))
      const extra = rules
        .all()
        .filter((r) => r.entityType === t && !r.entityKind && !names.includes(r.field) && !itemNames.has(r.field))
      const fields: CatalogField[] = [
        ...spec.fields.map((f) => {
          const rule = rules.ruleFor(t, f.name)
          return {
            field: f.name,
            dataType: dataTypeOf(f.kind),
            label: f.label,
            authorityCode: rule?.authority ?? 'STATS',
            sharingClass: rule?.sharingClass ?? 'NONE',
          }
        }),
        ...own.map((i) => {
          const rule = rules.ruleFor(t, i.name)
          return {
            field: i.name,
            dataType:
              i.data_type === 'CODE'
                ? `enum(${(i.code_list ?? []).map((c) => c.code).join('|')})`
                : i.data_type.toLowerCase(),
            label: i.title,
            authorityCode: rule?.authority ?? 'STATS',
            sharingClass: rule?.sharingClass ?? 'NONE',
          }
        }),
        ...extra.map((r) => ({
          field: r.field,
          dataType: 'connection',
          label: r.field,
          authorityCode: r.authority,
          sharingClass: r.sharingClass,
        })),
      ]
      const coreOwners = new Map<string, number>()
      for (const f of fields.slice(0, spec.fields.length))
        coreOwners.set(f.authorityCode, (coreOwners.get(f.authorityCode) ?? 0) + 1)
      const owners = new Map<string, number>()
      for (const f of fields) owners.set(f.authorityCode, (owners.get(f.authorityCode) ?? 0) + 1)
      const ranked = rank(owners)
      const count = await knex(spec.table).count({ n: '*' }).first()
      const classes = new Set(fields.map((f) => f.sharingClass))
      return {
        code: `CFD-${BASE[t].abbr}-${t.replace(/_/g, '-')}`,
        entityType: t,
        name: BASE[t].name,
        summary: `${fields.length} fields from ${ranked.map(([d, n]) => `${d} (${n})`).join(', ')}; sharing: ${[...classes].sort().join(', ')}.`,
        baseCatalogue: BASE[t].base,
        // The register's provider: the owner of most of its core fields (extended items are
        // other departments' contributions to it).
        providerCode: rank(coreOwners)[0]?.[0] ?? 'STATS',
        fields,
        recordCount: Number(count?.n ?? 0),
        updatedAt: updatedAt.get(t) ?? null,
      }
    }),
  )
}
