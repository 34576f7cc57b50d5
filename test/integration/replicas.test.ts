import { execFile, execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import knexFactory, { type Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startTestServer, type TestServer, uniqueSuffix } from '../helpers.js'
import { random } from '../support/ids.js'
import { asDept, makeIdNumber, submit } from './scenario.fixtures.js'

// Read replicas against a REAL streaming replica of the test database's server, made by
// test/support/replica.sh (pg_basebackup -R into a second data directory, hot standby on
// 127.0.0.1:5433). It needs a real PostgreSQL on this machine and root (or the postgres user);
// otherwise the tests are skipped with the reason in their titles.
const REPLICA_PORT = 5433
const embedded = inject('embedded')
const primaryUrl = new URL(inject('databaseUrl'))
const local = ['127.0.0.1', 'localhost'].includes(primaryUrl.hostname)
const privileged = process.getuid?.() === 0 || process.env.USER === 'postgres'
const reason = embedded
  ? 'the embedded database has no replicas'
  : !local
    ? 'DATABASE_URL is not a server on this machine'
    : !privileged
      ? 'making a replica needs root or the postgres user'
      : ''
const suite = reason ? describe.skip : describe
const why = reason ? ` — skipped: ${reason}` : ''

const replicaUrl = new URL(primaryUrl)
replicaUrl.port = String(REPLICA_PORT)
const script = new URL('../support/replica.sh', import.meta.url).pathname

let replica: Knex
let server: TestServer // lag bound wide enough to read a paused replica
let strict: TestServer // lag bound of 1 ms: any lag sends reads to the primary
beforeAll(async () => {
  if (reason) return
  execFileSync('bash', [script, 'start', String(REPLICA_PORT)], { stdio: 'inherit', timeout: 900_000 })
  replica = knexFactory({ client: 'pg', connection: replicaUrl.toString(), pool: { min: 0, max: 1 } })
  const readUrls = [replicaUrl.toString()]
  server = await startTestServer({ readUrls, replicaMaxLagMs: 600_000, replicaWaitMs: 300 })
  strict = await startTestServer({ readUrls, replicaMaxLagMs: 1, replicaWaitMs: 300 })
}, 960_000)
afterAll(async () => {
  await replica?.raw('SELECT pg_wal_replay_resume()').catch(() => undefined)
  await replica?.destroy()
  await server?.close()
  await strict?.close()
  if (!reason) execFileSync('bash', [script, 'stop', String(REPLICA_PORT)], { stdio: 'inherit' })
})

const FIND = 'query($n: String!) { person(idNumber: $n) { name } }'
/** The person's name as `department` reads it through `on` (null when not there). */
async function nameSeenBy(on: TestServer, department: string, idNumber: string): Promise<string | null> {
  const r = await on.gql(FIND, { n: idNumber }, { ...asDept(department), 'X-Roles': 'STEWARD' })
  if (r.errors) throw new Error(JSON.stringify(r.errors))
  return r.data.person?.name ?? null
}

/** Waits (bounded) until the replica has replayed everything the primary wrote so far. */
async function caughtUp(): Promise<void> {
  const { rows } = await server.knex.raw('SELECT pg_current_wal_lsn()::text AS lsn')
  for (let i = 0; i < 1800; i++) {
    const r = await replica.raw('SELECT pg_last_wal_replay_lsn() >= ?::pg_lsn AS ok', [rows[0].lsn])
    if (r.rows[0].ok) return
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error('the replica did not catch up within 90 s')
}

suite(`read replicas${why}`, () => {
  it('queries read the replica; the writer reads its own write; beyond the lag bound reads go to the primary; /readyz reports lag', async () => {
    await caughtUp()
    await replica.raw('SELECT pg_wal_replay_pause()')
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1979-09-09')
    await submit(server, 'PSB', 'PERSON', [{ sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Replica ${sfx}` } }])

    // Another caller reads the paused replica: the write is not there yet (so the read went to it).
    expect(await nameSeenBy(server, 'HEALTH', idNumber)).toBeNull()
    // The writer waits for the replica up to the bound, then reads the primary: it sees its write.
    const writer = await server.gql(FIND, { n: idNumber }, asDept('PSB'))
    expect(writer.data.person?.name).toBe(`Replica ${sfx}`)
    // With a 1 ms lag bound the lagging replica is skipped for everyone.
    expect(await nameSeenBy(strict, 'HEALTH', idNumber)).toBe(`Replica ${sfx}`)

    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
    const body: any = await ready.json()
    expect(body.replicas).toHaveLength(1)
    expect(body.replicas[0]).toMatchObject({ up: true })
    expect(body.replicas[0].behindBytes).toBeGreaterThan(0)
    expect(body.replicas[0].lagMs).toBeGreaterThan(0)
    expect(JSON.stringify(body)).not.toMatch(/password/)

    await replica.raw('SELECT pg_wal_replay_resume()')
    await caughtUp()
    expect(await nameSeenBy(server, 'HEALTH', idNumber)).toBe(`Replica ${sfx}`)
  }, 240_000)

  it('areaSummary on a replica answers from it and compacts the cell deltas it read on the primary', async () => {
    // Five addresses within 120 m, each inserted by its own statement: five delta rows in one
    // level-16 cell (~0.5 × 0.3 km), in the county west of the city where other tests write nothing.
    const lon = 119.0 + random() * 0.3
    const lat = 29.5 + random() * 0.3
    const [{ txid }] = await server
      .knex('transactions')
      .insert({ operation: 'test: replica summary' })
      .returning('txid')
    for (let i = 0; i < 5; i++) {
      const id = randomUUID()
      await server.knex.raw(
        `WITH e AS (INSERT INTO entities (id, entity_type, created_txid) VALUES (?, 'ADDRESS', ?))
         INSERT INTO addresses (id, full_text, location) VALUES (?, ?, ST_SetSRID(ST_MakePoint(?, ?), 4326))`,
        [id, txid, id, `replica-summary-${uniqueSuffix()}`, lon + i * 0.00003, lat],
      )
    }
    // A 2 km square: the cell of the five lies wholly inside, so its counts come from area_cell_counts.
    const d = 0.01
    const square = {
      type: 'Polygon',
      coordinates: [
        [
          [lon - d, lat - d],
          [lon + d, lat - d],
          [lon + d, lat + d],
          [lon - d, lat + d],
          [lon - d, lat - d],
        ],
      ],
    }
    const cellRows = async () =>
      (
        await server.knex.raw(
          `SELECT count(*)::int AS n FROM area_cell_counts
            WHERE cell = (SELECT address_cell(ST_SetSRID(ST_MakePoint(?, ?), 4326)) >> 8)`,
          [lon, lat],
        )
      ).rows[0].n as number
    expect(await cellRows()).toBeGreaterThanOrEqual(5)
    await caughtUp()
    const truth = (
      await server.knex.raw(
        `SELECT count(*)::int AS n FROM addresses WHERE ST_Intersects(location, ST_GeomFromGeoJSON(?))`,
        [JSON.stringify(square)],
      )
    ).rows[0].n
    expect(truth).toBeGreaterThanOrEqual(5)
    const r = await server.gql('query($g: GeoJSON!) { areaSummary(geometry: $g) { addressCount } }', { g: square })
    expect(r.errors).toBeUndefined()
    expect(r.data.areaSummary.addressCount).toBe(truth)
    // The read went to the read-only replica; the compaction it asked for ran on the primary.
    expect(await cellRows()).toBe(1)
  }, 120_000)

  it('a replica that disappears: reads go to the primary, /readyz stays ready and says it is down', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1978-08-08')
    await submit(server, 'PSB', 'PERSON', [{ sourceKey: `q-${sfx}`, attributes: { idNumber, name: `Gone ${sfx}` } }])
    // A read just before the stop leaves the replica's status fresh and "up": the next read may be
    // sent to it after it is gone, and is then answered again from the primary.
    await nameSeenBy(server, 'HEALTH', idNumber)
    // Not execFileSync: the servers run in this process and must keep serving meanwhile.
    await promisify(execFile)('bash', [script, 'stop', String(REPLICA_PORT)])
    expect(await nameSeenBy(server, 'HEALTH', idNumber)).toBe(`Gone ${sfx}`)
    expect(await nameSeenBy(server, 'CAB', idNumber)).toBe(`Gone ${sfx}`)
    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(((await ready.json()) as any).replicas[0]).toMatchObject({ up: false, lagMs: null })
  }, 120_000)
})
