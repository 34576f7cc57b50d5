import type { Knex } from 'knex'
import { ENTITY_SPECS } from '../src/reconciliation/fields.js'
import { seedCrossCheckTypes } from './cross-check-types.js'
import type { EntityTypeName, SharingClassName } from '../src/shared/entity-types.js'

/** The ten departments of CONTRACT.md §1. */
export const DEPARTMENTS: { code: string; name: string }[] = [
  { code: 'PSB', name: 'Public Security Bureau (household registration)' },
  { code: 'CAB', name: 'Civil Affairs Bureau' },
  { code: 'HRSS', name: 'Human Resources and Social Security Bureau' },
  { code: 'EDU', name: 'Education Bureau' },
  { code: 'HEALTH', name: 'Health Commission' },
  { code: 'AMR', name: 'Administration for Market Regulation' },
  { code: 'TAX', name: 'Tax Bureau' },
  { code: 'STATS', name: 'Statistics Bureau' },
  { code: 'NRP', name: 'Planning and Natural Resources Bureau' },
  { code: 'HOUSING', name: 'Housing Administration' },
]

interface RuleSeed {
  entityType: EntityTypeName
  field: string
  entityKind?: string
  authority: string
  fallbacks?: string[]
  sharingClass: SharingClassName
}

const PERSON_OWNERS: Record<string, [string, string[]]> = {
  maritalStatus: ['CAB', []],
  employmentStatus: ['HRSS', []],
  employer: ['HRSS', []],
  educationLevel: ['EDU', []],
  // Hospital records stand in for name and gender until the household register has the person, so
  // a steward can see who a possible duplicate is.
  name: ['PSB', ['HEALTH']],
  gender: ['PSB', ['HEALTH']],
  birthDate: ['PSB', ['HEALTH']],
  deathDate: ['PSB', ['HEALTH']],
  residenceAddress: ['PSB', ['HOUSING']],
}
const LEGAL_ENTITY_OWNERS: Record<string, [string, string[]]> = {
  taxStatus: ['TAX', []],
  taxCreditRating: ['TAX', []],
  industryCode: ['STATS', ['AMR']],
}
const LEGAL_ENTITY_CONDITIONAL = new Set(['taxStatus', 'taxCreditRating', 'legalRepresentative'])

/** The authority table of CONTRACT.md §1 with the demo sharing classes of §4, one rule per field. */
export function authorityRuleSeeds(): RuleSeed[] {
  const rules: RuleSeed[] = []
  for (const f of ENTITY_SPECS.PERSON.fields) {
    const [authority, fallbacks] = PERSON_OWNERS[f.name] ?? ['PSB', []]
    rules.push({ entityType: 'PERSON', field: f.name, authority, fallbacks, sharingClass: 'CONDITIONAL' })
  }
  for (const f of ENTITY_SPECS.LEGAL_ENTITY.fields) {
    const [authority, fallbacks] = LEGAL_ENTITY_OWNERS[f.name] ?? ['AMR', []]
    const sharingClass = LEGAL_ENTITY_CONDITIONAL.has(f.name) ? 'CONDITIONAL' : 'UNCONDITIONAL'
    rules.push({ entityType: 'LEGAL_ENTITY', field: f.name, authority, fallbacks, sharingClass })
    // Social organisations are registered by Civil Affairs, not Market Regulation.
    if (authority === 'AMR')
      rules.push({
        entityType: 'LEGAL_ENTITY',
        field: f.name,
        entityKind: 'SOCIAL_ORGANIZATION',
        authority: 'CAB',
        fallbacks: ['AMR'],
        sharingClass,
      })
  }
  rules.push({
    entityType: 'LEGAL_ENTITY',
    field: 'employees',
    authority: 'HRSS',
    sharingClass: 'CONDITIONAL',
  })
  for (const f of ENTITY_SPECS.ADMIN_DIVISION.fields)
    rules.push({
      entityType: 'ADMIN_DIVISION',
      field: f.name,
      authority: f.name === 'geometry' ? 'NRP' : 'CAB',
      fallbacks: f.name === 'geometry' ? [] : ['STATS'],
      sharingClass: 'UNCONDITIONAL',
    })
  for (const f of ENTITY_SPECS.ADDRESS.fields)
    rules.push({
      entityType: 'ADDRESS',
      field: f.name,
      authority: f.name === 'location' ? 'NRP' : 'CAB',
      fallbacks: f.name === 'location' ? ['HOUSING', 'CAB'] : ['HOUSING', 'PSB'],
      sharingClass: 'UNCONDITIONAL',
    })
  for (const f of ENTITY_SPECS.BUILDING.fields)
    rules.push({
      entityType: 'BUILDING',
      field: f.name,
      authority: 'NRP',
      fallbacks: ['HOUSING'],
      sharingClass: 'UNCONDITIONAL',
    })
  for (const f of ENTITY_SPECS.PARCEL.fields)
    rules.push({
      entityType: 'PARCEL',
      field: f.name,
      authority: 'NRP',
      fallbacks: [],
      sharingClass: 'UNCONDITIONAL',
    })
  for (const f of ENTITY_SPECS.INDICATOR.fields)
    rules.push({
      entityType: 'INDICATOR',
      field: f.name,
      authority: 'STATS',
      fallbacks: [],
      sharingClass: 'UNCONDITIONAL',
    })
  // OBSERVATION value/status: the indicator's owner overrides STATS at merge time.
  for (const f of ENTITY_SPECS.OBSERVATION.fields)
    rules.push({
      entityType: 'OBSERVATION',
      field: f.name,
      authority: 'STATS',
      fallbacks: [],
      sharingClass: 'UNCONDITIONAL',
    })
  return rules
}

/** Inserts departments, authority rules and cross-check types that are missing; never overwrites an edited one. */
export async function seedReference(knex: Knex): Promise<void> {
  await knex('departments').insert(DEPARTMENTS).onConflict('code').ignore()
  await knex('authority_rules')
    .insert(
      authorityRuleSeeds().map((r) => ({
        entity_type: r.entityType,
        field: r.field,
        entity_kind: r.entityKind ?? '',
        authority: r.authority,
        fallbacks: r.fallbacks ?? [],
        sharing_class: r.sharingClass,
      })),
    )
    .onConflict(['entity_type', 'field', 'entity_kind'])
    .ignore()
  await seedCrossCheckTypes(knex)
}
