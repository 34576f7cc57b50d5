import type { Knex } from 'knex'

/** One current golden value with its provenance. */
export interface GoldenRow {
  entity_id: string
  field: string
  value: unknown
  status: string
  source_department: string | null
  source_key: string | null
  observed_at: Date | null
  recorded_at: Date
}

/** The golden values of each entity, by field name, in the order of `ids`; empty for an unknown id. */
export async function goldenValuesOf(knex: Knex, ids: readonly string[]): Promise<GoldenRow[][]> {
  const rows: GoldenRow[] = await knex('golden_values')
    .whereIn('entity_id', ids as string[])
    .orderBy('field')
  const byEntity = new Map<string, GoldenRow[]>()
  for (const r of rows) {
    const list = byEntity.get(r.entity_id)
    if (list) list.push(r)
    else byEntity.set(r.entity_id, [r])
  }
  return ids.map((id) => byEntity.get(id) ?? [])
}
