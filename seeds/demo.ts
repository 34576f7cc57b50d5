import { readFileSync } from 'node:fs'
import { bbox as boundingBox } from '@turf/bbox'
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon'
import { pointOnFeature } from '@turf/point-on-feature'
import type { Knex } from 'knex'
import type { Logger } from 'pino'
import type { Config } from '../src/config.js'
import { seedDemoAccess } from '../src/access/demo.js'
import { withTransaction } from '../src/db/transaction.js'
import { applySubmission, type SubmissionResult } from '../src/reconciliation/submission.service.js'
import type { RecordInput } from '../src/reconciliation/rules/validate.js'
import type { EntityTypeName } from '../src/shared/entity-types.js'
import { createRng, type Rng } from '../src/shared/random.js'
import { BoundedSet } from '../src/shared/bounded-set.js'
import { generateLegalEntities, generatePersons, type DistrictRef } from './demo/generators.js'
import { seedDemoCrossChecks } from './demo-cross-checks.js'
import { demoItemAttributes, seedDataItems, seedDemoItemValues } from './demo-items.js'
import { seedDemoStatistics } from './demo-statistics.js'
import { projectPath } from '../src/shared/paths.js'

interface DivisionsFile {
  province: { code: string; name: string }
  city: { code: string; name: string }
  districts: DistrictRef[]
}

const dataUrl = (name: string) => projectPath('seeds', 'data', name)
export const HANGZHOU = JSON.parse(readFileSync(dataUrl('hangzhou-divisions.json'), 'utf8')) as DivisionsFile
const BOUNDARIES = JSON.parse(
  readFileSync(dataUrl('hangzhou-district-boundaries.geojson'), 'utf8'),
) as GeoJSON.FeatureCollection<GeoJSON.MultiPolygon, { code: string; name: string }>

export interface DemoOptions {
  persons: number
  legalEntities: number
  seed?: string
  matchHigh: number
  matchLow: number
  extent: [number, number, number, number]
  log?: Pick<Logger, 'info'>
  /** Records per transaction. */
  chunkSize?: number
}

/** Per-department submission in chunks, each chunk its own transaction (memory stays flat). */
class Submitter {
  readonly totals = new Map<string, SubmissionResult>()
  private pending = new Map<string, RecordInput[]>()
  constructor(
    private readonly knex: Knex,
    private readonly opts: DemoOptions,
  ) {}

  async add(department: string, entityType: EntityTypeName, record: RecordInput): Promise<void> {
    const key = `${department}|${entityType}`
    const list = this.pending.get(key) ?? []
    list.push(record)
    this.pending.set(key, list)
    // Everything pending goes, in the order first added: a department's view of a person must not
    // arrive before the PSB record that creates the person (it would be rejected as MISSING_FIELD).
    if (list.length >= (this.opts.chunkSize ?? 2000)) await this.flush()
  }

  async flush(key?: string): Promise<void> {
    for (const k of key ? [key] : [...this.pending.keys()]) {
      const records = this.pending.get(k)
      if (!records?.length) continue
      this.pending.set(k, [])
      const [department, entityType] = k.split('|') as [string, EntityTypeName]
      const r = await withTransaction(this.knex, { operation: 'seed', departmentCode: department }, (tx) =>
        applySubmission(tx, { department, entityType, records }, this.opts),
      )
      const t = this.totals.get(k)
      if (!t) this.totals.set(k, r)
      else {
        for (const f of [
          'accepted',
          'created',
          'updated',
          'unchanged',
          'conflictsOpened',
          'possibleDuplicates',
        ] as const)
          t[f] += r[f]
        t.rejected.push(...r.rejected)
      }
    }
  }
}

