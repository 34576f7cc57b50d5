import { randomUUID } from 'node:crypto'
import type { ApolloServerPlugin } from '@apollo/server'
import { GraphQLError, Kind, type FragmentDefinitionNode } from 'graphql'
import type { Logger } from 'pino'
import type { Context } from '../graphql/context.js'
import { appendAccessLog } from './access-log.store.js'
import { checkQueryLimits, type QueryLimits } from './query-limits.js'
import { accessState } from './visibility.js'

/**
 * Apollo plugin of the access layer: refuses operations beyond the depth/cost limits before they
 * run (QUERY_TOO_COMPLEX), adds the FORBIDDEN_FIELD entries of non-null fields to the response,
 * and appends one hash-chained access-log row per request that read person data. If the log
 * cannot be written the data is not sent.
 */
export function accessPlugin({ log, limits }: { log: Logger; limits: QueryLimits }): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return
          // The schema has no Subscription type; graphql-js would only notice while executing.
          if (operation.operation === 'subscription')
            throw new GraphQLError('Subscriptions are not supported; use the change feed changes(after:) instead', {
              extensions: {
                code: 'BAD_USER_INPUT',
                reason: 'UNSUPPORTED_OPERATION',
                field: 'subscription',
                http: { status: 400 },
              },
            })
          const fragments: Record<string, FragmentDefinitionNode> = {}
          for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d
          checkQueryLimits(schema, operation, fragments, request.variables ?? {}, limits)
        },
        async willSendResponse({ contextValue: ctx, response, operationName }) {
          if (!ctx || response.body.kind !== 'single') return
          const state = accessState(ctx)
          const result = response.body.singleResult
          if (state.extraErrors.length)
            result.errors = [
              ...(result.errors ?? []),
              ...state.extraErrors.map((e) => ({
                message: e.message,
                path: e.path,
                extensions: { code: 'FORBIDDEN_FIELD' },
              })),
            ]
          if (!state.personIds.size && !state.personLookup) return
          try {
            await appendAccessLog(ctx.primary ?? ctx.knex, {
              at: new Date(),
              principalId: ctx.principal.id,
              purpose: ctx.purpose,
              operationName: operationName ?? null,
              personIds: [...state.personIds],
              fields: [...state.personFields],
            })
          } catch (err) {
            const errorId = randomUUID()
            log.error({ errorId, err }, 'access log could not be written; the response is withheld')
            response.body.singleResult = {
              errors: [
                {
                  message: `Internal error; quote error id ${errorId} to the service desk`,
                  extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
                },
              ],
            }
          }
        },
      }
    },
  }
}
