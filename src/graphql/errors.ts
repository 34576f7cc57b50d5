import { randomUUID } from 'node:crypto'
import type { GraphQLFormattedError } from 'graphql'
import type { Logger } from 'pino'
import { asRetryable } from '../db/transaction.js'
import { ERROR_CODES } from '../shared/errors.js'

// Codes the client caused or may see; anything else is an internal fault and is hidden.
const CLIENT_CODES = new Set<string>([
  ...Object.keys(ERROR_CODES).filter((c) => c !== 'INTERNAL_SERVER_ERROR'),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
])

/**
 * A BAD_USER_INPUT raised by GraphQL itself while coercing a variable (`Variable "$t" got invalid
 * value … at "t.x"; DateTime cannot represent …`) has neither reason nor field: derive them, so a
 * caller can treat every BAD_USER_INPUT alike (CONTRACT.md §5).
 */
function withReasonAndField(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const ext = formatted.extensions ?? {}
  if (ext.reason && ext.field) return formatted
  const m = /^Variable "\$([^"]+)" got invalid value .*?(?: at "([^"]+)")?; (.*)$/s.exec(formatted.message)
  const detail = m?.[3] ?? formatted.message
  const reason =
    ext.reason ??
    (/\b(DateTime|Date)\b/.test(detail)
      ? 'INVALID_DATE'
      : /\bGeoJSON\b/.test(detail)
        ? 'INVALID_GEOMETRY'
        : 'INVALID_VALUE')
  const field = ext.field ?? (m ? (m[2] ?? m[1]) : null)
  return { ...formatted, extensions: { ...ext, reason, field } }
}

/**
 * A query geometry PostGIS found invalid (SQLSTATE CFDG1 raised by checked_query_geometry, reason
 * in DETAIL, argument in HINT) is the caller's error: BAD_USER_INPUT, INVALID_GEOMETRY. Null otherwise.
 */
function invalidQueryGeometry(error: unknown, formatted: GraphQLFormattedError): GraphQLFormattedError | null {
  const db = (error as { originalError?: { code?: string; detail?: string; hint?: string } })?.originalError
  if (db?.code !== 'CFDG1') return null
  return {
    message: `${db.hint}: geometry is not valid: ${db.detail}`,
    path: formatted.path,
    locations: formatted.locations,
    extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_GEOMETRY', field: db.hint },
  }
}

/**
 * Apollo formatError: client errors pass with their code; internal ones become
 * INTERNAL_SERVER_ERROR with an error id that the server log also holds (no stack, no SQL).
 */
export function formatErrorWith(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const geometryError = invalidQueryGeometry(error, formatted)
    if (geometryError) return geometryError
    let code = formatted.extensions?.code as string | undefined
    // A validation rule's own code (e.g. QUERY_TOO_COMPLEX) survives Apollo's GRAPHQL_VALIDATION_FAILED wrapper.
    const inner = (error as { originalError?: { extensions?: Record<string, unknown> } })?.originalError?.extensions
      ?.code as string | undefined
    if (code === 'GRAPHQL_VALIDATION_FAILED' && inner && inner in ERROR_CODES) {
      code = inner
      formatted = { ...formatted, extensions: { ...formatted.extensions, code } }
    }
    // The parser's token cap (ApolloServer parseOptions.maxTokens) is a complexity limit, not a typo.
    if (code === 'GRAPHQL_PARSE_FAILED' && /contains more th(?:an|at) \d+ tokens/.test(formatted.message)) {
      code = 'QUERY_TOO_COMPLEX'
      formatted = {
        ...formatted,
        message: `The query is too large: ${formatted.message.replace(/^Syntax Error: /, '').replace('more that', 'more than')}`,
        extensions: { ...formatted.extensions, code },
      }
    }
    if (code === 'BAD_USER_INPUT') formatted = withReasonAndField(formatted)
    if (code && CLIENT_CODES.has(code)) {
      const { stacktrace: _s, ...extensions } = formatted.extensions ?? {}
      return { ...formatted, extensions }
    }
    const original = (error as { originalError?: unknown })?.originalError ?? error
    // A lost database connection (restart, failover) is a passing fault the caller can retry.
    const retry = asRetryable(original)
    if (retry) {
      log.warn({ err: original, path: formatted.path }, 'request refused for a passing database fault')
      return {
        message: retry.message,
        path: formatted.path,
        locations: formatted.locations,
        extensions: (retry as { extensions?: Record<string, unknown> }).extensions,
      }
    }
    const errorId = randomUUID()
    log.error({ errorId, err: original, path: formatted.path }, 'internal error in a GraphQL request')
    return {
      message: `Internal error; quote error id ${errorId} to the service desk`,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
    }
  }
}
