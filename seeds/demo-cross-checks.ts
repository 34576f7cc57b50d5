import type { Knex } from 'knex'
import { principalForKey } from '../src/access/keys.js'
import { CrossCheckRunner } from '../src/cross-check/cross-check.runner.js'
import { createCrossCheck, decideCrossCheckHit, type SubjectInput } from '../src/cross-check/cross-check.service.js'
import { allHits, findCheck } from '../src/cross-check/cross-check.store.js'
import { idNumberCheckChar } from '../src/reconciliation/rules/id-number.js'
import type { RecordInput } from '../src/reconciliation/rules/validate.js'
import type { EntityTypeName } from '../src/shared/entity-types.js'
import { createRng } from '../src/shared/random.js'

/** The demo's submitter (seeds/demo.ts): records per department, applied on flush. */
export interface DemoSubmitter {
  add(department: string, entityType: EntityTypeName, record: RecordInput): Promise<void>
  flush(): Promise<void>
}

const BENEFIT_START = '2024-09-01'
const PROJECT_START = '2024-06-01'

/**
 * The demo's two cross-checks (CONTRACT §8), so the feature shows on first start: HRSS compares a
 * benefit list of ~1,000 persons (about 7 % hits, of each kind) and TAX a list of developers; the
 * registers get the few facts the hits stand for (deaths, moves away, new representatives), and
 * about half of the HRSS hits are decided. Deterministic (own random stream); does nothing without
 * the demo keys.
 */
