import type { NextFunction, Request, Response } from 'express'
import { printable, valueProblem } from '../reconciliation/rules/storable.js'
import { badInput } from '../shared/errors.js'

// Caller input PostgreSQL cannot take (NUL, unpaired surrogates, years outside 1..9999, NaN) is
// refused where it enters, with a coded 400, instead of failing inside SQL as a 500. Submitted
// records are the exception: each is checked on its own (validateRecord) so one bad record does
// not refuse its batch.

/** Mutations whose records are validated one by one (a bad record is rejected, not the request). */
export const PER_RECORD_FIELDS: ReadonlySet<string> = new Set(['submitRecords'])

/**
 * Every argument of every field (filters, keys, dates, cursors) must be storable, else
 * BAD_USER_INPUT naming the argument path. Called by the field wrappers of applyFieldAccess
 * (./field-access.middleware.ts) for every field that has arguments, except PER_RECORD_FIELDS.
 */
export function checkStorableArgs(args: Record<string, unknown> | null | undefined): void {
  if (!args) return
  for (const [name, value] of Object.entries(args)) {
    const problem = valueProblem(value, name)
    if (problem) throw badInput(`${printable(problem[0], 100)} ${problem[1]}`, printable(problem[0], 100))
  }
}

function parameterProblem(req: Request): [string, string] | null {
  for (const segment of req.path.split('/')) {
    let decoded: string
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      return ['path', 'has a malformed percent-encoding']
    }
    const p = valueProblem(decoded, 'path')
    if (p) return p
  }
  for (const [name, value] of Object.entries(req.query)) {
    const p = valueProblem(name, 'query parameter name') ?? valueProblem(value, name)
    if (p) return p
  }
  return null
}

/**
 * Express middleware for the URL routes (/ogc, /stats): a path or query parameter that cannot be
 * stored or compared (NUL, unpaired surrogates, bad percent-encoding) is a 400 in the route's own
 * error format: OGC's InvalidParameterValue, or the service's BAD_USER_INPUT.
 */
export function rejectUnsafeParameters(req: Request, res: Response, next: NextFunction): void {
  const problem = parameterProblem(req)
  if (!problem) {
    next()
    return
  }
  const field = printable(problem[0], 100)
  const message = `${field} ${problem[1]}`
  if (req.baseUrl.startsWith('/ogc')) res.status(400).json({ code: 'InvalidParameterValue', description: message })
  else res.status(400).json({ error: { code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE', field, message } })
}
