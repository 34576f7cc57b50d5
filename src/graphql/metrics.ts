import type { ApolloServerPlugin } from '@apollo/server'
import type { Knex } from 'knex'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

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

  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      const end = duration.startTimer()
      return {
        async willSendResponse({ operationName, errors: errs }) {
          const operation = operationName ?? 'anonymous'
          end({ operation })
          requests.inc({ operation, outcome: errs?.length ? 'error' : 'ok' })
          for (const e of errs ?? []) errors.inc({ code: String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR') })
        },
      }
    },
  }
  return { registry, plugin }
}