function randomPointIn(rng: Rng, polygon: GeoJSON.Feature<GeoJSON.MultiPolygon>, bbox: number[]): [number, number] {
  for (let i = 0; i < 500; i++) {
    const p: [number, number] = [rng.float(bbox[0], bbox[2]), rng.float(bbox[1], bbox[3])]
    if (booleanPointInPolygon(p, polygon)) return [Math.round(p[0] * 1e6) / 1e6, Math.round(p[1] * 1e6) / 1e6]
  }
  const c = pointOnFeature(polygon).geometry.coordinates
  return [c[0], c[1]]
}

/** The door-level part of a generated address ('…路123号'), which is what an address entity stands for. */
function doorLevel(text: string): string {
  const i = text.indexOf('号')
  return i > 0 ? text.slice(0, i + 1) : text
}

function square(center: [number, number], halfMeters: number): GeoJSON.Polygon {
  const dLat = halfMeters / 111_320
  const dLon = halfMeters / (111_320 * Math.cos((center[1] * Math.PI) / 180))
  const [x, y] = center
  const r = (v: number) => Math.round(v * 1e7) / 1e7
  return {
    type: 'Polygon',
    coordinates: [
      [
        [r(x - dLon), r(y - dLat)],
        [r(x + dLon), r(y - dLat)],
        [r(x + dLon), r(y + dLat)],
        [r(x - dLon), r(y + dLat)],
        [r(x - dLon), r(y - dLat)],
      ],
    ],
  }
}

/**
 * Loads the Hangzhou demo as departmental submissions through the reconciliation engine:
 * divisions (CAB) and boundaries (NRP), addresses (CAB text, NRP points), persons (PSB),
 * legal entities (AMR), employment (HRSS), and a few per cent of deliberate disagreements
 * (HEALTH, HOUSING, TAX, STATS) so the demo opens with conflicts, provisional values and duplicates.
 * Deterministic for a given seed. Returns the per-department totals.
 */