export async function seedDemoCrossChecks(
  knex: Knex,
  s: DemoSubmitter,
  log?: { info: (m: string) => void },
): Promise<void> {
  const hrss = await principalForKey(knex, 'demo-hrss')
  const tax = await principalForKey(knex, 'demo-tax')
  if (!hrss || !tax) return
  const rng = createRng('demo-cross-checks')

  // Benefit recipients: unemployed persons who represent no company, plus the ones who will hit.
  const pick = async (sql: string, n: number) =>
    (await knex.raw(sql, [n])).rows.map((r: { id_number: string }) => r.id_number) as string[]
  const notRepresentative = `NOT EXISTS (SELECT 1 FROM legal_entities le WHERE le.legal_representative_id = p.id)`
  const unemployed = await pick(
    `SELECT id_number FROM persons p WHERE employment_status IN ('UNEMPLOYED', 'OTHER') AND death_date IS NULL
       AND ${notRepresentative} ORDER BY id_number LIMIT ?`,
    930,
  )
  const employed = await pick(
    `SELECT id_number FROM persons p WHERE employment_status = 'EMPLOYED' AND ${notRepresentative} ORDER BY id_number DESC LIMIT ?`,
    30,
  )
  const representatives = await pick(
    `SELECT p.id_number FROM persons p JOIN legal_entities le ON le.legal_representative_id = p.id
      WHERE le.status = 'ACTIVE' AND p.employment_status <> 'EMPLOYED' GROUP BY p.id_number ORDER BY p.id_number LIMIT ?`,
    12,
  )
  // Deaths and moves away the registers learn of after the benefit started.
  const dying = unemployed.filter((_, i) => i % 97 === 5)
  const movedAway = unemployed.filter((_, i) => i % 113 === 7)
  for (const idNumber of dying)
    await s.add('PSB', 'PERSON', {
      sourceKey: `demo-death-${idNumber}`,
      observedAt: '2024-11-25T00:00:00Z',
      attributes: { idNumber, deathDate: '2024-11-20' },
    })
  for (const idNumber of movedAway)
    await s.add('PSB', 'PERSON', {
      sourceKey: `demo-move-${idNumber}`,
      // Newer than the demo's PSB records (2024-12-31), so the authority's new value wins.
      observedAt: '2025-01-10T00:00:00Z',
      attributes: {
        idNumber,
        householdAddressText: `安徽省合肥市蜀山区长江西路${rng.int(1, 500)}号`,
      },
    })

  // Developers: land users of parcels, and a few companies without land.
  const developers = (
    await knex.raw(
      `SELECT DISTINCT land_user_credit_code AS code FROM parcels WHERE land_user_credit_code IS NOT NULL ORDER BY 1 LIMIT 80`,
    )
  ).rows.map((r: { code: string }) => r.code) as string[]
  const landless = (
    await knex.raw(
      `SELECT credit_code AS code FROM legal_entities le WHERE NOT EXISTS (SELECT 1 FROM parcels p WHERE p.land_user_credit_code = le.credit_code)
        ORDER BY credit_code LIMIT 20`,
    )
  ).rows.map((r: { code: string }) => r.code) as string[]
  // AMR records new representatives (and a capital increase) for some of them after the project start.
  const changed = developers.filter((_, i) => i % 9 === 2)
  const newRepresentatives = await pick(
    `SELECT id_number FROM persons p ORDER BY id_number DESC OFFSET 100 LIMIT ?`,
    changed.length,
  )
  for (let i = 0; i < changed.length && i < newRepresentatives.length; i++)
    await s.add('AMR', 'LEGAL_ENTITY', {
      sourceKey: `demo-change-${changed[i]}`,
      observedAt: '2025-01-10T00:00:00Z',
      attributes: {
        creditCode: changed[i],
        legalRepresentativeIdNumber: newRepresentatives[i],
        ...(i % 2 ? { registeredCapital: 50_000_000 + i * 1_000_000 } : {}),
      },
    })
  await s.flush()

  // A few typing errors and people the registers do not know, as in any real list.
  const typo = (id: string) => id.slice(0, 17) + (idNumberCheckChar(id.slice(0, 17)) === '0' ? '1' : '0')
  const unknown = Array.from({ length: 4 }, (_, i) => {
    const first17 = `33010619700101${String(900 + i).padStart(3, '0')}`
    return first17 + idNumberCheckChar(first17)
  })
  const benefit: SubjectInput[] = [
    ...unemployed.map((key) => ({ key, since: BENEFIT_START })),
    ...employed.map((key) => ({ key, since: BENEFIT_START })),
    ...representatives.map((key) => ({ key, since: BENEFIT_START })),
    ...unemployed.slice(0, 3).map((key) => ({ key: typo(key), since: BENEFIT_START })),
    ...unknown.map((key) => ({ key, since: BENEFIT_START })),
  ].map((x, i) => ({ ...x, ref: `SY-2024-${String(i + 1).padStart(5, '0')}` }))
  const developerList: SubjectInput[] = [...developers, ...landless].map((key, i) => ({
    key,
    ref: `FDC-${String(i + 1).padStart(4, '0')}`,
    since: PROJECT_START,
  }))

  const runner = new CrossCheckRunner(knex, { info: () => {}, warn: () => {}, error: () => {} })
  const hrssCheck = await createCrossCheck(knex, hrss, {
    type: 'EMPLOYMENT_WHILE_ON_BENEFIT',
    subjects: benefit,
    purpose: 'demo: monthly unemployment-benefit cross-check',
  })
  await runner.runToEnd(hrssCheck.id)
  if (developerList.length) {
    const taxCheck = await createCrossCheck(knex, tax, {
      type: 'REAL_ESTATE_TAX_SOURCES',
      subjects: developerList,
      purpose: 'demo: real-estate tax sources of developers',
    })
    await runner.runToEnd(taxCheck.id)
  }
  // HRSS works through its hits: about half confirmed (benefit stopped), a few dismissed.
  const hits = await allHits(knex, hrssCheck.id)
  for (const [i, h] of hits.entries()) {
    if (i % 2 === 1) continue
    await decideCrossCheckHit(knex, hrss, {
      id: h.id,
      decision: i % 10 === 4 ? 'DISMISSED' : 'CONFIRMED',
      reason:
        i % 10 === 4
          ? '核实为临时性劳务，不影响领取 (casual work, benefit continues)'
          : '核实属实，停发失业保险金 (verified, benefit stopped)',
    })
  }
  const done = await findCheck(knex, hrssCheck.id)
  log?.info(
    `demo: cross-checks run (HRSS ${done?.subject_count} benefit recipients, ${done?.hit_subject_count} hit; TAX ${developerList.length} developers)`,
  )
}
