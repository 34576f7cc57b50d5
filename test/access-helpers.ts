import { randomBytes } from 'node:crypto'
import type { Knex } from 'knex'
import { createPrincipal } from '../src/access/keys.js'
import type { RoleName } from '../src/shared/entity-types.js'

/**
 * A fresh API key for tests, as request headers: `{ authorization: 'Bearer cfd_…' }`.
 * department null + roles ['STEWARD'] etc. for role keys. Use the server's knex (embedded: one session).
 */
export async function createTestKey(
  knex: Knex,
  {
    department = null,
    roles = ['DEPARTMENT_APP'],
    name,
  }: { department?: string | null; roles?: RoleName[]; name?: string } = {},
): Promise<Record<string, string>> {
  const { key } = await createPrincipal(knex, {
    name: name ?? `test ${department ?? roles.join('+')} ${randomBytes(3).toString('hex')}`,
    departmentCode: department,
    roles,
  })
  return { authorization: `Bearer ${key}` }
}

/** The principal id behind a key made by createTestKey. */
export async function principalIdOf(knex: Knex, headers: Record<string, string>): Promise<string> {
  const key = headers.authorization.replace(/^Bearer /, '')
  const row = await knex('principals').select('id').where('key_prefix', key.slice(0, 12)).first()
  return row.id
}
