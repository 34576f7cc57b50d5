import { GraphQLError } from 'graphql'

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

/** BAD_USER_INPUT with the validation reason and the offending field. */
export function badInput(message: string, field: string, reason = 'INVALID_VALUE'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', reason, field } })
}

export function forbidden(message: string = ERROR_CODES.FORBIDDEN): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } })
}

export function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'NOT_FOUND' } })
}

export function unauthenticated(message: string = ERROR_CODES.UNAUTHENTICATED): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } })
}

/**
 * RATE_LIMITED for a request that was refused for a passing reason and applied nothing (another
 * writer holds what it needs, the database is failing over): `extensions.reason` says which,
 * `retryable: true` and `retryAfter` (seconds) say when to send it again.
 */
export function retryableError(reason: string, message: string, retryAfter: number): GraphQLError {
  return new GraphQLError(`${message} (after ${retryAfter} s)`, {
    extensions: { code: 'RATE_LIMITED', reason, retryable: true, retryAfter },
  })
}
