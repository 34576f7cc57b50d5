// Statistical disclosure control for counts of persons (docs/security.md, "Disclosure rules").
// A count of persons in a small cell identifies them: an anonymous areaSummary of a 2 m square
// answering residentCount 1 says someone lives exactly there. As statistics offices do for
// published tables, a public count below the threshold is suppressed (answered 0) and every other
// public count is rounded to the nearest multiple of the threshold, which also blunts differencing
// (two overlapping polygons differing by one house give the same rounded counts except at a
// rounding boundary). Callers who may see the person fields a count is made of could count the
// records themselves, and get exact counts.

import { canSee } from '../access/visibility.js'
import type { Context } from '../graphql/context.js'
import type { DerivedStatistics } from './statistics.type.js'

/** True when the caller may see where persons live and could count them itself: exact counts. */
export function mayCountPersons(ctx: Context): Promise<boolean> {
  return canSee(ctx, 'PERSON', 'residenceAddress')
}

/**
 * Derived statistics as this caller may see them: exact for callers who may count persons, else
 * every person count (residents, household-registered, by gender, by age band) suppressed/rounded
 * with personCountsRoundedTo set. Legal-entity counts (public registration data) stay exact.
 */
export async function disclosedDerivedStatistics(
  ctx: Context,
  d: DerivedStatistics,
  minCount: number,
): Promise<DerivedStatistics> {
  if (await mayCountPersons(ctx)) return { ...d, personCountsRoundedTo: null }
  const round = (n: number) => disclosedCount(n, minCount)
  return {
    ...d,
    residentCount: round(d.residentCount),
    householdRegisteredCount: round(d.householdRegisteredCount),
    residentsByGender: d.residentsByGender.map((c) => ({ ...c, count: round(c.count) })),
    residentsByAgeBand: d.residentsByAgeBand.map((c) => ({ ...c, count: round(c.count) })),
    personCountsRoundedTo: minCount,
  }
}

/** The count as published: 0 below minCount, else rounded to the nearest multiple of minCount (never below minCount). */
export function disclosedCount(n: number, minCount: number): number {
  if (minCount <= 1) return n
  if (n < minCount) return 0
  return Math.max(minCount, Math.round(n / minCount) * minCount)
}
