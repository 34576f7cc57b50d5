/** Error codes of CONTRACT.md §5: one list, used by GraphQL and the HTTP routes. */
export const ERROR_CODES = {
  BAD_USER_INPUT: 'The request has invalid input',
  UNAUTHENTICATED: 'A valid API key is required',
  FORBIDDEN: 'The caller may not do this',
  FORBIDDEN_FIELD: 'The caller may not see this field',
  NOT_FOUND: 'No such object',
  QUERY_TOO_COMPLEX: 'The query is too deep or too costly',
  RATE_LIMITED: 'Too many requests; retry later',
  INTERNAL_SERVER_ERROR: 'Internal error',
} as const
export type ErrorCode = keyof typeof ERROR_CODES

/**
 * An error a caller caused or may see, with its CONTRACT.md §5 code and details in `extensions`.
 * Stores and services throw it without knowing how they are reached: GraphQL carries `extensions`
 * of a resolver's error into the response as they are (graphql-js keeps an original error's
 * extensions), and the HTTP routes (/ogc, /stats, /tiles) read the same fields.
 */
export class ServiceError extends Error {
  readonly extensions: { code: ErrorCode } & Record<string, unknown>

  constructor(message: string, extensions: { code: ErrorCode } & Record<string, unknown>) {
    super(message)
    this.name = 'ServiceError'
    this.extensions = extensions
  }
}

/** The code of a ServiceError (or of anything carrying the same `extensions`), else undefined. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { extensions?: { code?: unknown } } | null)?.extensions?.code
  return typeof code === 'string' ? code : undefined
}

/** BAD_USER_INPUT with the validation reason and the offending field. */
export function badInput(message: string, field: string, reason = 'INVALID_VALUE'): ServiceError {
  return new ServiceError(message, { code: 'BAD_USER_INPUT', reason, field })
}

export function forbidden(message: string = ERROR_CODES.FORBIDDEN): ServiceError {
  return new ServiceError(message, { code: 'FORBIDDEN' })
}

export function notFound(message: string): ServiceError {
  return new ServiceError(message, { code: 'NOT_FOUND' })
}

export function unauthenticated(message: string = ERROR_CODES.UNAUTHENTICATED): ServiceError {
  return new ServiceError(message, { code: 'UNAUTHENTICATED' })
}

/**
 * RATE_LIMITED for a request that was refused for a passing reason and applied nothing (another
 * writer holds what it needs, the database is failing over): `extensions.reason` says which,
 * `retryable: true` and `retryAfter` (seconds) say when to send it again.
 */
export function retryableError(reason: string, message: string, retryAfter: number): ServiceError {
  return new ServiceError(`${message} (after ${retryAfter} s)`, {
    code: 'RATE_LIMITED',
    reason,
    retryable: true,
    retryAfter,
  })
}