export async function seedDemo(knex: Knex, opts: DemoOptions): Promise<Map<string, SubmissionResult>> {
  const rng = createRng(opts.seed ?? 'hangzhou-demo')
  const s = new Submitter(knex, opts)
  const log = opts.log
  const observedAt = '2024-12-31T00:00:00Z'
  // The catalogue file's extended items first, so every department can submit them.
  const defined = await seedDataItems(knex)
  if (defined) log?.info(`demo: ${defined} data items defined from seeds/data/data-items.json`)

  // Divisions: CAB names and codes, NRP boundaries.
  await s.add('CAB', 'ADMIN_DIVISION', {
    sourceKey: HANGZHOU.province.code,
    observedAt,
    attributes: { code: HANGZHOU.province.code, name: HANGZHOU.province.name },
  })
  await s.add('CAB', 'ADMIN_DIVISION', {
    sourceKey: HANGZHOU.city.code,
    observedAt,
    attributes: { code: HANGZHOU.city.code, name: HANGZHOU.city.name },
  })
  for (const d of HANGZHOU.districts) {
    await s.add('CAB', 'ADMIN_DIVISION', {
      sourceKey: d.code,
      observedAt,
      attributes: { code: d.code, name: d.name },
    })
    for (const t of d.townships)
      await s.add('CAB', 'ADMIN_DIVISION', {
        sourceKey: t.code,
        observedAt,
        attributes: { code: t.code, name: t.name },
      })
  }
  await s.flush()
  const polygons = new Map<string, { feature: GeoJSON.Feature<GeoJSON.MultiPolygon>; bbox: number[] }>()
  for (const f of BOUNDARIES.features) {
    polygons.set(f.properties.code, { feature: f, bbox: boundingBox(f) })
    await s.add('NRP', 'ADMIN_DIVISION', {
      sourceKey: `boundary-${f.properties.code}`,
      observedAt,
      attributes: { code: f.properties.code },
      geometry: f.geometry,
    })
  }
  await s.flush()
  log?.info('demo: divisions and boundaries loaded')

  // Legal entities first (AMR), so employment links resolve as persons arrive.
  const creditCodes: string[] = []
  const reps: { idNumber: string; name: string }[] = []
  for (const e of generateLegalEntities(rng.fork('entities'), opts.legalEntities, {
    districts: HANGZHOU.districts,
  })) {
    const a = e.attributes
    creditCodes.push(a.creditCode)
    const status = a.status === 'DEREGISTERED' ? 'CANCELLED' : a.status
    await s.add('AMR', 'LEGAL_ENTITY', {
      sourceKey: e.sourceKey,
      observedAt,
      attributes: {
        ...a,
        status,
        registeredCapital: a.registeredCapital * 10_000,
        registeredAddressText: doorLevel(a.registeredAddressText),
      },
    })
  }
  await s.flush()
  log?.info(`demo: ${opts.legalEntities} legal entities loaded`)

  // Persons (PSB), their addresses (CAB text + NRP point), and other departments' views of them.
  const prng = rng.fork('persons-extra')
  // Memory stays flat with the person count: a bounded recently-seen set skips most repeated
  // addresses, and a repeat it forgot is harmless (the same record again is `unchanged`, since the
  // point is derived from the address text, not drawn from the shared stream).
  const addressSeen = new BoundedSet<string>(50_000)
  const addAddress = async (text: string, districtCode: string, townshipCode: string | null) => {
    if (!addressSeen.add(text)) return
    const match = /^(杭州市)?(.+?[区县市])(.+?)(\d+)号$/.exec(text)
    const key = `addr-${text}`
    await s.add('CAB', 'ADDRESS', {
      sourceKey: key,
      observedAt,
      attributes: {
        fullText: text,
        divisionCode: townshipCode ?? districtCode,
        road: match?.[3] ?? null,
        doorNumber: match ? `${match[4]}号` : null,
      },
    })
    const poly = polygons.get(districtCode)
    if (poly)
      await s.add('NRP', 'ADDRESS', {
        sourceKey: key,
        observedAt,
        attributes: { fullText: text },
        geometry: {
          type: 'Point',
          coordinates: randomPointIn(createRng(`point:${text}`), poly.feature, poly.bbox),
        },
      })
  }
  let n = 0
  for (const p of generatePersons(rng.fork('persons'), opts.persons, { districts: HANGZHOU.districts })) {
    n++
    const a = p.attributes
    const residence = doorLevel(a.residenceAddressText)
    const household = doorLevel(a.householdAddressText)
    await addAddress(residence, p.districtCode, p.townshipCode)
    const householdDistrict = HANGZHOU.districts.find((d) => household.includes(d.name))
    if (householdDistrict) await addAddress(household, householdDistrict.code, null)
    await s.add('PSB', 'PERSON', {
      sourceKey: p.sourceKey,
      observedAt,
      attributes: { ...a, residenceAddressText: residence, householdAddressText: household },
    })
    if (reps.length < opts.legalEntities && prng.chance(0.3)) reps.push({ idNumber: a.idNumber, name: a.name })

    const age = 2024 - Number(a.birthDate.slice(0, 4))
    // HRSS: employment; 60 % of working-age people work for one of the demo entities.
    if (age >= 16) {
      const employed = age < 60 && prng.chance(0.6) && creditCodes.length > 0
      const status = employed
        ? 'EMPLOYED'
        : age >= 60
          ? 'RETIRED'
          : age < 23 && prng.chance(0.7)
            ? 'STUDENT'
            : prng.pick(['UNEMPLOYED', 'OTHER'])
      await s.add('HRSS', 'PERSON', {
        sourceKey: `hrss-${p.sourceKey}`,
        observedAt,
        attributes: {
          idNumber: a.idNumber,
          employmentStatus: status,
          ...(employed ? { employerCreditCode: prng.pick(creditCodes) } : {}),
        },
      })
    }
    // CAB marital status, EDU education level.
    if (age >= 20)
      await s.add('CAB', 'PERSON', {
        sourceKey: `cab-${p.sourceKey}`,
        observedAt,
        attributes: {
          idNumber: a.idNumber,
          maritalStatus:
            age < 26 && prng.chance(0.7)
              ? 'UNMARRIED'
              : prng.weighted([
                  ['MARRIED', 80],
                  ['DIVORCED', 8],
                  ['WIDOWED', age > 65 ? 20 : 2],
                ] as const),
        },
      })
    if (age >= 7 && prng.chance(0.5))
      await s.add('EDU', 'PERSON', {
        sourceKey: `edu-${p.sourceKey}`,
        observedAt,
        attributes: {
          idNumber: a.idNumber,
          educationLevel: prng.pick(['小学', '初中', '高中', '大专', '本科', '硕士研究生']),
        },
      })
    // HEALTH: birth records for 5 %, 2 % of which disagree by a day → VALUE_MISMATCH on birthDate.
    if (prng.chance(0.05)) {
      const differs = prng.chance(0.4)
      const d = new Date(`${a.birthDate}T00:00:00Z`)
      if (differs) d.setUTCDate(d.getUTCDate() + 1)
      await s.add('HEALTH', 'PERSON', {
        sourceKey: `health-${p.sourceKey}`,
        observedAt,
        attributes: { idNumber: a.idNumber, birthDate: d.toISOString().slice(0, 10) },
      })
    }
    // HEALTH: a few death records PSB has not registered yet → PROVISIONAL deathDate.
    if (age > 80 && prng.chance(0.05))
      await s.add('HEALTH', 'PERSON', {
        sourceKey: `health-death-${p.sourceKey}`,
        observedAt,
        attributes: { idNumber: a.idNumber, deathDate: '2024-11-02' },
      })
    // HOUSING: 1 % report another residence → VALUE_MISMATCH on residenceAddress.
    if (prng.chance(0.01)) {
      const other = HANGZHOU.districts[prng.int(0, HANGZHOU.districts.length - 1)]
      const text = `杭州市${other.name}${prng.pick(['人民路', '建设路', '解放路'])}${prng.int(1, 300)}号`
      await s.add('HOUSING', 'PERSON', {
        sourceKey: `housing-${p.sourceKey}`,
        observedAt,
        attributes: { idNumber: a.idNumber, residenceAddressText: text },
      })
    }
    // HEALTH records without an ID number: the weighted match links most, and flags near misses.
    if (prng.chance(0.003)) {
      const variant = prng.chance(0.5) ? a.name : `${a.name.slice(0, -1)}${prng.pick(['明', '华', '丽', '军'])}`
      await s.add('HEALTH', 'PERSON', {
        sourceKey: `health-clinic-${p.sourceKey}`,
        observedAt,
        attributes: {
          name: variant,
          birthDate: a.birthDate,
          gender: a.gender,
          residenceAddressText: residence,
        },
      })
    }
    if (n % 2000 === 0) log?.info(`demo: ${n} persons generated`)
  }
  await s.flush()

  // AMR names representatives; TAX and STATS add their fields, a few disagreeing.
  const erng = rng.fork('entities-extra')
  for (let i = 0; i < creditCodes.length; i++) {
    const code = creditCodes[i]
    const rep = reps[i % Math.max(1, reps.length)]
    if (rep)
      await s.add('AMR', 'LEGAL_ENTITY', {
        sourceKey: `rep-${code}`,
        observedAt,
        attributes: {
          creditCode: code,
          legalRepresentativeIdNumber: rep.idNumber,
          legalRepresentativeName: rep.name,
        },
      })
    await s.add('TAX', 'LEGAL_ENTITY', {
      sourceKey: `tax-${code}`,
      observedAt,
      attributes: {
        creditCode: code,
        taxStatus: erng.weighted([
          ['NORMAL', 90],
          ['SUSPENDED', 6],
          ['DEREGISTERED', 4],
        ] as const),
        taxCreditRating: erng.weighted([
          ['A', 30],
          ['B', 45],
          ['M', 15],
          ['C', 7],
          ['D', 3],
        ] as const),
      },
    })
    if (erng.chance(0.03))
      await s.add('STATS', 'LEGAL_ENTITY', {
        sourceKey: `stats-${code}`,
        observedAt,
        attributes: { creditCode: code, industryCode: erng.pick(['C3911', 'I6513', 'F5123', 'L7212']) },
      })
  }
  await s.flush()

  // NRP: a parcel and a building around some addresses, so spatial queries have something to find.
  const { rows: sample } = await knex.raw(
    `SELECT id, ST_X(location) AS x, ST_Y(location) AS y FROM addresses WHERE location IS NOT NULL ORDER BY normalized_text LIMIT ?`,
    [Math.max(20, Math.round(opts.persons / 50))],
  )
  for (let i = 0; i < sample.length; i++) {
    const c: [number, number] = [Number(sample[i].x), Number(sample[i].y)]
    const parcelCode = `330100-${String(i + 1).padStart(6, '0')}`
    // Three parcels in four have a land user among the demo's legal entities (its own stream, so
    // the rest of the demo stays as it was).
    const lrng = createRng(`land-user:${parcelCode}`)
    const landUserCreditCode = creditCodes.length && lrng.chance(0.75) ? lrng.pick(creditCodes) : undefined
    await s.add('NRP', 'PARCEL', {
      sourceKey: `parcel-${parcelCode}`,
      observedAt,
      attributes: {
        parcelCode,
        landUse: erng.pick(['RESIDENTIAL', 'COMMERCIAL', 'INDUSTRIAL']),
        ...(landUserCreditCode ? { landUserCreditCode } : {}),
      },
      geometry: square(c, 60),
    })
    await s.add('NRP', 'BUILDING', {
      sourceKey: `building-${parcelCode}`,
      observedAt,
      attributes: {
        name: `${i + 1}号楼`,
        floors: erng.int(2, 33),
        useType: 'RESIDENTIAL',
        parcelCode,
        ...demoItemAttributes(erng, 'BUILDING', 'NRP'),
      },
      geometry: square(c, 20),
    })
  }
  await s.flush()
  await seedDemoStatistics(knex, {
    ...opts,
    regionCodes: [HANGZHOU.city.code, ...HANGZHOU.districts.map((d) => d.code)],
  })
  await seedDemoItemValues(knex, s, rng.fork('items'))
  log?.info('demo: data item values submitted')
  const keys = await seedDemoAccess(knex)
  if (keys.length) log?.info(`demo: API keys created: ${keys.join(', ')}`)
  await seedDemoCrossChecks(knex, s, log)
  log?.info('demo: loaded')
  return s.totals
}

