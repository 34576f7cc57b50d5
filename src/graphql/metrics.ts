import type { ApolloServerPlugin } from '@apollo/server'
import type { Knex } from 'knex'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

// Label values come from callers (the operation name is theirs to choose), and every new value is
// a new time series kept for the life of the process: 50 requests with long random names grew
// /metrics to 37 MB. So the first MAX_OPERATION_LABELS distinct well-formed names are kept and
// everything after them, or longer than MAX_LABEL_LENGTH, is counted as "other".
export const MAX_OPERATION_LABELS = 100
export const MAX_LABEL_LENGTH = 64
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/
const ERROR_CODE = /^[A-Z][A-Z_]{0,39}$/

/** A bounded labeller: the name itself while fewer than `capacity` names are known, else "other". */
export function operationLabeller(capacity = MAX_OPERATION_LABELS): (name: string | null | undefined) => string {
  const known = new Set<string>()
  return (name) => {
    if (!name) return 'anonymous'
    if (name.length > MAX_LABEL_LENGTH || !GRAPHQL_NAME.test(name)) return 'other'
    if (known.has(name)) return name
    if (known.size >= capacity) return 'other'
    known.add(name)
    return name
  }
}

/** Prometheus metrics of one server instance (its own registry, so tests can start several). */
export function createMetrics(knex: Knex) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const requests = new Counter({
    name: 'cfd_graphql_requests_total',
    help: 'GraphQL operations by name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'cfd_graphql_request_duration_seconds',
    help: 'GraphQL operation latency',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const errors = new Counter({
    name: 'cfd_graphql_errors_total',
    help: 'GraphQL errors by code',
    labelNames: ['code'] as const,
    registers: [registry],
  })
  new Gauge({
    name: 'cfd_open_conflicts',
    help: 'Open conflicts waiting for a steward',
    registers: [registry],
    async collect() {
      try {
        const row = await knex('conflicts').where('status', 'OPEN').count({ n: '*' }).first()
        this.set(Number(row?.n ?? 0))
      } catch {
        // The database may be down; /readyz reports that.
      }
    },
  })

  const label = operationLabeller()
  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      const end = duration.startTimer()
      return {
        async willSendResponse({ operation: op, errors: errs }) {
          // The name of the operation actually run (a parsed GraphQL name), not the request's claim.
          const operation = label(op?.name?.value)
          end({ operation })
          requests.inc({ operation, outcome: errs?.length ? 'error' : 'ok' })
          for (const e of errs ?? []) {
            const code = String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')
            errors.inc({ code: ERROR_CODE.test(code) ? code : 'OTHER' })
          }
        },
      }
    },
  }
  return { registry, plugin }
}
