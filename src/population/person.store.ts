import type { Knex } from 'knex'
import { selectColumns } from '../reconciliation/entity.store.js'
import { DEFAULT_MAX_GEOMETRY_VERTICES } from '../reconciliation/rules/validate.js'
import { checkNear, divisionCodePrefix, polygonParam, whereNear, whereWithin } from '../spatial/spatial-filter.js'
import { badInput } from '../shared/errors.js'
import type { PersonFilter } from './person.input.js'

import { UUID } from '../shared/ids.js'
function isoDate(v: Date | string): string {
  return typeof v === 'string' ? v : v.toISOString().slice(0, 10)
}

/**
 * Persons matching the filter, as a query on `persons p` (no order, no limit). Deceased persons
 * are left out unless includeDeceased. Throws BAD_USER_INPUT for malformed filter values.
 */
export function personQuery(
  knex: Knex,
  filter: PersonFilter | null | undefined,
  maxVertices = DEFAULT_MAX_GEOMETRY_VERTICES,
): Knex.QueryBuilder {
  const q = knex('persons as p')
  const f = filter ?? {}
  if (!f.includeDeceased) q.whereNull('p.death_date')
  if (f.nameContains) q.where('p.name', 'like', `%${f.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
  if (f.gender) q.where('p.gender', f.gender)
  if (f.birthDateFrom) q.where('p.birth_date', '>=', isoDate(f.birthDateFrom))
  if (f.birthDateTo) q.where('p.birth_date', '<=', isoDate(f.birthDateTo))
  if (f.employmentStatus) q.where('p.employment_status', f.employmentStatus)
  if (f.employerId) {
    if (!UUID.test(f.employerId)) throw badInput('employerId is not an id', 'filter.employerId')
    q.where('p.employer_id', f.employerId)
  }
  if (f.hasOpenConflicts !== undefined && f.hasOpenConflicts !== null) {
    const open = knex('conflicts as k').whereRaw('k.entity_id = p.id').where('k.status', 'OPEN')
    if (f.hasOpenConflicts) q.whereExists(open)
    else q.whereNotExists(open)
  }
  // The residence's and the household's division codes are on the person row (kept equal to the
  // addresses' by triggers: migration 20261208020000), so a district's persons are read without
  // probing their addresses.
  if (f.residenceDivisionCode != null)
    q.where(
      'p.residence_division_key',
      'like',
      `${divisionCodePrefix(f.residenceDivisionCode, 'filter.residenceDivisionCode')}%`,
    )
  if (f.residenceWithin || f.residenceNear) q.join('addresses as ra', 'ra.id', 'p.residence_address_id')
  if (f.residenceWithin)
    whereWithin(q, 'ra.location', polygonParam(f.residenceWithin, 'filter.residenceWithin', maxVertices))
  if (f.residenceNear) {
    checkNear(f.residenceNear, 'filter.residenceNear')
    whereNear(q, 'ra.location', f.residenceNear)
  }
  if (f.householdDivisionCode != null)
    q.where(
      'p.household_division_key',
      'like',
      `${divisionCodePrefix(f.householdDivisionCode, 'filter.householdDivisionCode')}%`,
    )
  return q
}

/** Living persons whose residence is an address (a query to page or count). */
export function residentsQuery(knex: Knex, addressId: string): Knex.QueryBuilder {
  return knex('persons as p').where('p.residence_address_id', addressId).whereNull('p.death_date')
}

/** The select list for person rows (only the columns of `fields` when given: see selectColumns). */
export function personColumns(knex: Knex, fields?: ReadonlySet<string>): (string | Knex.Raw)[] {
  return selectColumns(knex, 'PERSON', 'p', fields)
}

/** Ids of persons holding each ID number; an unheld number maps to nothing. */

export async function personIdsByIdNumber(knex: Knex, idNumbers: string[]): Promise<Map<string, string>> {
  const rows = await knex('persons').select('id', 'id_number').whereIn('id_number', idNumbers)
  return new Map(rows.map((r: { id: string; id_number: string }) => [r.id_number, r.id]))
}
