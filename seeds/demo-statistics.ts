import { readFileSync } from 'node:fs'
import type { Knex } from 'knex'
import type { Logger } from 'pino'
import { withTransaction } from '../src/db/transaction.js'
import type { RecordInput } from '../src/reconciliation/rules/validate.js'
import {
  applySubmission,
  type SubmissionOptions,
  type SubmissionResult,
} from '../src/reconciliation/submission.service.js'
import type { EntityTypeName } from '../src/shared/entity-types.js'
import { createRng } from '../src/shared/random.js'
import { divisionCodePrefix } from '../src/spatial/spatial-filter.js'
import { ageBandCutoffs, DERIVATIONS } from '../src/statistics/derivations.js'
import { today } from '../src/statistics/statistics.service.js'
import { derivedCountsByPrefix } from '../src/statistics/statistics.store.js'
import { projectPath } from '../src/shared/paths.js'

interface CatalogueEntry {
  code: string
  name: string
  unit: string
  category: string
  subcategory: string
  owner: string
  description: string
  /** Demo magnitudes: the city's 2024 value, yearly growth, and whether districts add up to the city. */
  demo?: { city2024: number; growth: number; additive: boolean; quarterly?: boolean; monthly?: boolean }
}

/** The demo indicator catalogue (seeds/data/indicators.json, authored for the demo). */
export const INDICATOR_CATALOGUE = (
  JSON.parse(readFileSync(projectPath('seeds', 'data', 'indicators.json'), 'utf8')) as {
    indicators: CatalogueEntry[]
  }
).indicators

/**
 * The deliberate mismatches: published 2024 figures of derivable indicators that differ from the
 * registers by more than the default 5 %, so statisticsDiscrepancies(period: "2024") lists exactly
 * these (every other published derivable figure is within 1 %).
 */
export const DEMO_MISMATCHES: readonly { indicator: string; region: string; factor: number }[] = [
  { indicator: 'POP_RESIDENT', region: '330106', factor: 1.12 },
  { indicator: 'POP_HOUSEHOLD', region: '330110', factor: 0.9 },
  { indicator: 'LE_COUNT', region: '330108', factor: 1.2 },
]

export interface DemoStatisticsOptions extends SubmissionOptions {
  /** The city's code first, then its districts. */
  regionCodes: string[]
  seed?: string
  log?: Pick<Logger, 'info'>
}

async function submit(
  knex: Knex,
  department: string,
  entityType: EntityTypeName,
  records: RecordInput[],
  opts: SubmissionOptions,
): Promise<SubmissionResult> {
  return withTransaction(knex, { operation: 'seed', departmentCode: department }, (tx) =>
    applySubmission(tx, { department, entityType, records }, opts),
  )
}

/**
 * CAB registers the legal entities' registered addresses the demo has not registered yet (the
 * demo registers persons' addresses only), in the district their text names, so that legal
 * entities have a division and LE_COUNT can be derived. Returns how many were registered.
 */
async function registerLegalEntityAddresses(
  knex: Knex,
  districtCodes: string[],
  opts: SubmissionOptions,
): Promise<number> {
  const divisions: { code: string; name: string }[] = await knex('admin_divisions')
    .select('code', 'name')
    .whereIn('code', districtCodes)
  const { rows } = await knex.raw(
    `SELECT DISTINCT registered_address_key AS text FROM legal_entities
      WHERE registered_address_id IS NULL AND registered_address_key IS NOT NULL AND registered_address_key NOT LIKE 'id:%'`,
  )
  const records: RecordInput[] = []
  for (const { text } of rows as { text: string }[]) {
    const district = divisions.find((d) => d.name && text.includes(d.name))
    if (district)
      records.push({
        sourceKey: `addr-${text}`,
        observedAt: '2024-12-31T00:00:00Z',
        attributes: { fullText: text, divisionCode: district.code },
      })
  }
  for (let i = 0; i < records.length; i += 2000) await submit(knex, 'CAB', 'ADDRESS', records.slice(i, i + 2000), opts)
  return records.length
}

const round = (v: number, unit: string) =>
  ['人', '个', '张'].includes(unit) ? Math.round(v) : Math.round(v * 100) / 100

/**
 * Seeds the statistics part of the demo through the engine: the indicator catalogue (STATS, and
 * HRSS for the indicators it owns), then observations for the city and each district, years
 * 2022-2024, quarters of 2024 for a few indicators and months of 2024 for the unemployment rate.
 * Derivable indicators are published within 1 % of the registers' counts (run after persons and
 * legal entities exist) except DEMO_MISMATCHES; the city's 2024 GDP is published PRELIMINARY and
 * then REVISED; HRSS publishes its own, differing, surveyed unemployment rate for 2024 (a conflict).
 */
