import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, submit } from './scenario.fixtures.js'

// Bulk cross-checks (CONTRACT.md §4): up to 1,000 keys, each answered in order.
describe('bulk lookups', () => {
  let server: TestServer
  let steward: Record<string, string>
  beforeAll(async () => {
    server = await startTestServer()
    steward = await createTestKey(server.knex, { roles: ['STEWARD'] })
  })
  afterAll(async () => server?.close())

  it('personsByIdNumbers answers FOUND, NOT_FOUND and INVALID in the order asked', async () => {
    const sfx = uniqueSuffix()
    const known = makeIdNumber('1979-06-01')
    const unknown = makeIdNumber('1979-06-02')
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `bulk-${sfx}`, attributes: { idNumber: known, name: `Bulk ${sfx}` } },
    ])
    const broken = known.slice(0, 17) + (known[17] === '0' ? '1' : '0')
    const asked = [unknown, ` ${known.toLowerCase()} `, broken, known]
    const r = await server.gql(
      `query($ids: [String!]!) { personsByIdNumbers(idNumbers: $ids) { idNumber status person { name } } }`,
      { ids: asked },
      steward,
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.personsByIdNumbers).toEqual([
      { idNumber: unknown, status: 'NOT_FOUND', person: null },
      { idNumber: ` ${known.toLowerCase()} `, status: 'FOUND', person: { name: `Bulk ${sfx}` } },
      { idNumber: broken, status: 'INVALID', person: null },
      { idNumber: known, status: 'FOUND', person: { name: `Bulk ${sfx}` } },
    ])
  })

  it('legalEntitiesByCreditCodes answers in order, and more than 1,000 keys is a coded error', async () => {
    const sfx = uniqueSuffix()
    const known = makeCreditCode()
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      { sourceKey: `bulk-le-${sfx}`, attributes: { creditCode: known, name: `Bulk Co ${sfx}` } },
    ])
    const r = await server.gql(
      `query($c: [String!]!) { legalEntitiesByCreditCodes(creditCodes: $c) { creditCode status legalEntity { name } } }`,
      { c: [known, 'NOT-A-CODE', makeCreditCode()] },
      steward,
    )
    expect(r.data.legalEntitiesByCreditCodes.map((x: { status: string }) => x.status)).toEqual([
      'FOUND',
      'INVALID',
      'NOT_FOUND',
    ])
    expect(r.data.legalEntitiesByCreditCodes[0].legalEntity.name).toBe(`Bulk Co ${sfx}`)

    const tooMany = await server.gql(
      `query($c: [String!]!) { legalEntitiesByCreditCodes(creditCodes: $c) { status } }`,
      { c: Array.from({ length: 1001 }, () => known) },
      steward,
    )
    expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'creditCodes' })
  })
})
