import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { seedDemo } from '../../seeds/demo.js'
import { startTestServer, testKnex, uniqueSuffix, type GqlResult, type TestServer } from '../helpers.js'

// The README's GraphQL examples, run as written against a (small) demo: each block's first line
// names its key (`# key: demo-steward`, `# key: none`), and a `<placeholder>` is filled from the
// answer of an earlier example, as the README tells the reader to do. Every example must show its
// point: data comes back, the decision is taken, the correction changes the value, asOf shows the
// value from before it.

interface Example {
  key: string | null
  query: string
}

function readmeExamples(): Example[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1])
  return blocks.map((block) => {
    const key = /^# key: (\S+)/.exec(block)?.[1]
    if (!key) throw new Error(`a README graphql block has no "# key:" first line:\n${block}`)
    return { key: key === 'none' ? null : key, query: block }
  })
}

let server: TestServer
const examples = readmeExamples()
const filled = new Map<string, string>()

/** Runs README example n (1-based) with its placeholders filled; fails on any GraphQL error. */
async function run(n: number): Promise<GqlResult> {
  const ex = examples[n - 1]
  const query = ex.query.replace(/<[^<>\n]+>/g, (placeholder) => {
    const value = filled.get(placeholder)
    if (value === undefined) throw new Error(`example ${n}: nothing fills ${placeholder}`)
    return value
  })
  const r = await server.gql(query, undefined, ex.key ? { authorization: `Bearer ${ex.key}` } : {})
  expect(r.errors, `example ${n}`).toBeUndefined()
  return r
}

// A fresh demo, as a reader of the README has: on a real server a database of its own (dropped
// afterwards), so earlier runs' corrections cannot make an example a no-op; the embedded test
// database is new on every run anyway.
let ownDatabase: string | undefined

beforeAll(async () => {
  let databaseUrl: string | undefined
  if (!inject('embedded')) {
    ownDatabase = `cfd_readme_${uniqueSuffix().replace(/\W/g, '_').toLowerCase()}`
    const admin = testKnex()
    await admin.raw('CREATE DATABASE ??', [ownDatabase])
    await admin.destroy()
    const url = new URL(inject('databaseUrl'))
    url.pathname = `/${ownDatabase}`
    databaseUrl = url.toString()
  }
  server = await startTestServer(databaseUrl ? { databaseUrl } : {})
  await seedDemo(server.knex, {
    persons: 1500,
    legalEntities: 300,
    matchHigh: 0.9,
    matchLow: 0.7,
    extent: [118.3, 29.1, 120.8, 30.6],
  })
}, 300_000)

afterAll(async () => {
  await server?.close()
  if (ownDatabase) {
    const admin = testKnex()
    await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [ownDatabase])
    await admin.destroy()
  }
})

describe('README examples against the demo', () => {
  it('the README has the eleven examples this test walks through', () => {
    expect(examples).toHaveLength(11)
  })

  it('1 lists Xihu residents with provenance', async () => {
    const r = await run(1)
    const page = r.data.persons
    expect(page.totalCount).toBeGreaterThan(5)
    expect(page.nodes).toHaveLength(5)
    for (const p of page.nodes) {
      expect(p.residenceAddress.division.name).toBeTruthy()
      expect(p.provenance.length).toBeGreaterThan(0)
    }
    const person = page.nodes.find((p: { maritalStatus: string }) => p.maritalStatus === 'MARRIED')
    expect(person, 'a married person in example 1').toBeTruthy()
    filled.set('<idNumber of a married person of example 1>', person.idNumber)
  })

  it('2 shows open value mismatches with their candidates, and 3 decides one', async () => {
    const r = await run(2)
    const inbox = r.data.conflicts
    expect(inbox.totalCount).toBeGreaterThan(0)
    const conflict = inbox.nodes[0]
    expect(conflict.id).toBeTruthy()
    expect(conflict.candidates.length).toBeGreaterThan(0)
    filled.set('<id of a conflict from example 2>', conflict.id)

    const decided = (await run(3)).data.resolveConflict
    expect(decided).toMatchObject({ id: conflict.id, status: 'RESOLVED', decision: 'KEEP_AUTHORITATIVE' })
    expect(decided.reason).toMatch(/typo/)
  })

  it('4 registers a divorce, 5 shows it in the history, 6 shows the value before it', async () => {
    const sent = (await run(4)).data.submitRecords
    expect(sent, JSON.stringify(sent)).toMatchObject({ accepted: 1, updated: 1, rejected: [] })

    const person = (await run(5)).data.person
    expect(person.maritalStatus).toBe('DIVORCED')
    const history = person.history as { newValue: unknown; source: { code: string }; recordedAt: string }[]
    expect(history.length).toBeGreaterThanOrEqual(2)
    const latest = [...history].sort((x, y) => y.recordedAt.localeCompare(x.recordedAt))[0]
    expect(latest).toMatchObject({ newValue: 'DIVORCED', source: { code: 'CAB' } })
    const older = history.map((h) => h.recordedAt).filter((t) => t < latest.recordedAt)
    expect(older.length).toBeGreaterThan(0)
    filled.set('<the older recordedAt of example 5>', older.sort().at(-1)!)

    const before = (await run(6)).data.person
    expect(before.maritalStatus).toBe('MARRIED')
  })

  it('7 answers spatial and statistics questions without a key', async () => {
    const r = await run(7)
    expect(r.data.divisionsAt.map((d: { code: string }) => d.code)).toContain('330106')
    expect(r.data.nearestAddresses).toHaveLength(3)
    expect(r.data.adminDivision.derivedStatistics.residentCount).toBeGreaterThan(0)
  })

  it('8 reads the change feed with a cursor to continue from', async () => {
    const r = await run(8)
    expect(r.data.changes.nodes).toHaveLength(20)
    expect(r.data.changes.pageInfo).toMatchObject({ hasNextPage: true })
    expect(r.data.changes.pageInfo.endCursor).toBeTruthy()
  })

  it('9 lists the demo cross-checks, 10 shows hits with evidence, 11 decides one and starts a check', async () => {
    const r = await run(9)
    const benefit = r.data.crossChecks.nodes.find(
      (c: { type: { code: string } }) => c.type.code === 'EMPLOYMENT_WHILE_ON_BENEFIT',
    )
    expect(benefit).toMatchObject({ status: 'DONE' })
    expect(benefit.hitSubjectCount).toBeGreaterThan(0)
    expect(benefit.confirmedCount).toBeGreaterThan(0)
    expect(r.data.crossCheckStatistics[0].subjects).toBeGreaterThan(0)
    filled.set('<id of the benefit check from example 9>', benefit.id)

    const hits = (await run(10)).data.crossCheck.hits
    expect(hits.nodes.length).toBeGreaterThan(0)
    expect(hits.nodes[0].evidence.length).toBeGreaterThan(0)
    filled.set('<id of a hit from example 10>', hits.nodes[0].id)

    const decided = await run(11)
    expect(decided.data.decideCrossCheckHit).toMatchObject({ decision: 'CONFIRMED' })
    expect(decided.data.startCrossCheck.status).toBe('QUEUED')
  })
})
