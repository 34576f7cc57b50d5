import 'reflect-metadata'
import { createHmac } from 'node:crypto'
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { revokePrincipal } from '../../src/access/keys.js'
import { createWebhookWorker } from '../../src/notifications/delivery.js'
import { createTestKey, principalIdOf } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeIdNumber, randomInt } from '../support/ids.js'

// Change notifications (CONTRACT §9) end to end: a real HTTP receiver in this process, the
// service's delivery worker POSTing to it, events checked for order, signature and access rules.

interface Received {
  path: string
  body: { id: string; cursor: string; kind: string; entityType: string; entityId: string; fields: string[] }
  signatureHeader: string
  raw: string
}

/** Answers by path: /ok → 200; /flaky/N → 500 for the first N requests, then 200; /hold-once → never answers the first request. */
class Receiver {
  server!: Server
  url = ''
  received: Received[] = []
  private failures = new Map<string, number>()
  private held: (() => void)[] = []
  private heldOnce = new Set<string>()
  /** Requests waiting for an answer that will not come (see /hold-once). */
  get holding() {
    return this.held.length
  }
  private inFlight = new Map<string, number>()
  /** Most requests of one subscription seen at the same time. */
  maxInFlight = new Map<string, number>()

  async start() {
    this.server = createServer(async (req, res) => {
      const raw = await text(req)
      const path = req.url ?? '/'
      const sub = String(req.headers['x-subscription-id'])
      const now = (this.inFlight.get(sub) ?? 0) + 1
      this.inFlight.set(sub, now)
      this.maxInFlight.set(sub, Math.max(this.maxInFlight.get(sub) ?? 0, now))
      try {
        // The first request to a /hold-once path is never answered (until close); later ones are.
        if (path.startsWith('/hold-once') && !this.heldOnce.has(path)) {
          this.heldOnce.add(path)
          return await new Promise<void>((r) => this.held.push(r))
        }
        const flaky = /^\/flaky\/(\d+)/.exec(path)
        if (flaky) {
          const n = (this.failures.get(path) ?? 0) + 1
          this.failures.set(path, n)
          if (n <= Number(flaky[1])) {
            res.statusCode = 500
            return res.end('not now')
          }
        }
        this.received.push({ path, body: JSON.parse(raw), signatureHeader: String(req.headers['x-signature']), raw })
        res.end('ok')
      } finally {
        this.inFlight.set(sub, (this.inFlight.get(sub) ?? 1) - 1)
      }
    })
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`
  }
  releaseAll() {
    for (const r of this.held.splice(0)) r()
  }
  at(path: string) {
    return this.received.filter((r) => r.path === path)
  }
  async close() {
    this.releaseAll()
    this.server.closeAllConnections()
    await new Promise((r) => this.server.close(r))
  }
}

function text(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = ''
    req.on('data', (d) => (s += d))
    req.on('end', () => resolve(s))
  })
}

/** Polls until check() holds (the worker runs on its own schedule), failing after timeoutMs. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const receiver = new Receiver()
let server: TestServer
const suffix = uniqueSuffix()
const keys: Record<string, Record<string, string>> = {}

const SUBSCRIBE = `mutation($input: WebhookSubscriptionInput!) {
  subscribeWebhook(input: $input) { secret subscription { id url active kinds entityTypes deliveredCursor failureCount } } }`

async function subscribe(key: Record<string, string>, input: Record<string, unknown>) {
  const r = await server.gql(SUBSCRIBE, { input }, key)
  expect(r.errors).toBeUndefined()
  return r.data.subscribeWebhook as { secret: string; subscription: { id: string } }
}

async function submit(department: string, entityType: string, records: unknown[]) {
  const r = await server.gql(
    `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { accepted rejected { index code message } } }`,
    { input: { entityType, records } },
    keys[department],
  )
  expect(r.errors).toBeUndefined()
  expect(r.data.submitRecords.rejected).toEqual([])
}

async function subscription(id: string, key: Record<string, string>) {
  const r = await server.gql(
    `{ webhookSubscriptions { id active pausedReason lastError failureCount deliveredCursor } }`,
    undefined,
    key,
  )
  return r.data.webhookSubscriptions.find((s: { id: string }) => s.id === id)
}

beforeAll(async () => {
  await receiver.start()
  server = await startTestServer({
    webhooks: {
      allowedUrls: [`${receiver.url}/`],
      worker: true,
      pollMs: 50,
      timeoutMs: 3_000,
      retryBaseMs: 50,
      maxBackoffMs: 800,
      batch: 100,
      concurrency: 4,
    },
  })
  for (const d of ['PSB', 'CAB', 'HRSS', 'EDU', 'AMR']) keys[d] = await createTestKey(server.knex, { department: d })
  keys.STEWARD = await createTestKey(server.knex, { roles: ['STEWARD'] })
  await submit(
    'CAB',
    'ADDRESS',
    [0, 1].map((i) => ({
      sourceKey: `wh-addr-${suffix}-${i}`,
      attributes: { fullText: `杭州市西湖区通知路${suffix}${i}号`, divisionCode: '330106' },
    })),
  )
})

afterAll(async () => {
  await server?.close()
  await receiver.close()
})

describe('subscribing', () => {
  it('refuses URLs outside the operator allow-list, credentials in URLs, and bad filters with codes', async () => {
    const bad: [Record<string, unknown>, string, string][] = [
      [{ url: 'http://169.254.169.254/latest/meta-data', entityTypes: ['PERSON'] }, 'input.url', 'URL_NOT_ALLOWED'],
      [{ url: `${receiver.url}@evil.example/`, entityTypes: ['PERSON'] }, 'input.url', 'URL_NOT_ALLOWED'],
      [
        { url: `${receiver.url.replace('127.0.0.1', 'user:pw@127.0.0.1')}/ok`, entityTypes: ['PERSON'] },
        'input.url',
        'URL_NOT_ALLOWED',
      ],
      [{ url: 'file:///etc/passwd', entityTypes: ['PERSON'] }, 'input.url', 'URL_NOT_ALLOWED'],
      [{ url: 'not a url', entityTypes: ['PERSON'] }, 'input.url', 'URL_NOT_ALLOWED'],
      [{ url: `${receiver.url}/ok`, entityTypes: [] }, 'input.entityTypes', 'INVALID_VALUE'],
      [
        { url: `${receiver.url}/ok`, entityTypes: ['PERSON'], fields: ['noSuchField'] },
        'input.fields',
        'UNKNOWN_FIELD',
      ],
      [{ url: `${receiver.url}/ok`, entityTypes: ['PERSON'], entityIds: ['x'] }, 'input.entityIds', 'INVALID_VALUE'],
      [
        { url: `${receiver.url}/ok`, entityTypes: ['PERSON'], expiresAt: '2020-01-01T00:00:00Z' },
        'input.expiresAt',
        'INVALID_DATE',
      ],
      [{ url: `${receiver.url}/ok`, entityTypes: ['PERSON'], after: 'forged' }, 'input.after', 'INVALID_VALUE'],
    ]
    for (const [input, field, reason] of bad) {
      const r = await server.gql(SUBSCRIBE, { input }, keys.HRSS)
      expect(r.errors?.[0].extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field, reason })
    }
    const anonymous = await server.gql(SUBSCRIBE, { input: { url: `${receiver.url}/ok`, entityTypes: ['PERSON'] } })
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED')
  })

  it('shows the secret once; the list never shows it', async () => {
    const created = await subscribe(keys.AMR, { url: `${receiver.url}/once`, entityTypes: ['LEGAL_ENTITY'] })
    expect(created.secret.length).toBeGreaterThan(30)
    const list = await server.gql(`{ webhookSubscriptions { id url } }`, undefined, keys.AMR)
    expect(JSON.stringify(list)).not.toContain(created.secret)
    expect(list.data.webhookSubscriptions.map((s: { id: string }) => s.id)).toContain(created.subscription.id)
    const other = await server.gql(`{ webhookSubscriptions { id } }`, undefined, keys.CAB)
    expect(other.data.webhookSubscriptions.map((s: { id: string }) => s.id)).not.toContain(created.subscription.id)
    const foreign = await server.gql(
      `mutation($id: ID!) { unsubscribeWebhook(id: $id) }`,
      { id: created.subscription.id },
      keys.CAB,
    )
    expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND')
    const mine = await server.gql(
      `mutation($id: ID!) { unsubscribeWebhook(id: $id) }`,
      { id: created.subscription.id },
      keys.AMR,
    )
    expect(mine.data.unsubscribeWebhook).toBe(true)
  })
})

const idNumber = makeIdNumber('1980-03-04', 100 + randomInt(800))
let personId: string

describe('delivery', () => {
  it('delivers a person’s creation, move and death in feed order, signed, from the moment of subscribing', async () => {
    const path = `/ok/${suffix}`
    const sub = await subscribe(keys.PSB, { url: `${receiver.url}${path}`, entityTypes: ['PERSON'] })
    const record = (attributes: Record<string, unknown>, n: number) => ({
      sourceKey: `wh-p-${suffix}-${n}`,
      observedAt: `2025-0${n + 1}-01T00:00:00Z`,
      attributes: { idNumber, ...attributes },
    })
    await submit('PSB', 'PERSON', [
      record({ name: `通知${suffix}`, residenceAddressText: `杭州市西湖区通知路${suffix}0号` }, 0),
    ])
    await submit('PSB', 'PERSON', [record({ residenceAddressText: `杭州市西湖区通知路${suffix}1号` }, 1)])
    await submit('PSB', 'PERSON', [record({ deathDate: '2025-03-01' }, 2)])
    await until(() => receiver.at(path).some((r) => r.body.kind === 'PERSON_DIED'), 'PERSON_DIED')

    const got = receiver.at(path).filter((r) => r.body.entityType === 'PERSON')
    personId = got[0].body.entityId
    const mine = got.filter((r) => r.body.entityId === personId)
    expect(mine.map((r) => r.body.kind)).toEqual([
      'ENTITY_CREATED',
      'FIELD_CHANGED',
      'PERSON_MOVED',
      'FIELD_CHANGED',
      'PERSON_DIED',
    ])
    expect(mine[0].body.fields).toEqual(expect.arrayContaining(['idNumber', 'name', 'residenceAddress']))
    expect(mine[4].body.fields).toEqual(['deathDate'])
    for (const r of got) {
      const expected = `sha256=${createHmac('sha256', sub.secret).update(r.raw).digest('hex')}`
      expect(r.signatureHeader).toBe(expected)
    }
    // Cursors increase, and the last one is the subscription's deliveredCursor.
    const cursors = got.map((r) => JSON.parse(Buffer.from(r.body.cursor, 'base64url').toString()))
    for (let i = 1; i < cursors.length; i++)
      expect(cursors[i] > cursors[i - 1] || cursors[i][0] > cursors[i - 1][0]).toBe(true)
    await until(
      async () => (await subscription(sub.subscription.id, keys.PSB)).deliveredCursor === got.at(-1)!.body.cursor,
      'cursor',
    )
  })

  it('loses nothing when the receiver fails for a while, and duplicates at most the event in flight', async () => {
    const path = `/flaky/3/${suffix}`
    const sub = await subscribe(keys.PSB, {
      url: `${receiver.url}${path}`,
      entityTypes: ['PERSON'],
      kinds: ['FIELD_CHANGED'],
    })
    const n = 5
    for (let i = 0; i < n; i++)
      await submit('PSB', 'PERSON', [
        {
          sourceKey: `wh-flaky-${suffix}-${i}`,
          observedAt: `2025-04-0${i + 1}T00:00:00Z`,
          attributes: { idNumber, name: `改名${suffix}${i}` },
        },
      ])
    await until(() => receiver.at(path).length >= n, `${n} events after failures`)
    const ids = receiver.at(path).map((r) => r.body.id)
    expect(new Set(ids).size).toBe(n)
    expect(ids.length - new Set(ids).size).toBeLessThanOrEqual(1)
    const s = await subscription(sub.subscription.id, keys.PSB)
    expect(s).toMatchObject({ active: true, failureCount: 0, lastError: null })
  })

  it('pauses a subscription whose receiver keeps failing, with lastError, and resumes from its cursor', async () => {
    // Retries back off 50, 100, … 800 ms; the sixth failure would wait longer than the 800 ms allowed here.
    const path = `/flaky/6/${suffix}`
    const sub = await subscribe(keys.PSB, {
      url: `${receiver.url}${path}`,
      entityTypes: ['PERSON'],
      entityIds: [personId],
    })
    await submit('PSB', 'PERSON', [
      {
        sourceKey: `wh-pause-${suffix}`,
        observedAt: '2025-05-01T00:00:00Z',
        attributes: { idNumber, name: `暂停${suffix}` },
      },
    ])
    await until(async () => (await subscription(sub.subscription.id, keys.PSB)).active === false, 'pause', 30_000)
    const paused = await subscription(sub.subscription.id, keys.PSB)
    expect(paused).toMatchObject({ active: false, pausedReason: 'FAILING', lastError: 'HTTP 500', failureCount: 6 })
    expect(paused.deliveredCursor).toBeNull()
    expect(receiver.at(path)).toEqual([])

    const resumed = await server.gql(
      `mutation($id: ID!) { resumeWebhook(id: $id) { active pausedReason } }`,
      { id: sub.subscription.id },
      keys.PSB,
    )
    expect(resumed.data.resumeWebhook).toEqual({ active: true, pausedReason: null })
    await until(() => receiver.at(path).length === 1, 'the event after resuming')
    expect(receiver.at(path)[0].body).toMatchObject({ kind: 'FIELD_CHANGED', entityId: personId, fields: ['name'] })
    await until(
      async () =>
        (await subscription(sub.subscription.id, keys.PSB)).deliveredCursor === receiver.at(path)[0].body.cursor,
      'the cursor after resuming',
    )
    const again = await server.gql(
      `mutation($id: ID!) { resumeWebhook(id: $id) { active } }`,
      { id: sub.subscription.id },
      keys.PSB,
    )
    expect(again.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NOT_PAUSED' })
  })

  it('applies the subscriber’s access rules at delivery: no PERSON_DIED without deathDate, no hidden fields', async () => {
    const path = `/ok/access/${suffix}`
    // EDU may not see PSB's deathDate or name (CONDITIONAL, no grant) but owns educationLevel.
    await subscribe(keys.EDU, { url: `${receiver.url}${path}`, entityTypes: ['PERSON'] })
    const other = makeIdNumber('1975-06-07', 100 + randomInt(800))
    await submit('PSB', 'PERSON', [
      { sourceKey: `wh-acc-${suffix}`, attributes: { idNumber: other, name: `甲${suffix}` } },
    ])
    await submit('EDU', 'PERSON', [
      { sourceKey: `wh-acc-e-${suffix}`, attributes: { idNumber: other, educationLevel: 'BACHELOR' } },
    ])
    await submit('PSB', 'PERSON', [
      {
        sourceKey: `wh-acc-${suffix}`,
        observedAt: '2025-06-01T00:00:00Z',
        attributes: { idNumber: other, deathDate: '2025-05-01' },
      },
    ])
    await until(() => receiver.at(path).some((r) => r.body.fields.includes('educationLevel')), 'the EDU change')
    // Give the worker time to (wrongly) send the death, then check it did not.
    const marker = makeIdNumber('1990-01-01', 100 + randomInt(800))
    await submit('EDU', 'PERSON', [
      { sourceKey: `wh-acc-m-${suffix}`, attributes: { idNumber: marker, educationLevel: 'MASTER' } },
    ])
    await until(() => receiver.at(path).length >= 2, 'the marker')
    const got = receiver.at(path)
    expect(got.map((r) => r.body.kind)).not.toContain('PERSON_DIED')
    for (const r of got) {
      expect(r.body.fields).not.toContain('deathDate')
      expect(r.body.fields).not.toContain('name')
      expect(r.body.fields.length).toBeGreaterThan(0)
    }
  })

  it('pauses the subscriptions of a revoked key', async () => {
    const key = await createTestKey(server.knex, { department: 'TAX' })
    const sub = await subscribe(key, { url: `${receiver.url}/ok/revoked/${suffix}`, entityTypes: ['PERSON'] })
    await revokePrincipal(server.knex, await principalIdOf(server.knex, key))
    await submit('PSB', 'PERSON', [
      {
        sourceKey: `wh-rev-${suffix}`,
        observedAt: '2025-07-01T00:00:00Z',
        attributes: { idNumber, name: `撤销${suffix}` },
      },
    ])
    await until(
      async () =>
        (await server.knex('webhook_subscriptions').where({ id: sub.subscription.id }).first()).paused_reason ===
        'KEY_REVOKED',
      'KEY_REVOKED',
    )
    expect(receiver.at(`/ok/revoked/${suffix}`)).toEqual([])
  })
})

describe('several workers', () => {
  it('never deliver one subscription’s events at the same time, and deliver each event once', async () => {
    // A second and third worker beside the server's own, on the same database, as other processes would run.
    const config = { pollMs: 20, timeoutMs: 1_000, retryBaseMs: 50, maxBackoffMs: 800, batch: 100, concurrency: 3 }
    const quiet = { warn() {}, info() {} }
    const others = [createWebhookWorker(server.knex, config, quiet), createWebhookWorker(server.knex, config, quiet)]
    for (const w of others) w.start()
    try {
      const path = `/ok/multi/${suffix}`
      const sub = await subscribe(keys.PSB, {
        url: `${receiver.url}${path}`,
        entityTypes: ['PERSON'],
        kinds: ['FIELD_CHANGED'],
      })
      const n = 8
      for (let i = 0; i < n; i++)
        await submit('PSB', 'PERSON', [
          {
            sourceKey: `wh-multi-${suffix}-${i}`,
            observedAt: `2025-08-0${i + 1}T00:00:00Z`,
            attributes: { idNumber, name: `多${suffix}${i}` },
          },
        ])
      await until(() => new Set(receiver.at(path).map((r) => r.body.id)).size >= n, `${n} events`)
      expect(receiver.maxInFlight.get(sub.subscription.id)).toBe(1)
      const ids = receiver.at(path).map((r) => r.body.id)
      expect(ids.length).toBe(new Set(ids).size)
    } finally {
      for (const w of others) await w.stop()
    }
  })
})

describe('the change feed from now on', () => {
  it('changes(after: "now") answers nothing yet and a cursor that then yields exactly the later changes', async () => {
    const now = await server.gql(
      `{ changes(after: "now", first: 5) { nodes { field } pageInfo { endCursor hasNextPage } } }`,
      undefined,
      keys.PSB,
    )
    expect(now.errors).toBeUndefined()
    expect(now.data.changes.nodes).toEqual([])
    const cursor = now.data.changes.pageInfo.endCursor
    expect(cursor).toBeTruthy()
    expect(cursor).not.toBe('now')
    const fresh = makeIdNumber('1988-08-08', 100 + randomInt(800))
    await submit('PSB', 'PERSON', [
      { sourceKey: `wh-now-${suffix}`, attributes: { idNumber: fresh, name: `现在${suffix}` } },
    ])
    const later = await server.gql(
      `query($after: String) { changes(after: $after, first: 50, entityTypes: [PERSON]) { nodes { field newValue } } }`,
      { after: cursor },
      keys.PSB,
    )
    const fields = later.data.changes.nodes.map((n: { field: string }) => n.field).sort()
    expect(fields).toEqual(expect.arrayContaining(['idNumber', 'name']))
    expect(later.data.changes.nodes.some((n: { newValue: unknown }) => n.newValue === `现在${suffix}`)).toBe(true)
  })
})

describe('a worker killed mid-delivery', () => {
  it.skipIf(inject('embedded'))(
    'another resumes from the cursor once the lease has run out: nothing lost, only the event in flight repeated (needs a second connection: real PostgreSQL)',
    async () => {
      await server.webhookWorker.stop()
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/webhook-worker.ts'], {
        env: { ...process.env, DATABASE_URL: inject('databaseUrl') },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d) => String(d).includes('ready') && resolve())
          child.once('exit', (code) => reject(new Error(`the worker process ended at start (exit ${code})`)))
        })
        const path = `/hold-once/${suffix}`
        const sub = await subscribe(keys.PSB, {
          url: `${receiver.url}${path}`,
          entityTypes: ['PERSON'],
          kinds: ['FIELD_CHANGED'],
          entityIds: [personId],
        })
        for (const i of [1, 2])
          await submit('PSB', 'PERSON', [
            {
              sourceKey: `wh-kill-${suffix}-${i}`,
              observedAt: `2025-09-0${i}T00:00:00Z`,
              attributes: { idNumber, name: `杀${suffix}${i}` },
            },
          ])
        // The child has sent the first event and waits for an answer that does not come: kill it.
        await until(() => receiver.holding > 0, 'the held delivery')
        child.kill('SIGKILL')
        await new Promise((r) => child.once('exit', r))
        const row = await server.knex('webhook_subscriptions').where({ id: sub.subscription.id }).first()
        expect(row.last_delivery_at).toBeNull()

        server.webhookWorker.start()
        await until(() => receiver.at(path).length >= 2, 'both events after the restart', 60_000)
        const got = receiver.at(path).map((r) => r.body)
        expect(got).toHaveLength(2)
        expect(got.map((e) => e.entityId)).toEqual([personId, personId])
        expect(new Set(got.map((e) => e.id)).size).toBe(2)
        await until(
          async () => (await subscription(sub.subscription.id, keys.PSB)).deliveredCursor === got[1].cursor,
          'the cursor after both',
        )
      } finally {
        child.kill('SIGKILL')
        server.webhookWorker.start()
      }
    },
    90_000,
  )
})
