import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, randomInt } from '../support/ids.js'

// One DataLoader set per request: a page of 100 persons with residence address, its division
// and employer must cost a handful of statements, not one per person.
describe('statement count of a nested person list', () => {
  let server: TestServer
  const suffix = uniqueSuffix()
  const township = `330106${String(800 + randomInt(199)).padStart(3, '0')}`
  const keys: Record<string, Record<string, string>> = {}
  const as = (department: string) => keys[department]

  beforeAll(async () => {
    server = await startTestServer()
    for (const d of ['CAB', 'AMR', 'PSB', 'HRSS', 'STEWARD'])
      keys[d] = await createTestKey(server.knex, d === 'STEWARD' ? { roles: ['STEWARD'] } : { department: d })
    const submit = async (department: string, entityType: string, records: unknown[]) => {
      const r = await server.gql(
        `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { accepted rejected { index code message } } }`,
        { input: { entityType, records } },
        as(department),
      )
      expect(r.errors).toBeUndefined()
      expect(r.data.submitRecords.rejected).toEqual([])
      return r.data.submitRecords
    }
    await submit('CAB', 'ADMIN_DIVISION', [
      { sourceKey: `div-${suffix}`, attributes: { code: township, name: `测试街道${suffix}` } },
    ])
    const codeBase = randomInt(1e7)
    await submit(
      'AMR',
      'LEGAL_ENTITY',
      Array.from({ length: 5 }, (_, i) => ({
        sourceKey: `le-${suffix}-${i}`,
        attributes: { creditCode: makeCreditCode(codeBase + i), name: `测试公司${suffix}${i}` },
      })),
    )
    await submit(
      'CAB',
      'ADDRESS',
      Array.from({ length: 20 }, (_, i) => ({
        sourceKey: `addr-${suffix}-${i}`,
        attributes: { fullText: `杭州市西湖区测试路${suffix}${i}号`, divisionCode: township },
      })),
    )
    const seq = randomInt(900)
    await submit(
      'PSB',
      'PERSON',
      Array.from({ length: 100 }, (_, i) => ({
        sourceKey: `p-${suffix}-${i}`,
        attributes: {
          idNumber: makeIdNumber(
            `19${String(50 + (i % 40)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 9}`,
            seq + (i % 90),
            '330106',
          ),
          name: `测${suffix}${i}`,
          residenceAddressText: `杭州市西湖区测试路${suffix}${i % 20}号`,
        },
      })),
    )
    const persons = await server.gql(
      `{ persons(first: 100, filter: { nameContains: "${suffix}" }) { nodes { idNumber } } }`,
      undefined,
      as('PSB'),
    )
    await submit(
      'HRSS',
      'PERSON',
      persons.data.persons.nodes.map((p: { idNumber: string }, i: number) => ({
        sourceKey: `hrss-${suffix}-${i}`,
        attributes: {
          idNumber: p.idNumber,
          employmentStatus: 'EMPLOYED',
          employerCreditCode: makeCreditCode(codeBase + (i % 5)),
        },
      })),
    )
  })
  afterAll(async () => server?.close())

  it('answers 100 persons with address, division and employer in at most 6 statements', async () => {
    const statements: string[] = []
    const listener = (q: { sql: string }) => statements.push(q.sql)
    server.knex.on('query', listener)
    const r = await server.gql(
      `{ persons(first: 100, filter: { nameContains: "${suffix}" }) {
      nodes { name residenceAddress { fullText division { code name } } employer { name } } } }`,
      undefined,
      as('STEWARD'),
    )
    server.knex.off('query', listener)
    // The access layer adds a constant few (key lookup, rules, one access-log append), never one per person.
    const accessLayer =
      /principals|authority_rules|sharing_grants|access_log|advisory_xact_lock|^(BEGIN|COMMIT|ROLLBACK)/i
    const access = statements.filter((sql) => accessLayer.test(sql))
    expect(access.length).toBeLessThanOrEqual(8)
    statements.splice(0, statements.length, ...statements.filter((sql) => !accessLayer.test(sql)))
    expect(r.errors).toBeUndefined()
    const nodes = r.data.persons.nodes
    expect(nodes).toHaveLength(100)
    expect(nodes.every((n: any) => n.residenceAddress?.division?.code === township)).toBe(true)
    expect(nodes.every((n: any) => n.employer?.name?.startsWith(`测试公司${suffix}`))).toBe(true)
    // persons page, addresses, divisions, legal entities (+ a little slack for access checks).
    expect(statements.length).toBeLessThanOrEqual(6)
  })
})
