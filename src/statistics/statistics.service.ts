import type { Knex } from 'knex'
import type { Context } from '../graphql/context.js'
import { comparePeriods, parsePeriod, type Period } from '../reconciliation/rules/period.js'
import { badInput, notFound } from '../shared/errors.js'
import { divisionCodePrefix } from '../spatial/spatial-filter.js'
import type { AdminDivision } from '../spatial/admin-division.type.js'
import {
  AGE_BANDS,
  DERIVATIONS,
  ORDERS,
  ageBandCutoffs,
  countList,
  relativeDifference,
  type DerivedCounts,
} from './derivations.js'
import { divisionByCode } from '../spatial/admin-division.store.js'
import { derivedCountsByPrefix, observationRows, type ObservationRow } from './statistics.store.js'
import type { DerivedStatistics } from './statistics.type.js'

/** Default threshold of statisticsDiscrepancies: a published figure 5 % or more off the register count. */
export const DEFAULT_MIN_RELATIVE_DIFFERENCE = 0.05

/** A period argument parsed; null when absent; BAD_USER_INPUT (INVALID_VALUE) naming the field when malformed. */
export function periodArg(value: string | null | undefined, field: string): Period | null {
  if (value === null || value === undefined) return null
  const p = parsePeriod(value)
  if (!p) throw badInput(`${field} must be a year '2024', quarter '2024Q2' or month '2024-05'`, field)
  return p
}

export interface PeriodRange {
  from: Period | null
  to: Period | null
}

/** periodFrom/periodTo checked and parsed; BAD_USER_INPUT on periodTo when it ends before periodFrom starts. */
export function periodRange(periodFrom: string | null | undefined, periodTo: string | null | undefined): PeriodRange {
  const from = periodArg(periodFrom, 'periodFrom')
  const to = periodArg(periodTo, 'periodTo')
  if (from && to && to.end < from.start) throw badInput('periodTo must not end before periodFrom starts', 'periodTo')
  return { from, to }
}

/**
 * Observations whose period lies entirely within the range (a year counts for 2024Q1..2024Q4 only
 * when the range covers the whole year), ordered by region code, then period (comparePeriods).
 */
export function inRangeSorted<T extends { period: string; regionCode?: string }>(rows: T[], range: PeriodRange): T[] {
  return rows
    .map((r) => ({ r, p: parsePeriod(r.period) }))
    .filter(({ p }) => p && (!range.from || p.start >= range.from.start) && (!range.to || p.end <= range.to.end))
    .sort((a, b) =>
      (a.r.regionCode ?? '') < (b.r.regionCode ?? '')
        ? -1
        : (a.r.regionCode ?? '') > (b.r.regionCode ?? '')
          ? 1
          : comparePeriods(a.p!, b.p!),
    )
    .map(({ r }) => r)
}

/** Checks a region code argument: BAD_USER_INPUT (INVALID_DIVISION_CODE) naming the field when malformed. */
export function regionArg(code: string, field: string): string {
  divisionCodePrefix(code, field)
  return code
}

/**
 * Observations of an indicator and/or region within the period range, sorted; [] when nothing
 * matches. `provenance: false` leaves out source and recordedAt (see observationRows).
 */
export async function findObservations(
  knex: Knex,
  where: { indicatorId?: string; indicatorCode?: string; regionId?: string; regionCode?: string },
  periodFrom: string | null | undefined,
  periodTo: string | null | undefined,
  provenance = true,
): Promise<ObservationRow[]> {
  const range = periodRange(periodFrom, periodTo)
  return inRangeSorted(await observationRows(knex, where, provenance), range)
}

/**
 * Whether a request's operation may show an observation's source or recordedAt (the golden value
 * behind it): true unless its lookahead is known and selects neither on Observation.
 */
export function selectsObservationProvenance(selection: Context['loaders']['selection']): boolean {
  const fields = selection.fields
  if (!fields) return true
  const observation = fields.get('Observation')
  return !!observation && (observation.has('source') || observation.has('recordedAt'))
}

/** Today's date in UTC, YYYY-MM-DD: the reference date of the age bands. */
export function today(): string {
  return new Date().toISOString().slice(0, 10)
}