export async function seedDemoStatistics(knex: Knex, opts: DemoStatisticsOptions): Promise<void> {
  const rng = createRng(opts.seed ?? 'hangzhou-demo-statistics')
  const indicatorRecord = (i: CatalogueEntry): RecordInput => ({
    sourceKey: `indicator-${i.code}`,
    observedAt: '2024-01-01T00:00:00Z',
    attributes: {
      code: i.code,
      name: i.name,
      unit: i.unit,
      category: i.category,
      subcategory: i.subcategory,
      description: i.description,
      ownerCode: i.owner,
    },
  })
  await submit(knex, 'STATS', 'INDICATOR', INDICATOR_CATALOGUE.map(indicatorRecord), opts)
  await submit(
    knex,
    'HRSS',
    'INDICATOR',
    INDICATOR_CATALOGUE.filter((i) => i.owner === 'HRSS').map(indicatorRecord),
    opts,
  )

  const [city, ...districts] = opts.regionCodes
  await registerLegalEntityAddresses(knex, districts, opts)
  const prefixes = new Map(opts.regionCodes.map((c) => [c, divisionCodePrefix(c, 'regionCode')]))
  const counts = await derivedCountsByPrefix(knex, [...prefixes.values()], ageBandCutoffs(today()))
  const cityResidents = Math.max(1, DERIVATIONS.POP_RESIDENT(counts.get(prefixes.get(city)!)!))
  // A district's share of additive figures follows its share of residents, with some spread.
  const share = new Map(
    districts.map((d) => [d, DERIVATIONS.POP_RESIDENT(counts.get(prefixes.get(d)!)!) / cityResidents]),
  )

  const byOwner = new Map<string, RecordInput[]>()
  const publish = (
    owner: string,
    indicator: string,
    region: string,
    period: string,
    value: number,
    status = 'FINAL',
    observedAt = '2025-03-31T00:00:00Z',
  ) => {
    const list = byOwner.get(owner) ?? []
    list.push({
      sourceKey: `obs-${indicator}-${region}-${period}`,
      observedAt,
      attributes: { indicatorCode: indicator, regionCode: region, period, value, status },
    })
    byOwner.set(owner, list)
  }
  const years = ['2022', '2023', '2024']
  for (const i of INDICATOR_CATALOGUE) {
    const derive = DERIVATIONS[i.code]
    for (const region of opts.regionCodes) {
      if (derive) {
        const derived = derive(counts.get(prefixes.get(region)!)!)
        const mismatch = DEMO_MISMATCHES.find((m) => m.indicator === i.code && m.region === region)
        // Earlier years sit a little below today's register (growth), all within the 5 % default.
        const factors = [0.97, 0.985, mismatch ? mismatch.factor : 1 + rng.float(-0.008, 0.008)]
        years.forEach((year, n) => publish(i.owner, i.code, region, year, round(derived * factors[n], i.unit)))
        continue
      }
      if (!i.demo) continue
      const d = i.demo
      const spread = region === city ? 1 : rng.float(0.85, 1.15)
      const level = region === city || !d.additive ? d.city2024 * spread : d.city2024 * share.get(region)! * spread
      years.forEach((year, n) => {
        const value = level / (1 + d.growth) ** (2 - n)
        if (i.code === 'GDP' && region === city && year === '2024') {
          // Published preliminary in January, revised in April (same source record, newer observation).
          publish(i.owner, i.code, region, year, round(value * 0.988, i.unit), 'PRELIMINARY', '2025-01-20T00:00:00Z')
        } else publish(i.owner, i.code, region, year, round(value, i.unit))
      })
      if (d.quarterly)
        for (const q of [1, 2, 3, 4])
          publish(
            i.owner,
            i.code,
            region,
            `2024Q${q}`,
            round((level / 4) * (0.9 + 0.05 * q), i.unit),
            q === 4 ? 'PRELIMINARY' : 'FINAL',
          )
      if (d.monthly && region === city)
        for (let m = 1; m <= 12; m++)
          publish(
            i.owner,
            i.code,
            region,
            `2024-${String(m).padStart(2, '0')}`,
            round(level + rng.float(-0.3, 0.3), i.unit),
          )
    }
  }
  for (const [owner, records] of byOwner) await submit(knex, owner, 'OBSERVATION', records, opts)

  // The revision: the same STATS record, newer observedAt, status REVISED; history keeps the preliminary figure.
  const gdp = byOwner.get('STATS')!.find((r) => r.sourceKey === `obs-GDP-${city}-2024`)!
  const preliminary = (gdp.attributes as { value: number }).value
  await submit(
    knex,
    'STATS',
    'OBSERVATION',
    [
      {
        sourceKey: gdp.sourceKey,
        observedAt: '2025-04-15T00:00:00Z',
        attributes: {
          ...(gdp.attributes as object),
          value: round(preliminary * 1.012, '亿元'),
          status: 'REVISED',
        },
      },
    ],
    opts,
  )
  // HRSS's own estimate of the surveyed unemployment rate disagrees with STATS: a VALUE_MISMATCH.
  const rate = byOwner.get('STATS')!.find((r) => r.sourceKey === `obs-UNEMP_RATE-${city}-2024`)!
  await submit(
    knex,
    'HRSS',
    'OBSERVATION',
    [
      {
        sourceKey: `hrss-UNEMP_RATE-${city}-2024`,
        observedAt: '2025-02-10T00:00:00Z',
        attributes: {
          ...(rate.attributes as object),
          value: round((rate.attributes as { value: number }).value + 0.3, '%'),
        },
      },
    ],
    opts,
  )
  opts.log?.info(
    `demo: ${INDICATOR_CATALOGUE.length} indicators and ${[...byOwner.values()].reduce((n, l) => n + l.length, 0)} observations loaded`,
  )
}
