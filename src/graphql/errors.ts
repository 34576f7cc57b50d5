import { randomUUID } from 'node:crypto'
import type { GraphQLFormattedError } from 'graphql'
import type { Logger } from 'pino'
import { ERROR_CODES } from '../shared/errors.js'

// Codes the client caused or may see; anything else is an internal fault and is hidden.
const CLIENT_CODES = new Set<string>([
  ...Object.keys(ERROR_CODES).filter((c) => c !== 'INTERNAL_SERVER_ERROR'),
  'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE', 'BAD_REQUEST',
])

/**
 * Apollo formatError: client errors pass with their code; internal ones become
 * INTERNAL_SERVER_ERROR with an error id that the server log also holds (no stack, no SQL).
 */
export function formatErrorWith(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    let code = formatted.extensions?.code as string | undefined
    // A validation rule's own code (e.g. QUERY_TOO_COMPLEX) survives Apollo's GRAPHQL_VALIDATION_FAILED wrapper.
    const inner = (error as { originalError?: { extensions?: Record<string, unknown> } })?.originalError?.extensions?.code as string | undefined
    if (code === 'GRAPHQL_VALIDATION_FAILED' && inner && inner in ERROR_CODES) {
      code = inner
      formatted = { ...formatted, extensions: { ...formatted.extensions, code } }
    }
    // The parser's token cap (ApolloServer parseOptions.maxTokens) is a complexity limit, not a typo.
    if (code === 'GRAPHQL_PARSE_FAILED' && /contains more th(?:an|at) \d+ tokens/.test(formatted.message)) {
      code = 'QUERY_TOO_COMPLEX'
      formatted = { ...formatted, message: `The query is too large: ${formatted.message.replace(/^Syntax Error: /, '').replace('more that', 'more than')}`, extensions: { ...formatted.extensions, code } }
    }
    if (code && CLIENT_CODES.has(code)) {
      const { stacktrace: _s, ...extensions } = formatted.extensions ?? {}
      return { ...formatted, extensions }
    }
    const errorId = randomUUID()
    const original = (error as { originalError?: unknown })?.originalError ?? error
    log.error({ errorId, err: original, path: formatted.path }, 'internal error in a GraphQL request')
    return {
      message: `Internal error; quote error id ${errorId} to the service desk`,
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
    }
  }
}
