import type { Knex } from 'knex'
import { ENTITY_SPECS } from '../reconciliation/fields.js'
import { loadAuthorityRules } from '../reconciliation/authority.store.js'
import type { RoleName } from '../shared/entity-types.js'
import { createPrincipal, keyPrefix } from './keys.js'
import { insertSharingRequest } from './sharing.store.js'

/** The literal demo keys: `demo-<department code in lower case>` per department, plus the three roles. */
export async function demoKeys(
  knex: Knex,
): Promise<{ key: string; name: string; departmentCode: string | null; roles: RoleName[] }[]> {
  const departments: { code: string; name: string }[] = await knex('departments').select('code', 'name').orderBy('code')
  return [
    ...departments.map((d) => ({
      key: `demo-${d.code.toLowerCase()}`,
      name: `${d.name} demo app`,
      departmentCode: d.code,
      roles: ['DEPARTMENT_APP'] as RoleName[],
    })),
    { key: 'demo-steward', name: 'Demo data steward', departmentCode: null, roles: ['STEWARD'] },
    { key: 'demo-admin', name: 'Demo administrator', departmentCode: null, roles: ['ADMIN'] },
    { key: 'demo-auditor', name: 'Demo auditor', departmentCode: null, roles: ['AUDITOR'] },
  ]
}

/**
 * Demo credentials and grants (CONTRACT §4), idempotent: creates the demo keys that do not exist
 * yet, and grants HRSS the person fields idNumber, name, gender, birthDate and TAX the
 * legal-entity fields it does not own. Called only by the demo seed — never by a production start.
 */
export async function seedDemoAccess(knex: Knex): Promise<string[]> {
  const created: string[] = []
  for (const k of await demoKeys(knex)) {
    if (await knex('principals').where('key_prefix', keyPrefix(k.key)).first()) continue
    await createPrincipal(knex, {
      name: k.name,
      departmentCode: k.departmentCode,
      roles: k.roles,
      key: k.key,
    })
    created.push(k.key)
  }
  const rules = await loadAuthorityRules(knex)
  const taxFields = [...ENTITY_SPECS.LEGAL_ENTITY.fields.map((f) => f.name), 'employees'].filter(
    (f) => rules.ruleFor('LEGAL_ENTITY', f)?.authority !== 'TAX',
  )
  const demoGrants = [
    {
      departmentCode: 'HRSS',
      entityType: 'PERSON',
      fields: ['idNumber', 'name', 'gender', 'birthDate'],
      purpose: 'Demo: employment cross-checks (unemployment benefit versus employment)',
    },
    {
      departmentCode: 'TAX',
      entityType: 'LEGAL_ENTITY',
      fields: taxFields,
      purpose: 'Demo: tax registration of every legal entity',
    },
  ]
  for (const g of demoGrants) {
    const exists = await knex('sharing_grants')
      .where({
        department_code: g.departmentCode,
        entity_type: g.entityType,
        status: 'APPROVED',
        purpose: g.purpose,
      })
      .first()
    if (!exists) await insertSharingRequest(knex, { ...g, expiresAt: null, requestedBy: null, status: 'APPROVED' })
  }
  return created
}

/** The demo keys present and unrevoked in this database (for the start-up log line); empty in production. */
export async function activeDemoKeys(knex: Knex): Promise<string[]> {
  const wanted = (await demoKeys(knex)).map((k) => k.key)
  const rows: { key_prefix: string }[] = await knex('principals')
    .select('key_prefix')
    .whereIn('key_prefix', wanted.map(keyPrefix))
    .whereNull('revoked_at')
  const present = new Set(rows.map((r) => r.key_prefix))
  return wanted.filter((k) => present.has(keyPrefix(k)))
}
