import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, personByIdNumber, STEWARD, submit } from './scenario.fixtures.js'

// Regressions found by a review of the service as a department app, a GIS user or a steward meets it.

let server: TestServer
beforeAll(async () => { server = await startTestServer() })
afterAll(async () => { await server?.close() })

describe('asOf time travel', () => {
  it('answers null for an id of another entity type, as without asOf', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1970-01-02')
    const creditCode = makeCreditCode()
    await submit(server, 'PSB', 'PERSON', [{ sourceKey: `p-${sfx}`, attributes: { idNumber, name: `Review ${sfx}`, gender: 'FEMALE', birthDate: '1970-01-02' } }])
    await submit(server, 'AMR', 'LEGAL_ENTITY', [{ sourceKey: `le-${sfx}`, attributes: { creditCode, name: `Review Co ${sfx}`, kind: 'ENTERPRISE' } }])
    const person = await personByIdNumber(server, idNumber)
    const le = (await server.gql('query($c: String!) { legalEntity(creditCode: $c) { id } }', { c: creditCode }, STEWARD)).data.legalEntity
    const later = new Date(Date.now() + 3_600_000).toISOString()
    const r = await server.gql(`query($p: ID!, $l: ID!, $t: DateTime!) {
      asPerson: person(id: $l, asOf: $t) { id name } asLegalEntity: legalEntity(id: $p, asOf: $t) { id name }
      samePerson: person(id: $p, asOf: $t) { id name } }`, { p: person.id, l: le.id, t: later }, STEWARD)
    expect(r.errors).toBeUndefined()
    expect(r.data.asPerson).toBeNull()
    expect(r.data.asLegalEntity).toBeNull()
    expect(r.data.samePerson).toEqual({ id: person.id, name: `Review ${sfx}` })
  })
})
