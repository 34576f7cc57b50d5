/**
 * Change-notification fan-out: N changes (new persons, one golden-value change group each)
 * delivered to S subscribers on loopback, in a FRESH real-PostGIS database. Reports events/s
 * (deliveries acknowledged per second of wall time from the first commit to the last delivery)
 * and the latency from the transaction (its start, as `occurredAt`) to each delivery: p50/p99.
 * The baseline is the commit rate alone (the same submissions with no subscriber), so the ratio
 * says how much of the time delivery adds.
 *
 *   npm run bench:webhooks -- [--changes 10000] [--subscribers 50] [--database-url postgres://…]
 */
import { createServer as createHttpServer } from 'node:http'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { benchDatabase } from './fresh-database.js'
import { createPrincipal } from '../src/access/keys.js'
import { idNumberCheckChar } from '../src/reconciliation/rules/id-number.js'
import { loadConfig } from '../src/config.js'
import { createServer } from '../src/server.js'

const { values } = parseArgs({
  options: {
    changes: { type: 'string' },
    subscribers: { type: 'string' },
    batch: { type: 'string' },
    'database-url': { type: 'string' },
  },
})
const changes = Number(values.changes ?? 10_000)
const subscribers = Number(values.subscribers ?? 50)
const batch = Number(values.batch ?? 500)
const baseUrl = values['database-url'] ?? process.env.DATABASE_URL
if (!baseUrl) {
  console.error(
    'usage: npm run bench:webhooks -- [--changes N] [--subscribers S] --database-url postgres://… (or DATABASE_URL)',
  )
  process.exit(2)
}
const { dbName, url, admin } = benchDatabase(baseUrl, 'webhooks_bench')

/** A valid GB 11643 number for person i (born 1950–1999). */
function idNumber(i: number): string {
  const year = 1950 + (i % 50)
  const first17 = `330106${year}${String(1 + (i % 12)).padStart(2, '0')}${String(1 + (i % 28)).padStart(2, '0')}${String(i % 1000).padStart(3, '0')}`
  return first17 + idNumberCheckChar(first17)
}

const latencies: number[] = []
let delivered = 0
const receiver = createHttpServer((req, res) => {
  let body = ''
  req.on('data', (d) => (body += d))
  req.on('end', () => {
    const e = JSON.parse(body) as { occurredAt: string }
    latencies.push(Date.now() - Date.parse(e.occurredAt))
    delivered++
    res.end()
  })
})

async function main(): Promise<void> {
  await admin(`DROP DATABASE IF EXISTS ${dbName}`)
  await admin(`CREATE DATABASE ${dbName}`)
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  const port = (receiver.address() as { port: number }).port
  const config = {
    ...loadConfig({ ...process.env, DATABASE_URL: url.toString(), PORT: '0', LOG_LEVEL: 'warn', SEED_DEMO: 'false' }),
  }
  config.webhooks = { ...config.webhooks, allowedUrls: [`http://127.0.0.1:${port}/`], pollMs: 100 }
  const server = await createServer(config)
  try {
    const { key: psb } = await createPrincipal(server.knex, {
      name: 'bench PSB',
      departmentCode: 'PSB',
      roles: ['DEPARTMENT_APP'],
    })
    const gql = async (query: string, variables: unknown, key: string) => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      })
      const json = (await res.json()) as { errors?: unknown[]; data: any }
      if (json.errors) throw new Error(JSON.stringify(json.errors))
      return json.data
    }
    const submit = async (from: number, to: number, tag: string) => {
      for (let start = from; start < to; start += batch) {
        const records = []
        for (let i = start; i < Math.min(start + batch, to); i++)
          records.push({ sourceKey: `${tag}-${i}`, attributes: { idNumber: idNumber(i), name: `通知${i}` } })
        await gql(
          'mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { accepted } }',
          { input: { entityType: 'PERSON', records } },
          psb,
        )
      }
    }

    // Baseline: the same amount of submissions with nobody subscribed.
    let t = Date.now()
    await submit(0, changes, 'base')
    const baselineSeconds = (Date.now() - t) / 1000

    for (let s = 0; s < subscribers; s++) {
      const { key } = await createPrincipal(server.knex, {
        name: `bench sub ${s}`,
        departmentCode: 'PSB',
        roles: ['DEPARTMENT_APP'],
      })
      await gql(
        'mutation($input: WebhookSubscriptionInput!) { subscribeWebhook(input: $input) { secret } }',
        { input: { url: `http://127.0.0.1:${port}/s${s}`, entityTypes: ['PERSON'], kinds: ['ENTITY_CREATED'] } },
        key,
      )
    }
    t = Date.now()
    await submit(changes, 2 * changes, 'fan')
    const committedSeconds = (Date.now() - t) / 1000
    const expected = changes * subscribers
    const deadline = Date.now() + 30 * 60_000
    while (delivered < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    const seconds = (Date.now() - t) / 1000
    latencies.sort((a, b) => a - b)
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]
    const result = {
      machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      changes,
      subscribers,
      delivered,
      expected,
      baselineCommitSeconds: baselineSeconds,
      commitSecondsWithSubscribers: committedSeconds,
      deliverySeconds: seconds,
      eventsPerSecond: Math.round(delivered / seconds),
      latencyMs: { p50: pct(50), p99: pct(99), max: latencies.at(-1) },
    }
    console.log(JSON.stringify(result, null, 2))
  } finally {
    await server.close()
    receiver.close()
    await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
