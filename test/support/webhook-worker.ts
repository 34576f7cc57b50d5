// A webhook delivery worker in a process of its own, as another server process would run it, so
// a test can kill it with SIGKILL in the middle of a delivery. Prints "ready" once started.
// Usage: DATABASE_URL=… node --import tsx test/support/webhook-worker.ts
import 'reflect-metadata'
import { createKnex } from '../../src/db/knex.js'
import { createWebhookWorker } from '../../src/notifications/delivery.js'

const knex = createKnex({ url: process.env.DATABASE_URL!, poolMax: 2 })
const worker = createWebhookWorker(
  knex,
  { pollMs: 20, timeoutMs: 1_000, retryBaseMs: 50, maxBackoffMs: 800, batch: 100, concurrency: 1 },
  { warn() {}, info() {} },
)
worker.start()
console.log('ready')
