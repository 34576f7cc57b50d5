import type { Knex } from 'knex'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { DeliveryMetrics } from './delivery.js'
import { subscriptionBacklogs } from './webhook.store.js'

/**
 * Webhook metrics on a server's registry: deliveries and failures, and per active subscription
 * how many feed positions it is behind. Labels are subscription ids, bounded by the per-key
 * subscription cap, never caller-chosen text.
 */
export function registerWebhookMetrics(registry: Registry, knex: Knex): DeliveryMetrics {
  const deliveries = new Counter({
    name: 'cfd_webhook_deliveries_total',
    help: 'Webhook events acknowledged with a 2xx',
    registers: [registry],
  })
  const failures = new Counter({
    name: 'cfd_webhook_failures_total',
    help: 'Webhook attempts that failed (non-2xx, timeout, network)',
    registers: [registry],
  })
  new Gauge({
    name: 'cfd_webhook_backlog_positions',
    help: 'Feed positions (committed transactions) an active subscription has not acknowledged yet',
    labelNames: ['subscription'] as const,
    registers: [registry],
    async collect() {
      this.reset()
      try {
        for (const b of await subscriptionBacklogs(knex)) this.set({ subscription: b.id }, b.behind)
      } catch {
        // The database may be down; /readyz reports that.
      }
    },
  })
  return {
    delivered: () => deliveries.inc(),
    failed: () => failures.inc(),
  }
}
