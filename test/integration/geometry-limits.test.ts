import 'reflect-metadata'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { createSpatialFixture, square, type Ring, type SpatialFixture } from './spatial-fixtures.js'

// Caller geometry can never cost quadratic time on the event loop: shapes are checked in linear
// time with a vertex cap, topology by PostGIS (ST_IsValid). Every geometry input — filters,
// areaSummary, submissions — answers the same coded INVALID_GEOMETRY for the same bad shape.
// And small-area disclosure: public resident counts are suppressed/rounded (docs/security.md).

let server: TestServer
let fx: SpatialFixture
const MAX = 2_000

beforeAll(async () => {
  server = await startTestServer({ maxGeometryVertices: MAX, disclosureMinCount: 10 })
  fx = await createSpatialFixture(server, { addressesPerSide: 4 })
})

afterAll(async () => {
  await server?.close()
})

const polygon = (...rings: Ring[]) => ({ type: 'Polygon', coordinates: rings })

/** A closed ring of n positions on a circle (valid, no self-intersection). */
function circle(n: number, lon = 120.1, lat = 30.2, r = 0.01): Ring {
  const ring: Ring = []
  for (let i = 0; i < n - 1; i++) {
    const t = (2 * Math.PI * i) / (n - 1)
    ring.push([lon + r * Math.cos(t), lat + r * Math.sin(t)])
  }
  ring.push(ring[0])
  return ring
}

const INPUTS: [string, string, (g: unknown) => Record<string, unknown>, string][] = [
  ['areaSummary', 'query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm } }', (g) => ({ g }), 'geometry'],
  [
    'addresses(filter.within)',
    'query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }',
    (g) => ({ f: { within: g } }),
    'filter.within',
  ],
  [
    'buildings(filter.intersects)',
    'query($f: SpatialFilter) { buildings(filter: $f) { nodes { id } } }',
    (g) => ({ f: { intersects: g } }),
    'filter.intersects',
  ],
  [
    'persons(filter.residenceWithin)',
    'query($f: PersonFilter) { persons(filter: $f) { nodes { id } } }',
    (g) => ({ f: { residenceWithin: g } }),
    'filter.residenceWithin',
  ],
  [
    'legalEntities(filter.within)',
    'query($f: LegalEntityFilter) { legalEntities(filter: $f) { nodes { id } } }',
    (g) => ({ f: { within: g } }),
    'filter.within',
  ],
]

async function ask(query: string, variables: Record<string, unknown>) {
  return server.gql(query, variables, { 'X-Roles': 'STEWARD' })
}

describe('bad query geometry → BAD_USER_INPUT, INVALID_GEOMETRY, in every geometry input', () => {
  const hole = polygon(square(120.1, 30.2, 0.01), square(120.3, 30.3, 0.001))
  const bowtie = polygon([
    [120.1, 30.2],
    [120.11, 30.21],
    [120.11, 30.2],
    [120.1, 30.21],
    [120.1, 30.2],
  ])
  const world = polygon([
    [-180, -90],
    [180, -90],
    [180, 90],
    [-180, 90],
    [-180, -90],
  ])
  const tooMany = polygon(circle(MAX + 1))
  const cases: [string, unknown, RegExp][] = [
    ['a hole outside its shell', hole, /hole lies outside shell/i],
    ['a self-intersecting ring', bowtie, /self-intersection/i],
    ['a whole-world polygon (edges of 360° longitude)', world, /180° of longitude/],
    ['one vertex over the configured cap', tooMany, new RegExp(`more than ${MAX} vertices`)],
  ]
  for (const [input, query, vars, field] of INPUTS)
    for (const [what, g, message] of cases)
      it(`${input}: ${what}`, async () => {
        const r = await ask(query, vars(g))
        expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_GEOMETRY', field })
        expect(r.errors?.[0].message).toMatch(message)
        expect(JSON.stringify(r)).not.toMatch(/CFDG1|checked_query_geometry|select /i)
      })

  it('accepts a polygon of exactly the cap', async () => {
    const r = await ask(INPUTS[0][1], { g: polygon(circle(MAX)) })
    expect(r.errors).toBeUndefined()
    expect(r.data.areaSummary.areaSqKm).toBeGreaterThan(0)
  })

  it('submissions answer the same per-record codes (hole outside its shell, cap)', async () => {
    const sfx = uniqueSuffix()
    const r = await server.gql(
      `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { accepted rejected { index code field message } } }`,
      {
        input: {
          entityType: 'PARCEL',
          records: [
            { sourceKey: `gl-hole-${sfx}`, attributes: { parcelCode: `GLH${sfx}`.toUpperCase() }, geometry: hole },
            {
              sourceKey: `gl-many-${sfx}`,
              attributes: { parcelCode: `GLM${sfx}`.toUpperCase() },
              geometry: polygon(circle(MAX + 1)),
            },
          ],
        },
      },
      { 'X-Department': 'NRP' },
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.submitRecords.rejected.map((x: { code: string; index: number }) => [x.index, x.code])).toEqual([
      [0, 'INVALID_GEOMETRY'],
      [1, 'INVALID_GEOMETRY'],
    ])
    expect(r.data.submitRecords.rejected[0].message).toMatch(/hole lies outside shell/i)
    expect(r.data.submitRecords.rejected[1].message).toMatch(new RegExp(`more than ${MAX} vertices`))
  })
})