function toGraphQL(region: AdminDivision, c: DerivedCounts): DerivedStatistics {
  return {
    region,
    residentCount: c.residents,
    householdRegisteredCount: c.householdRegistered,
    residentsByGender: countList(c.residentsByGender, ORDERS.gender),
    residentsByAgeBand: countList(c.residentsByAgeBand, AGE_BANDS),
    legalEntityCount: c.legalEntities,
    legalEntitiesByKind: countList(c.legalEntitiesByKind, [], ORDERS.kind),
    legalEntitiesByIndustrySection: countList(c.legalEntitiesByIndustrySection, [], ORDERS.section),
    // Exact here; the resolvers apply the caller's disclosure rule (disclosure.ts).
    personCountsRoundedTo: null,
  }
}

/** Derived statistics of a known division (its code prefix), ages as of referenceDate (default today). */
export async function derivedStatisticsOf(
  knex: Knex,
  region: AdminDivision,
  referenceDate = today(),
): Promise<DerivedStatistics> {
  const prefix = divisionCodePrefix(region.code, 'regionCode')
  const counts = await derivedCountsByPrefix(knex, [prefix], ageBandCutoffs(referenceDate))
  return toGraphQL(region, counts.get(prefix)!)
}

/** Derived statistics by region code; BAD_USER_INPUT for a malformed code, NOT_FOUND for an unknown division. */
export async function derivedStatisticsByCode(knex: Knex, regionCode: string): Promise<DerivedStatistics> {
  regionArg(regionCode, 'regionCode')
  const region = await divisionByCode(knex, regionCode)
  if (!region) throw notFound(`No admin division has code ${regionCode}`)
  return derivedStatisticsOf(knex, region as unknown as AdminDivision)
}

export interface Discrepancy {
  indicatorId: string
  indicatorCode: string
  regionId: string
  regionCode: string
  period: string
  publishedValue: number | null
  derivedValue: number | null
  relativeDifference: number | null
}

/**
 * Published observations of derivable indicators for `period` next to the value derived from the
 * registers today, those at least minRelativeDifference apart (null differences — derived 0,
 * published not — always count); ordered by indicator code, then region code. Observations
 * without a published value are skipped. BAD_USER_INPUT for a malformed period or a negative threshold.
 */
export async function findDiscrepancies(
  knex: Knex,
  period: string,
  minRelativeDifference: number | null | undefined,
  referenceDate = today(),
): Promise<Discrepancy[]> {
  periodArg(period, 'period')
  const min = minRelativeDifference ?? DEFAULT_MIN_RELATIVE_DIFFERENCE
  if (!Number.isFinite(min) || min < 0)
    throw badInput('minRelativeDifference must be a number ≥ 0', 'minRelativeDifference')
  const rows = (await observationRows(knex, { period })).filter(
    (r) => Object.hasOwn(DERIVATIONS, r.indicatorCode) && r.value !== null,
  )
  if (!rows.length) return []
  const prefixOf = new Map(rows.map((r) => [r.regionCode, divisionCodePrefix(r.regionCode, 'regionCode')]))
  const counts = await derivedCountsByPrefix(knex, [...new Set(prefixOf.values())], ageBandCutoffs(referenceDate))
  const out: Discrepancy[] = []
  for (const r of rows) {
    const derived = DERIVATIONS[r.indicatorCode](counts.get(prefixOf.get(r.regionCode)!)!)
    const diff = relativeDifference(r.value!, derived)
    if (diff !== null && diff < min) continue
    out.push({
      indicatorId: r.indicatorId,
      indicatorCode: r.indicatorCode,
      regionId: r.regionId,
      regionCode: r.regionCode,
      period: r.period,
      publishedValue: r.value,
      derivedValue: derived,
      relativeDifference: diff,
    })
  }
  return out.sort((a, b) =>
    a.indicatorCode < b.indicatorCode
      ? -1
      : a.indicatorCode > b.indicatorCode
        ? 1
        : a.regionCode < b.regionCode
          ? -1
          : a.regionCode > b.regionCode
            ? 1
            : 0,
  )
}
