import type { Knex } from 'knex'
import { insertMissingTypes } from '../src/cross-check/cross-check.store.js'
import { type CrossCheckTypeDefinition, validateTypeDefinition } from '../src/cross-check/predicates.js'

/** The two cross-check types of CONTRACT §8, as data: a new type is one more entry here (or a row). */
export const CROSS_CHECK_TYPES: CrossCheckTypeDefinition[] = [
  {
    code: 'EMPLOYMENT_WHILE_ON_BENEFIT',
    name: '失业保险金领取人员就业比对 (unemployment benefit vs. employment)',
    description:
      'Unemployment-benefit recipients (subjects: ID number, benefit start as since) who the registers say are employed, run a company, have died, or are registered outside the city.',
    subjectType: 'PERSON',
    ownerCode: 'HRSS',
    rules: [
      {
        code: 'EMPLOYED_SINCE',
        description: 'HRSS records the person as EMPLOYED, observed on or after the benefit start.',
        predicate: { kind: 'VALUE_OBSERVED_SINCE', field: 'employmentStatus', equals: 'EMPLOYED', department: 'HRSS' },
      },
      {
        code: 'REPRESENTS_ACTIVE_ENTITY',
        description: 'The person is the legal representative of a legal entity that is ACTIVE at asOf.',
        predicate: {
          kind: 'RELATED_IN_STATE',
          entityType: 'LEGAL_ENTITY',
          via: 'legalRepresentative',
          field: 'status',
          equals: 'ACTIVE',
        },
      },
      {
        code: 'DECEASED',
        description: 'A date of death on or before asOf.',
        predicate: { kind: 'DATE_ON_OR_BEFORE_AS_OF', field: 'deathDate' },
      },
      {
        code: 'HOUSEHOLD_OUTSIDE_CITY',
        description: "The household-registration address is not an address of the city's divisions (330100).",
        predicate: { kind: 'ADDRESS_OUTSIDE_DIVISION', field: 'householdAddress', divisionPrefix: '3301' },
      },
    ],
  },
  {
    code: 'REAL_ESTATE_TAX_SOURCES',
    name: '房地产税源比对 (real-estate tax sources of developers)',
    description:
      'Developers (subjects: credit code, project start as since) holding land while not in normal tax standing, the buildings on their land, and registration changes since.',
    subjectType: 'LEGAL_ENTITY',
    ownerCode: 'TAX',
    rules: [
      {
        code: 'HOLDS_LAND_NOT_TAX_NORMAL',
        description: "Holds a land parcel (NRP's parcel landUserCreditCode) while its taxStatus is not NORMAL.",
        predicate: {
          kind: 'HOLDS_PARCEL',
          via: 'landUserCreditCode',
          unlessField: 'taxStatus',
          unlessEquals: 'NORMAL',
        },
      },
      {
        code: 'BUILDINGS_ON_HELD_LAND',
        description: 'Buildings standing on parcels it holds, with their footprint and floor area.',
        predicate: { kind: 'BUILDINGS_ON_HELD_PARCELS', via: 'landUserCreditCode' },
      },
      {
        code: 'EQUITY_OR_REPRESENTATIVE_CHANGED',
        description: 'AMR changed its legal representative or registered capital after since.',
        predicate: { kind: 'CHANGED_SINCE', fields: ['legalRepresentative', 'registeredCapital'], department: 'AMR' },
      },
    ],
  },
]

/** Inserts the cross-check types that are missing (never overwrites an edited one); throws for a malformed one. */
export async function seedCrossCheckTypes(knex: Knex): Promise<void> {
  for (const t of CROSS_CHECK_TYPES) {
    const problems = validateTypeDefinition(t)
    if (problems.length) throw new Error(`cross-check type ${t.code}: ${problems.join('; ')}`)
  }
  await insertMissingTypes(knex, CROSS_CHECK_TYPES)
}
