import type { Knex } from 'knex'
import { rowToObject, selectColumns } from '../reconciliation/entity.store.js'
import { emptyCounts, sectionKey, type DerivedCounts } from './derivations.js'
import type { Indicator, Observation } from './statistics.type.js'

// Derived statistics are computed live from the projection tables. A region is a division-code
// prefix (district 330106 → '330106', city 330100 → '3301'); a person or legal entity belongs to
// it when the division_key of its (resolved) address starts with the prefix. Each query groups by
// left(division_key, length) so that many regions of one prefix length cost one pass.

const REGION_MATCH_ONE = `a.division_key LIKE ?`
const REGION_MATCH_MANY = `a.division_key LIKE ANY(?::text[])`

/**
 * One statement, one pass per register: residents (living persons by residence address) per
 * region, gender and age band ('R'); household-registered living persons per region ('H');
 * ACTIVE legal entities per region, kind and GB/T 4754 division prefix such as 'C39' or '39' ('L').
 * Bindings: length, under15, under65, pattern; length, pattern; length, pattern.
 */
export const DERIVED_COUNTS_SQL = (match: string) => `
  SELECT 'R' AS part, left(a.division_key, ?) AS region, p.gender AS k1,
         CASE WHEN p.birth_date IS NULL THEN 'UNKNOWN'
              WHEN p.birth_date > ?::date THEN '0-14'
              WHEN p.birth_date > ?::date THEN '15-64'
              ELSE '65+' END AS k2,
         count(*)::int AS n
    FROM persons p JOIN addresses a ON a.id = p.residence_address_id
   WHERE p.death_date IS NULL AND ${match}
   GROUP BY 2, 3, 4
  UNION ALL
  SELECT 'H', left(a.division_key, ?), NULL, NULL, count(*)::int
    FROM persons p JOIN addresses a ON a.id = p.household_address_id
   WHERE p.death_date IS NULL AND ${match}
   GROUP BY 2
  UNION ALL
  SELECT 'L', left(a.division_key, ?), le.kind, substring(le.industry_code from '^[A-T]{0,1}[0-9]{0,2}'), count(*)::int
    FROM legal_entities le JOIN addresses a ON a.id = le.registered_address_id
   WHERE le.status = 'ACTIVE' AND ${match}
   GROUP BY 2, 3, 4`

/**
 * The one statement counting a group of prefixes of the same length (also used by
 * bench/statistics.ts to time the SQL alone).
 */
export function derivedCountsQuery(knex: Knex, sameLengthPrefixes: string[], cutoffs: { under15: string; under65: string }): Knex.Raw {
  const length = sameLengthPrefixes[0].length
  // One prefix: a plain LIKE, which the text_pattern_ops index on division_key can serve.
  const one = sameLengthPrefixes.length === 1
  const pattern = one ? `${sameLengthPrefixes[0]}%` : sameLengthPrefixes.map((p) => `${p}%`)
  return knex.raw(DERIVED_COUNTS_SQL(one ? REGION_MATCH_ONE : REGION_MATCH_MANY), [length, cutoffs.under15, cutoffs.under65, pattern, length, pattern, length, pattern])
}

const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n)

/**
 * Register counts for each code prefix, ages as of the cut-off dates; a prefix with no persons or
 * legal entities maps to zero counts (never missing).
 */
export async function derivedCountsByPrefix(
  knex: Knex, prefixes: string[], cutoffs: { under15: string; under65: string },
): Promise<Map<string, DerivedCounts>> {
  const result = new Map<string, DerivedCounts>(prefixes.map((p) => [p, emptyCounts()]))
  const byLength = new Map<number, string[]>()
  for (const p of new Set(prefixes)) byLength.set(p.length, [...(byLength.get(p.length) ?? []), p])
  for (const [, group] of byLength) {
    const { rows } = await derivedCountsQuery(knex, group, cutoffs)
    for (const r of rows as { part: 'R' | 'H' | 'L'; region: string; k1: string | null; k2: string | null; n: number }[]) {
      const c = result.get(r.region)
      if (!c) continue
      if (r.part === 'R') {
        c.residents += r.n
        add(c.residentsByGender, r.k1 ?? 'UNKNOWN', r.n)
        add(c.residentsByAgeBand, r.k2!, r.n)
      } else if (r.part === 'H') {
        c.householdRegistered += r.n
      } else {
        c.legalEntities += r.n
        add(c.legalEntitiesByKind, r.k1 ?? 'UNKNOWN', r.n)
        add(c.legalEntitiesByIndustrySection, sectionKey(r.k2), r.n)
      }
    }
  }
  return result
}

