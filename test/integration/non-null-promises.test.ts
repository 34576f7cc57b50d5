import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { submit } from './scenario.fixtures.js'
import { random, randomInt } from '../support/ids.js'

// The schema promises Address.fullText, AdminDivision.name, Indicator.name, … non-null. A
// department whose value for such a field would not become the golden one (neither authority nor
// stand-in) cannot found the entity: otherwise public queries near it failed for every caller.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

/**
 * A township code no division in the database has yet: the test database is shared by every file
 * and run, and 900 codes under 330106 are soon taken (a CAB record for an existing division is an
 * update, which needs no name, so the refusal this file tests would not happen).
 */
async function township(): Promise<string> {
  for (;;) {
    const code = `330106${randomInt(100, 1000)}`
    if (!(await server.knex('admin_divisions').where({ code }).first('id'))) return code
  }
}

describe('entities the service creates keep the schema non-null promises', () => {
  it('an address first sent by NRP (not a stand-in for fullText) is refused; public queries near it work', async () => {
    const sfx = uniqueSuffix()
    const lon = 120.05 + random() / 100
    const lat = 30.25 + random() / 100
    const address = { fullText: `杭州市西湖区承诺路${sfx}号` }
    const point = { type: 'Point', coordinates: [lon, lat] }
    const r = await submit(server, 'NRP', 'ADDRESS', [
      { sourceKey: `nrp-${sfx}`, attributes: address, geometry: point },
    ])
    expect(r.rejected.map((x) => [x.code, x.field])).toEqual([['NOT_AUTHORIZED', 'fullText']])
    expect(r.rejected[0].message).toMatch(/decided by CAB \(stand-ins: HOUSING, PSB\)/)
    const q = await server.knex('quarantined_records').where({ source_key: `nrp-${sfx}` })
    expect(q.map((x) => x.code)).toEqual(['NOT_AUTHORIZED'])

    // Anonymous callers see a working neighbourhood.
    const near = await server.gql(
      `query($lon: Float!, $lat: Float!) { nearestAddresses(lon: $lon, lat: $lat, limit: 5) { address { fullText } }
        reverseGeocode(lon: $lon, lat: $lat) { nearest { address { fullText } } } }`,
      { lon, lat },
    )
    expect(near.errors).toBeUndefined()

    // A stand-in founds it; NRP's location then joins the existing address.
    expect((await submit(server, 'HOUSING', 'ADDRESS', [{ sourceKey: `h-${sfx}`, attributes: address }])).created).toBe(
      1,
    )
    const again = await submit(server, 'NRP', 'ADDRESS', [
      { sourceKey: `nrp-${sfx}`, attributes: address, geometry: point },
    ])
    expect([again.updated, again.rejected]).toEqual([1, []])
    const after = await server.gql(
      'query($lon: Float!, $lat: Float!) { nearestAddresses(lon: $lon, lat: $lat, limit: 1) { address { fullText } } }',
      { lon, lat },
    )
    expect(after.errors).toBeUndefined()
    expect(after.data.nearestAddresses[0].address.fullText).toBe(address.fullText)
  })

  it('a division, parcel or indicator from a department that cannot decide its promised fields is refused', async () => {
    const division = await submit(server, 'HEALTH', 'ADMIN_DIVISION', [
      { sourceKey: `d-${uniqueSuffix()}`, attributes: { code: await township(), name: 'Promise township' } },
    ])
    expect(division.rejected.map((x) => [x.code, x.field])).toEqual([['NOT_AUTHORIZED', 'code']])
    const noName = await submit(server, 'CAB', 'ADMIN_DIVISION', [
      { sourceKey: `d-${uniqueSuffix()}`, attributes: { code: await township() } },
    ])
    expect(noName.rejected.map((x) => [x.code, x.field])).toEqual([['MISSING_FIELD', 'name']])
    const indicator = await submit(server, 'HEALTH', 'INDICATOR', [
      { sourceKey: `i-${uniqueSuffix()}`, attributes: { code: `P${uniqueSuffix()}`, name: 'Promise' } },
    ])
    expect(indicator.rejected.map((x) => x.code)).toEqual(['NOT_AUTHORIZED'])
    const parcel = await submit(server, 'HEALTH', 'PARCEL', [
      { sourceKey: `p-${uniqueSuffix()}`, attributes: { parcelCode: `PC-${uniqueSuffix().toUpperCase()}` } },
    ])
    expect(parcel.rejected.map((x) => x.code)).toEqual(['NOT_AUTHORIZED'])
    const r = await server.gql('{ adminDivisions(level: TOWNSHIP) { code name level } indicators { code name } }')
    expect(r.errors).toBeUndefined()
  })
})