/** Seeds the demo once: does nothing when persons already exist. */
export async function seedDemoIfEmpty(knex: Knex, log: Pick<Logger, 'info'>, config: Config): Promise<void> {
  const any = await knex('persons').first('id')
  if (any) return
  log.info(
    `seeding the Hangzhou demo (${config.demoPersons} persons, ${config.demoLegalEntities} legal entities) through the reconciliation engine…`,
  )
  const started = Date.now()
  await seedDemo(knex, {
    persons: config.demoPersons,
    legalEntities: config.demoLegalEntities,
    matchHigh: config.matchHigh,
    matchLow: config.matchLow,
    extent: config.extent,
    log,
  })
  log.info(`demo seeded in ${Math.round((Date.now() - started) / 1000)} s`)
  await compactAfterSeed(knex, log)
}

/**
 * After the bulk load: fresh planner statistics, and a checkpoint so the write-ahead log the seed
 * produced can be recycled (the embedded data directory otherwise keeps hundreds of MB of WAL).
 * CHECKPOINT needs superuser or pg_checkpoint on a real server; without it the step is skipped.
 */
async function compactAfterSeed(knex: Knex, log: Pick<Logger, 'info'>): Promise<void> {
  await knex.raw('ANALYZE')
  try {
    await knex.raw('CHECKPOINT')
  } catch (e) {
    log.info(`checkpoint after the demo seed skipped (${(e as Error).message.split('\n')[0]})`)
  }
}
