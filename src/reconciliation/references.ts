import type { Knex } from 'knex'
import type { EntityTypeName } from '../shared/entity-types.js'
import { ENTITY_SPECS } from './fields.js'
import { REFERENCE_TARGET_KEY } from './projection.js'
import type { ValidatedRecord } from './rules/validate.js'

/** A reference in an accepted record that names no entity (yet): kept, linked once the target arrives. */
export interface UnresolvedReference {
  index: number
  field: string
  message: string
}

/**
 * The references (address text, credit code, division code, entity id, …) of the given accepted
 * records that match no entity, looked up the way the projection links them. Returns [] when
 * every reference resolves. Call after the records are applied, so targets in the same batch count.
 */
export async function findUnresolvedReferences(
  trx: Knex.Transaction,
  entityType: EntityTypeName,
  records: { index: number; record: ValidatedRecord }[],
): Promise<UnresolvedReference[]> {
  const refs = ENTITY_SPECS[entityType].fields.filter((f) => f.kind.type === 'reference')
  if (!refs.length || !records.length) return []
  const wanted = new Map<EntityTypeName, Set<string>>()
  for (const { record } of records)
    for (const f of refs) {
      const v = record.values[f.name]
      if (typeof v !== 'string' || f.kind.type !== 'reference') continue
      const set = wanted.get(f.kind.target) ?? new Set<string>()
      wanted.set(f.kind.target, set.add(v))
    }
  const found = new Map<EntityTypeName, Set<string>>()
  for (const [target, keys] of wanted) {
    const table = ENTITY_SPECS[target].table
    const column = REFERENCE_TARGET_KEY[target]!
    const all = [...keys]
    const natural = all.filter((k) => !k.startsWith('id:'))
    const ids = all.filter((k) => k.startsWith('id:')).map((k) => k.slice(3))
    const hits = new Set<string>()
    if (natural.length) {
      const { rows } = await trx.raw(`SELECT ${column} AS k FROM ${table} WHERE ${column} = ANY(?::text[])`, [natural])
      for (const r of rows) hits.add(r.k)
    }
    if (ids.length) {
      const { rows } = await trx.raw(`SELECT id::text AS id FROM ${table} WHERE id = ANY(?::uuid[])`, [ids])
      for (const r of rows) hits.add(`id:${r.id}`)
    }
    found.set(target, hits)
  }
  const out: UnresolvedReference[] = []
  for (const { index, record } of records)
    for (const f of refs) {
      const v = record.values[f.name]
      if (typeof v !== 'string' || f.kind.type !== 'reference' || found.get(f.kind.target)?.has(v)) continue
      const typeName = ENTITY_SPECS[f.kind.target].typeName
      out.push({
        index,
        field: f.name,
        message: `${f.name} "${v.startsWith('id:') ? v.slice(3) : v}" matches no ${typeName}: the reference is kept and linked when that ${typeName} is submitted; until then ${f.name} is null`,
      })
    }
  return out
}
