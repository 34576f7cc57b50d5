import type { IncomingHttpHeaders } from 'node:http'
import type { Knex } from 'knex'
import { ROLES, type RoleName } from '../shared/entity-types.js'
import { ANONYMOUS, type Principal } from './principal.js'

/**
 * TEMPORARY until API keys land: the caller names its department in `X-Department` and its
 * roles in `X-Roles` (comma-separated, default DEPARTMENT_APP). Returns ANONYMOUS without them.
 */
export async function authenticate(_knex: Knex, headers: IncomingHttpHeaders): Promise<Principal> {
  const department = typeof headers['x-department'] === 'string' ? headers['x-department'].trim().toUpperCase() : ''
  const rolesHeader = typeof headers['x-roles'] === 'string' ? headers['x-roles'] : ''
  const roles = rolesHeader.split(',').map((r) => r.trim().toUpperCase()).filter((r): r is RoleName => (ROLES as readonly string[]).includes(r))
  if (!department && !roles.length) return ANONYMOUS
  return { id: `header:${department || 'none'}`, name: department || 'header caller', departmentCode: department || null, roles: roles.length ? roles : ['DEPARTMENT_APP'] }
}
