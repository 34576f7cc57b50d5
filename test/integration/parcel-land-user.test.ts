import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { asDept, makeCreditCode, submit } from './scenario.fixtures.js'

// PARCEL landUserCreditCode: an NRP core field, validated as a GB 32100 code, projected to
// parcels.land_user_credit_code and linked to the legal entity holding that code.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

const square = (x: number, y: number, d = 0.0005) => ({
  type: 'Polygon',
  coordinates: [
    [
      [x, y],
      [x + d, y],
      [x + d, y + d],
      [x, y + d],
      [x, y],
    ],
  ],
})

const PARCEL = `query($f: SpatialFilter) { parcels(filter: $f) { nodes { parcelCode landUserCreditCode landUser { creditCode name } } } }`

describe('parcel land user', () => {
  it('is stored, projected and linked to the legal entity holding the code', async () => {
    const code = makeCreditCode()
    const unregistered = makeCreditCode()
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      { sourceKey: `le-${code}`, attributes: { creditCode: code, name: `地产 ${code}` } },
    ])
    const p1 = `LU-${uniqueSuffix()}`.toUpperCase()
    const p2 = `LU-${uniqueSuffix()}`.toUpperCase()
    const r = await submit(server, 'NRP', 'PARCEL', [
      { sourceKey: p1, attributes: { parcelCode: p1, landUserCreditCode: code }, geometry: square(120.1, 30.2) },
      {
        sourceKey: p2,
        attributes: { parcelCode: p2, landUserCreditCode: unregistered },
        geometry: square(120.11, 30.2),
      },
    ])
    expect(r.rejected).toEqual([])
    const row = await server.knex('parcels').where('parcel_code', p1).first()
    expect(row.land_user_credit_code).toBe(code)

    const q = await server.gql(PARCEL, { f: { textContains: p1 } }, asDept('TAX'))
    expect(q.errors).toBeUndefined()
    expect(q.data.parcels.nodes).toEqual([
      { parcelCode: p1, landUserCreditCode: code, landUser: { creditCode: code, name: `地产 ${code}` } },
    ])
    const q2 = await server.gql(PARCEL, { f: { textContains: p2 } }, asDept('TAX'))
    expect(q2.data.parcels.nodes).toEqual([{ parcelCode: p2, landUserCreditCode: unregistered, landUser: null }])
  })

  it('rejects a credit code failing its check character', async () => {
    const good = makeCreditCode()
    const bad = good.slice(0, 17) + (good[17] === '0' ? '1' : '0')
    const p = `LU-${uniqueSuffix()}`.toUpperCase()
    const r = await submit(server, 'NRP', 'PARCEL', [
      { sourceKey: p, attributes: { parcelCode: p, landUserCreditCode: bad }, geometry: square(120.12, 30.2) },
    ])
    expect(r.rejected).toMatchObject([{ index: 0, code: 'INVALID_CREDIT_CODE', field: 'landUserCreditCode' }])
  })

  it('is NRP-owned: the authority table names NRP', async () => {
    const rule = await server
      .knex('authority_rules')
      .where({ entity_type: 'PARCEL', field: 'landUserCreditCode' })
      .first()
    expect(rule.authority).toBe('NRP')
  })
})
