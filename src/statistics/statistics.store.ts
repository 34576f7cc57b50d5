import type { Knex } from 'knex'
import { namedStatement } from '../db/knex.js'
import { rowToObject, selectColumns } from '../reconciliation/entity.store.js'
import { emptyCounts, sectionKey, type DerivedCounts } from './derivations.js'
import type { Indicator, Observation } from './statistics.type.js'

// Derived statistics come from maintained counts (person_counts, legal_entity_counts: migration
// 20261127130100_maintain_statistics_counts, kept by triggers in the same transaction as every
// write to persons, legal_entities and addresses). A region is a division-code prefix (district
// 330106 → '330106', city 330100 → '3301'); a person or legal entity belongs to it when the
// division_key of its (resolved) address starts with the prefix. Each query groups by
// left(division_key, length) so that many regions of one prefix length cost one pass.
// The live computation over the registers, the reference the tests compare these counts with (and
// the benchmark's "before"), is test/support/live-derived-counts.ts.

export interface AgeCutoffs {
  under15: string
  under65: string
}
/** Builds the one statement counting a group of same-length prefixes (see derivedCountsQuery). */
export type CountsQuery = (knex: Knex, sameLengthPrefixes: string[], cutoffs: AgeCutoffs) => Knex.Raw

/**
 * The same counts from the maintained aggregates. Residents are counted per birth YEAR, so the
 * two years holding an age-band cut-off date come back whole ('B15', 'B65'); for each, the persons
 * of that year on the shorter side of the cut-off are counted live ('C15', 'C65': living persons
 * with a birth date in [lo, hi], an index range of at most half a year), and the split is
 * finished in derivedCountsByPrefix. All in one statement, so one snapshot.
 * Bindings: length, y15, y15, y65, y65, pattern; length, pattern; length, pattern;
 * length, lo15, hi15, pattern; length, lo65, hi65, pattern.
 */
export const AGGREGATE_DERIVED_COUNTS_SQL = (match: (column: string) => string) => `
  SELECT 'R' AS part, left(division_key, ?) AS region, gender AS k1,
         CASE WHEN birth_year IS NULL THEN 'UNKNOWN'
              WHEN birth_year > ? THEN '0-14' WHEN birth_year = ? THEN 'B15'
              WHEN birth_year > ? THEN '15-64' WHEN birth_year = ? THEN 'B65'
              ELSE '65+' END AS k2,
         sum(n)::int AS n
    FROM person_counts WHERE kind = 'RESIDENT' AND ${match('division_key')}
   GROUP BY 2, 3, 4
  UNION ALL
  SELECT 'H', left(division_key, ?), NULL, NULL, sum(n)::int
    FROM person_counts WHERE kind = 'HOUSEHOLD' AND ${match('division_key')}
   GROUP BY 2
  UNION ALL
  SELECT 'L', left(division_key, ?), kind, industry_division, sum(n)::int
    FROM legal_entity_counts WHERE ${match('division_key')}
   GROUP BY 2, 3, 4
  UNION ALL
  SELECT 'C15', left(a.division_key, ?), p.gender, NULL, count(*)::int
    FROM persons p JOIN addresses a ON a.id = p.residence_address_id
   WHERE p.death_date IS NULL AND p.birth_date BETWEEN ?::date AND ?::date AND ${match('a.division_key')}
   GROUP BY 2, 3
  UNION ALL
  SELECT 'C65', left(a.division_key, ?), p.gender, NULL, count(*)::int
    FROM persons p JOIN addresses a ON a.id = p.residence_address_id
   WHERE p.death_date IS NULL AND p.birth_date BETWEEN ?::date AND ?::date AND ${match('a.division_key')}
   GROUP BY 2, 3`

/**
 * The boundary year of a cut-off date and the shorter side of it to count live: 'young' = born
 * after the cut-off within the year, (cutoff, 31 Dec]; 'old' = [1 Jan, cutoff].
 */
export function boundarySide(cutoff: string): {
  year: number
  side: 'young' | 'old'
  lo: string
  hi: string
} {
  const year = Number(cutoff.slice(0, 4))
  const y = cutoff.slice(0, 4)
  if (cutoff.slice(5) <= '07-01') return { year, side: 'old', lo: `${y}-01-01`, hi: cutoff }
  const next = new Date(`${cutoff}T00:00:00Z`)
  next.setUTCDate(next.getUTCDate() + 1)
  return { year, side: 'young', lo: next.toISOString().slice(0, 10), hi: `${y}-12-31` }
}

export const matcher = (one: boolean) => (column: string) =>
  one ? `${column} LIKE ?` : `${column} LIKE ANY(?::text[])`

/**
 * The one statement counting a group of prefixes of the same length from the maintained counts
 * (also used by bench/statistics.ts to time the SQL alone).
 */
export const derivedCountsQuery: CountsQuery = (knex, sameLengthPrefixes, cutoffs) => {
  const length = sameLengthPrefixes[0].length
  // One prefix: a plain LIKE, which an index on division_key can serve.
  const one = sameLengthPrefixes.length === 1
  const pattern = one ? `${sameLengthPrefixes[0]}%` : sameLengthPrefixes.map((p) => `${p}%`)
  const [b15, b65] = [boundarySide(cutoffs.under15), boundarySide(cutoffs.under65)]
  return knex.raw(AGGREGATE_DERIVED_COUNTS_SQL(matcher(one)), [
    length,
    b15.year,
    b15.year,
    b65.year,
    b65.year,
    pattern,
    length,
    pattern,
    length,
    pattern,
    length,
    b15.lo,
    b15.hi,
    pattern,
    length,
    b65.lo,
    b65.hi,
    pattern,
  ])
}

const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n)