describe('a huge polygon never stalls the service', () => {
  /** POSTs a GraphQL body over raw HTTP; resolves with the parsed answer, and calls onSent once the body is on the wire. */
  function post(body: string, onSent: () => void): Promise<any> {
    const u = new URL(`${server.url}/graphql`)
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c) => (text += c))
          res.on('end', () => resolve(JSON.parse(text)))
        },
      )
      req.on('error', reject)
      req.on('finish', onSent)
      req.end(body)
    })
  }

  it('an anonymous 80,000-vertex areaSummary is refused with a code, and /healthz answers while it runs', async () => {
    // Four-decimal coordinates keep 80,000 positions under the 2 MB body limit.
    const ring: Ring = circle(80_000).map(([x, y]) => [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4])
    ring[ring.length - 1] = ring[0]
    const body = JSON.stringify({
      query: 'query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm residentCount } }',
      variables: { g: polygon(ring) },
    })
    let bigDone = false
    let healthzWhileRunning = 0
    let healthzLoop: Promise<void> = Promise.resolve()
    const big = post(body, () => {
      // Once the whole body is sent, ask /healthz again and again until the big request is answered.
      healthzLoop = (async () => {
        while (!bigDone) {
          const h = await fetch(`${server.url}/healthz`)
          expect(h.status).toBe(200)
          if (!bigDone) healthzWhileRunning++
        }
      })()
    }).finally(() => {
      bigDone = true
    })
    const answer = await big
    await healthzLoop
    expect(answer.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_GEOMETRY',
      field: 'geometry',
    })
    expect(answer.errors?.[0].message).toMatch(new RegExp(`more than ${MAX} vertices`))
    // /healthz was answered after the service had the whole body and before it answered.
    expect(healthzWhileRunning).toBeGreaterThanOrEqual(1)
  })
})

describe('small-area disclosure: public resident counts are suppressed or rounded', () => {
  const summary =
    'query($g: GeoJSON!) { areaSummary(geometry: $g) { residentCount residentCountRoundedTo addressCount } }'

  it('an anonymous caller gets 0 for a handful of residents, a steward the exact count', async () => {
    const g = polygon(fx.districtRing)
    const living = fx.residents.filter((r) => !r.deceased).length
    expect(living).toBeGreaterThan(0)
    expect(living).toBeLessThan(10)
    const anonymous = await server.gql(summary, { g })
    expect(anonymous.errors).toBeUndefined()
    expect(anonymous.data.areaSummary).toMatchObject({ residentCount: 0, residentCountRoundedTo: 10 })
    // Addresses are public spatial data: exact for everyone.
    expect(anonymous.data.areaSummary.addressCount).toBe(fx.addresses.length)

    const exact = await server.gql(summary, { g }, { 'X-Roles': 'STEWARD' })
    expect(exact.data.areaSummary).toMatchObject({ residentCount: living, residentCountRoundedTo: null })

    // A department without a grant on residenceAddress is public for this purpose.
    const tax = await createTestKey(server.knex, { department: 'TAX' })
    const byTax = await server.gql(summary, { g }, tax)
    expect(byTax.data.areaSummary).toMatchObject({ residentCount: 0, residentCountRoundedTo: 10 })
  })
})