/** One indicator by code; null when none holds it. */
export async function indicatorByCode(knex: Knex, code: string): Promise<Indicator | null> {
  const row = await knex('indicators').select(selectColumns(knex, 'INDICATOR')).where('code', code).first()
  return row ? (rowToObject('INDICATOR', row) as unknown as Indicator) : null
}

/** Indicators of a category (every indicator when category is null), ordered by category, subcategory and code. */
export async function indicatorList(knex: Knex, category: string | null): Promise<Indicator[]> {
  const q = knex('indicators').select(selectColumns(knex, 'INDICATOR')).whereNotNull('code')
  if (category !== null) q.where('category', category)
  const list = (await q).map((r: Record<string, unknown>) => rowToObject('INDICATOR', r) as unknown as Indicator)
  // Sorted here, by code point, so the order does not depend on the database's collation.
  const key = (i: Indicator) => [i.category ?? '\uffff', i.subcategory ?? '\uffff', i.code]
  return list.sort((a, b) => {
    const [ka, kb] = [key(a), key(b)]
    for (let n = 0; n < 3; n++) if (ka[n] !== kb[n]) return ka[n] < kb[n] ? -1 : 1
    return 0
  })
}

export interface ObservationRow extends Observation {
  indicatorCode: string
  regionCode: string
}

/**
 * Observations with a resolved indicator and region, optionally of one indicator and/or one
 * region (exact region, not the divisions below it); in no particular order. Source and
 * recordedAt are those of the golden `value` (of `status` when no value was published).
 */
export async function observationRows(
  knex: Knex, where: { indicatorId?: string; indicatorCode?: string; regionId?: string; regionCode?: string; period?: string },
): Promise<ObservationRow[]> {
  const q = knex('observations as o')
    .join('indicators as i', 'i.id', 'o.indicator_id')
    .join('admin_divisions as d', 'd.id', 'o.region_id')
    .leftJoin('golden_values as gv', function () { this.on('gv.entity_id', 'o.id').andOnVal('gv.field', 'value') })
    .leftJoin('golden_values as gs', function () { this.on('gs.entity_id', 'o.id').andOnVal('gs.field', 'status') })
    .select('o.id', 'o.period', 'o.value', 'o.status', 'o.indicator_id', 'o.region_id', 'i.code as indicator_code', 'd.code as region_code',
      knex.raw('coalesce(gv.source_department, gs.source_department) AS source_code'),
      knex.raw('coalesce(gv.recorded_at, gs.recorded_at) AS recorded_at'))
  if (where.indicatorId) q.where('o.indicator_id', where.indicatorId)
  if (where.indicatorCode) q.where('i.code', where.indicatorCode)
  if (where.regionId) q.where('o.region_id', where.regionId)
  if (where.regionCode) q.where('d.code', where.regionCode)
  if (where.period) q.where('o.period', where.period)
  const rows = await q
  return rows.map((r: Record<string, any>) => ({
    id: r.id, period: r.period, value: r.value === null ? null : Number(r.value), status: r.status ?? 'FINAL',
    recordedAt: r.recorded_at ? new Date(r.recorded_at) : new Date(0), indicatorId: r.indicator_id, regionId: r.region_id,
    sourceCode: r.source_code ?? 'STATS', indicatorCode: r.indicator_code, regionCode: r.region_code,
  }))
}

/** One division by code, as the GraphQL shape; null when none holds it. */
export async function divisionByCode(knex: Knex, code: string): Promise<Record<string, unknown> | null> {
  const row = await knex('admin_divisions').select(selectColumns(knex, 'ADMIN_DIVISION')).where('code', code).first()
  return row ? rowToObject('ADMIN_DIVISION', row) : null
}

/** Names of divisions by id; an unknown id is missing from the map. */
export async function divisionNames(knex: Knex, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map()
  const rows = await knex('admin_divisions').select('id', 'name').whereIn('id', ids)
  return new Map(rows.map((r: { id: string; name: string }) => [r.id, r.name]))
}