type CountRow = {
  part: 'R' | 'H' | 'L' | 'C15' | 'C65'
  region: string
  k1: string | null
  k2: string | null
  n: number
}

/**
 * Register counts for each code prefix, ages as of the cut-off dates; a prefix with no persons or
 * legal entities maps to zero counts (never missing). Read from the maintained counts; a test
 * passes its own `query` (the live reference) to compare.
 */
export async function derivedCountsByPrefix(
  knex: Knex,
  prefixes: string[],
  cutoffs: AgeCutoffs,
  query: CountsQuery = derivedCountsQuery,
): Promise<Map<string, DerivedCounts>> {
  const result = new Map<string, DerivedCounts>(prefixes.map((p) => [p, emptyCounts()]))
  const byLength = new Map<number, string[]>()
  for (const p of new Set(prefixes)) byLength.set(p.length, [...(byLength.get(p.length) ?? []), p])
  const sides = { B15: boundarySide(cutoffs.under15).side, B65: boundarySide(cutoffs.under65).side }
  // The two boundary-year bands: [younger band, older band].
  const bands = { B15: ['0-14', '15-64'], B65: ['15-64', '65+'] } as const
  for (const [, group] of byLength) {
    const { rows } = await query(knex, group, cutoffs)
    // region → 'B15:MALE' → whole boundary-year count, and the live count of its shorter side.
    const boundary = new Map<string, Map<string, { whole: number; side: number }>>()
    const at = (region: string, key: string) => {
      let m = boundary.get(region)
      if (!m) boundary.set(region, (m = new Map()))
      let v = m.get(key)
      if (!v) m.set(key, (v = { whole: 0, side: 0 }))
      return v
    }
    for (const r of rows as CountRow[]) {
      const c = result.get(r.region)
      if (!c) continue
      if (r.part === 'R') {
        c.residents += r.n
        add(c.residentsByGender, r.k1 ?? 'UNKNOWN', r.n)
        if (r.k2 === 'B15' || r.k2 === 'B65') at(r.region, `${r.k2}:${r.k1 ?? ''}`).whole += r.n
        else add(c.residentsByAgeBand, r.k2!, r.n)
      } else if (r.part === 'H') {
        c.householdRegistered += r.n
      } else if (r.part === 'L') {
        c.legalEntities += r.n
        add(c.legalEntitiesByKind, r.k1 ?? 'UNKNOWN', r.n)
        add(c.legalEntitiesByIndustrySection, sectionKey(r.k2), r.n)
      } else {
        at(r.region, `${r.part === 'C15' ? 'B15' : 'B65'}:${r.k1 ?? ''}`).side += r.n
      }
    }
    for (const [region, m] of boundary) {
      const c = result.get(region)!
      for (const [key, { whole, side }] of m) {
        const b = key.slice(0, 3) as 'B15' | 'B65'
        const young = sides[b] === 'young' ? side : whole - side
        add(c.residentsByAgeBand, bands[b][0], young)
        add(c.residentsByAgeBand, bands[b][1], whole - young)
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
 * recordedAt are those of the golden `value` (of `status` when no value was published); with
 * `provenance: false` (a query that selects neither) the golden values are not joined and both
 * stay undefined. Runs as a named prepared statement (one per combination of conditions).
 */
export async function observationRows(
  knex: Knex,
  where: {
    indicatorId?: string
    indicatorCode?: string
    regionId?: string
    regionCode?: string
    period?: string
  },
  provenance = true,
): Promise<ObservationRow[]> {
  const q = knex('observations as o')
    .join('indicators as i', 'i.id', 'o.indicator_id')
    .join('admin_divisions as d', 'd.id', 'o.region_id')
    .select(
      'o.id',
      'o.period',
      'o.value',
      'o.status',
      'o.indicator_id',
      'o.region_id',
      'i.code as indicator_code',
      'd.code as region_code',
    )
  if (provenance)
    q.leftJoin('golden_values as gv', function () {
      this.on('gv.entity_id', 'o.id').andOnVal('gv.field', 'value')
    })
      .leftJoin('golden_values as gs', function () {
        this.on('gs.entity_id', 'o.id').andOnVal('gs.field', 'status')
      })
      .select(
        knex.raw('coalesce(gv.source_department, gs.source_department) AS source_code'),
        knex.raw('coalesce(gv.recorded_at, gs.recorded_at) AS recorded_at'),
      )
  if (where.indicatorId) q.where('o.indicator_id', where.indicatorId)
  if (where.indicatorCode) q.where('i.code', where.indicatorCode)
  if (where.regionId) q.where('o.region_id', where.regionId)
  if (where.regionCode) q.where('d.code', where.regionCode)
  if (where.period) q.where('o.period', where.period)
  const named = namedStatement(knex, q.toSQL().sql)
  const rows = (await (named ? q.options(named) : q)) as Record<string, any>[]
  return rows.map((r: Record<string, any>) => ({
    id: r.id,
    entityType: 'OBSERVATION',
    period: r.period,
    value: r.value === null ? null : Number(r.value),
    status: r.status ?? 'FINAL',
    ...(provenance
      ? {
          recordedAt: r.recorded_at ? new Date(r.recorded_at) : new Date(0),
          sourceCode: r.source_code ?? 'STATS',
        }
      : {}),
    indicatorId: r.indicator_id,
    regionId: r.region_id,
    indicatorCode: r.indicator_code,
    regionCode: r.region_code,
  }))
}

/** Names of divisions by id; an unknown id is missing from the map. */
export async function divisionNames(knex: Knex, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map()
  const rows = await knex('admin_divisions').select('id', 'name').whereIn('id', ids)
  return new Map(rows.map((r: { id: string; name: string }) => [r.id, r.name]))
}
