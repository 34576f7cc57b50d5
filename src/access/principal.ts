import type { RoleName } from '../shared/entity-types.js'

/** Who is calling: an API key's holder, or the anonymous caller. */
export interface Principal {
  id: string
  name: string
  departmentCode: string | null
  roles: RoleName[]
}

export const ANONYMOUS: Principal = { id: 'anonymous', name: 'Anonymous', departmentCode: null, roles: [] }

/** True when the principal holds any of the roles. */
export function hasRole(principal: Principal, ...roles: RoleName[]): boolean {
  return principal.roles.some((r) => roles.includes(r))
}
