import { requireRole as requireAccessRole } from '../access/guards.js'
import type { Principal } from '../access/principal.js'
import type { RoleName } from '../shared/entity-types.js'
import { badInput } from '../shared/errors.js'

// One place that says who may make steward and admin decisions, so the access module's own
// guard can replace it without touching the services.

/** Throws UNAUTHENTICATED for an anonymous caller and FORBIDDEN for one without any of the roles. */
export function requireRole(principal: Principal, ...roles: RoleName[]): void {
  requireAccessRole({ principal }, ...roles)
}

/** A steward's or admin's reason: required, at most 2000 characters; returns it trimmed. */
export function checkReason(reason: unknown, field = 'reason'): string {
  if (typeof reason !== 'string' || !reason.trim()) throw badInput(`${field} is required`, field, 'MISSING_FIELD')
  if (reason.length > 2000) throw badInput(`${field} is longer than 2000 characters`, field, 'INVALID_VALUE')
  return reason.trim()
}
