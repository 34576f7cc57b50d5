import type { CountsQuery } from '../../src/statistics/statistics.store.js'
import { matcher } from '../../src/statistics/statistics.store.js'

// The derived statistics computed live from the registers: the reference the maintained counts
// (src/statistics/statistics.store.ts) are tested against, and bench/statistics.ts's "before".
// Not used by the service.

/**
 * The live reference: one statement, one pass per register: residents (living persons by
 * residence address) per region, gender and age band ('R'); household-registered living persons
 * per region ('H'); ACTIVE legal entities per region, kind and GB/T 4754 division prefix such as
 * 'C39' or '39' ('L'). Bindings: length, under15, under65, pattern; length, pattern; length, pattern.
 */
const LIVE_DERIVED_COUNTS_SQL = (match: (column: string) => string) => `
  SELECT 'R' AS part, left(a.division_key, ?) AS region, p.gender AS k1,
         CASE WHEN p.birth_date IS NULL THEN 'UNKNOWN'
              WHEN p.birth_date > ?::date THEN '0-14'
              WHEN p.birth_date > ?::date THEN '15-64'
              ELSE '65+' END AS k2,
         count(*)::int AS n
    FROM persons p JOIN addresses a ON a.id = p.residence_address_id
   WHERE p.death_date IS NULL AND ${match('a.division_key')}
   GROUP BY 2, 3, 4
  UNION ALL
  SELECT 'H', left(a.division_key, ?), NULL, NULL, count(*)::int
    FROM persons p JOIN addresses a ON a.id = p.household_address_id
   WHERE p.death_date IS NULL AND ${match('a.division_key')}
   GROUP BY 2
  UNION ALL
  SELECT 'L', left(a.division_key, ?), le.kind, substring(le.industry_code from '^[A-T]{0,1}[0-9]{0,2}'), count(*)::int
    FROM legal_entities le JOIN addresses a ON a.id = le.registered_address_id
   WHERE le.status = 'ACTIVE' AND ${match('a.division_key')}
   GROUP BY 2, 3, 4`

/** The live reference as a CountsQuery: pass it to derivedCountsByPrefix to count from the registers. */
export const liveDerivedCountsQuery: CountsQuery = (knex, sameLengthPrefixes, cutoffs) => {
  const one = sameLengthPrefixes.length === 1
  const pattern = one ? `${sameLengthPrefixes[0]}%` : sameLengthPrefixes.map((p) => `${p}%`)
  const length = sameLengthPrefixes[0].length
  return knex.raw(LIVE_DERIVED_COUNTS_SQL(matcher(one)), [
    length,
    cutoffs.under15,
    cutoffs.under65,
    pattern,
    length,
    pattern,
    length,
    pattern,
  ])
}
