import type { Knex } from 'knex'
import { DEFAULT_MAX_GEOMETRY_VERTICES } from '../reconciliation/rules/validate.js'
import { badInput } from '../shared/errors.js'
import { checkNear, divisionCodePrefix, polygonParam, whereNear, whereWithin } from '../spatial/spatial-filter.js'
import type { LegalEntityFilter } from './legal-entity.input.js'

import { UUID } from '../shared/ids.js'
/** Legal entities matching the filter, as a query on `legal_entities le`; BAD_USER_INPUT for malformed values. */
export function legalEntityQuery(
  knex: Knex,
  filter: LegalEntityFilter | null | undefined,
  maxVertices = DEFAULT_MAX_GEOMETRY_VERTICES,
): Knex.QueryBuilder {
  const q = knex('legal_entities as le')
  const f = filter ?? {}
  if (f.nameContains) q.where('le.name', 'like', `%${f.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
  if (f.kind) q.where('le.kind', f.kind)
  if (f.status) q.where('le.status', f.status)
  if (f.industryCodePrefix) {
    if (!/^[A-T]?\d{0,4}$/.test(f.industryCodePrefix))
      throw badInput('industryCodePrefix must look like "C39" or "65"', 'filter.industryCodePrefix')
    q.where((w) =>
      w
        .where('le.industry_code', 'like', `${f.industryCodePrefix}%`)
        .orWhereRaw(`regexp_replace(le.industry_code, '^[A-T]', '') LIKE ?`, [
          `${f.industryCodePrefix!.replace(/^[A-T]/, '')}%`,
        ]),
    )
  }
  if (f.legalRepresentativeId) {
    if (!UUID.test(f.legalRepresentativeId))
      throw badInput('legalRepresentativeId is not an id', 'filter.legalRepresentativeId')
    q.where('le.legal_representative_id', f.legalRepresentativeId)
  }
  // The registered address's division code is on the entity row (kept equal to the address's by
  // triggers: migration 20261208020000).
  if (f.divisionCode != null)
    q.where('le.registered_division_key', 'like', `${divisionCodePrefix(f.divisionCode, 'filter.divisionCode')}%`)
  if (f.within || f.near) q.join('addresses as la', 'la.id', 'le.registered_address_id')
  if (f.within) whereWithin(q, 'la.location', polygonParam(f.within, 'filter.within', maxVertices))
  if (f.near) {
    checkNear(f.near, 'filter.near')
    whereNear(q, 'la.location', f.near)
  }
  return q
}

/** For each person id, the ids of the legal entities that person represents (by id), in the order of `personIds`. */
export async function representedEntityIds(knex: Knex, personIds: readonly string[]): Promise<string[][]> {
  const rows: { id: string; legal_representative_id: string }[] = await knex('legal_entities')
    .select('id', 'legal_representative_id')
    .whereIn('legal_representative_id', personIds as string[])
    .orderBy('id')
  const byPerson = new Map<string, string[]>()
  for (const r of rows) {
    const list = byPerson.get(r.legal_representative_id)
    if (list) list.push(r.id)
    else byPerson.set(r.legal_representative_id, [r.id])
  }
  return personIds.map((id) => byPerson.get(id) ?? [])
}

/** Ids of legal entities holding each credit code; an unheld code maps to nothing. */
export async function legalEntityIdsByCreditCode(knex: Knex, codes: string[]): Promise<Map<string, string>> {
  const rows = await knex('legal_entities').select('id', 'credit_code').whereIn('credit_code', codes)
  return new Map(rows.map((r: { id: string; credit_code: string }) => [r.credit_code, r.id]))
}
