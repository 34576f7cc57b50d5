import type { Context } from '../graphql/context.js'
import type { RoleName } from '../shared/entity-types.js'
import { forbidden, unauthenticated } from '../shared/errors.js'
import { hasRole, type Principal } from './principal.js'

/** True for the caller without a key. */
export function isAnonymous(p: Principal): boolean {
  return p.roles.length === 0
}

/** Throws UNAUTHENTICATED for an anonymous caller; returns the principal otherwise. */
export function requireAuthenticated(ctx: Pick<Context, 'principal'>): Principal {
  if (isAnonymous(ctx.principal)) throw unauthenticated()
  return ctx.principal
}

/**
 * Throws UNAUTHENTICATED without a key and FORBIDDEN unless the caller holds one of the roles.
 * Use at the top of every mutation a role decides: resolveConflict / mergeEntities /
 * unmergeEntity → requireRole(ctx, 'STEWARD'); setAuthorityRule / decideSharingRequest →
 * requireRole(ctx, 'ADMIN').
 */
export function requireRole(ctx: Pick<Context, 'principal'>, ...roles: RoleName[]): Principal {
  const p = requireAuthenticated(ctx)
  if (!hasRole(p, ...roles)) throw forbidden(`This needs the ${roles.join(' or ')} role`)
  return p
}

/** Throws unless the caller is a department app with a department; returns that department code. */
export function requireDepartmentApp(ctx: Pick<Context, 'principal'>): string {
  const p = requireRole(ctx, 'DEPARTMENT_APP')
  if (!p.departmentCode) throw forbidden('This key acts for no department')
  return p.departmentCode
}
