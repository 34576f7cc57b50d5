import * as turf from '@turf/turf'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type GqlResult, type TestServer } from '../helpers.js'
import { createSpatialFixture, submit, type Position, type SpatialFixture } from './spatial-fixtures.js'
import { areaSummary } from '../../src/spatial/spatial.store.js'

// The spatial queries against @turf/turf as an independent truth: the fixture's geometry is known
// in JS, so every set the server returns can be recomputed here without SQL.

let server: TestServer
let fx: SpatialFixture
let idByText: Map<string, string>

const ADDRESS_FIELDS = 'id fullText location division { code } building { name }'

async function allAddresses(
  filter: Record<string, unknown>,
  first = 500,
): Promise<{ fullText: string; location: { coordinates: Position }; division: { code: string } | null }[]> {
  const res = await server.gql(
    `query($f: SpatialFilter, $first: Int) { addresses(filter: $f, first: $first) { nodes { ${ADDRESS_FIELDS} } pageInfo { hasNextPage } } }`,
    { f: filter, first },
  )
  expect(res.errors).toBeUndefined()
  expect(res.data.addresses.pageInfo.hasNextPage).toBe(false)
  return res.data.addresses.nodes
}

const texts = (nodes: { fullText: string }[]) => nodes.map((n) => n.fullText).sort()
const mine = (pred: (a: SpatialFixture['addresses'][number]) => boolean) =>
  fx.addresses
    .filter(pred)
    .map((a) => a.fullText)
    .sort()
const polygon = (ring: Position[]) => ({ type: 'Polygon', coordinates: [ring] })

beforeAll(async () => {
  server = await startTestServer()
  fx = await createSpatialFixture(server)
  const rows = await server
    .knex('addresses')
    .select('id', 'full_text')
    .whereIn(
      'full_text',
      fx.addresses.map((a) => a.fullText),
    )
  idByText = new Map(rows.map((r: { id: string; full_text: string }) => [r.full_text, r.id]))
})

afterAll(async () => {
  await server?.close()
})

describe('fixture', () => {
  it('projects every submitted address with its point and division', async () => {
    expect(idByText.size).toBe(fx.addresses.length)
    const nodes = await allAddresses({ divisionCode: fx.district })
    expect(texts(nodes)).toEqual(mine(() => true))
  })
})

describe('addresses(filter)', () => {
  it('within: exactly the points turf finds inside the polygon', async () => {
    const ring = fx.township1Ring
    const nodes = await allAddresses({ within: polygon(ring) })
    const truth = mine((a) => turf.booleanPointInPolygon(a.location, turf.polygon([ring])))
    expect(truth.length).toBeGreaterThan(0)
    expect(truth.length).toBeLessThan(fx.addresses.length)
    expect(texts(nodes)).toEqual(truth)
  })

  it('intersects and bbox agree with turf on the same box', async () => {
    const [x, y] = fx.districtRing[0]
    const box = [x + 0.004, y + 0.004, x + 0.013, y + 0.017]
    const truth = mine(
      (a) => a.location[0] >= box[0] && a.location[0] <= box[2] && a.location[1] >= box[1] && a.location[1] <= box[3],
    )
    expect(truth.length).toBeGreaterThan(0)
    expect(texts(await allAddresses({ bbox: box }))).toEqual(truth)
    expect(
      texts(
        await allAddresses({
          intersects: turf.bboxPolygon(box as [number, number, number, number]).geometry,
        }),
      ),
    ).toEqual(truth)
  })

  it('near: within the radius in metres on the spheroid, as turf measures it', async () => {
    const center: Position = [fx.districtRing[0][0] + 0.01, fx.districtRing[0][1] + 0.01]
    const meters = 600
    const nodes = await allAddresses({ near: { lon: center[0], lat: center[1], meters } })
    // Points within 0.5% of the radius are ambiguous between turf's sphere and PostGIS's spheroid.
    const d = (a: { location: Position }) => turf.distance(center, a.location, { units: 'meters' })
    expect(fx.addresses.filter((a) => Math.abs(d(a) - meters) < meters * 0.005)).toEqual([])
    const truth = mine((a) => d(a) <= meters)
    expect(truth.length).toBeGreaterThan(0)
    expect(texts(nodes)).toEqual(truth)
  })

  it('divisionCode: a township code gives its addresses, the district code everything in its townships', async () => {
    expect(texts(await allAddresses({ divisionCode: fx.township1 }))).toEqual(
      mine((a) => a.divisionCode === fx.township1),
    )
    expect(texts(await allAddresses({ divisionCode: fx.district }))).toEqual(mine(() => true))
    // The city code takes in every district of the city: other files' fixtures (sharing one database)
    // may have a district in the same city, so the answer is all of this fixture plus only addresses
    // whose division is in the city.
    const inCity = await allAddresses({ divisionCode: fx.city })
    const cityPrefix = fx.city.slice(0, 4)
    for (const n of inCity) expect(n.division?.code.startsWith(cityPrefix)).toBe(true)
    expect(texts(inCity.filter((n) => n.fullText.includes(fx.road)))).toEqual(mine(() => true))
  })

  it('combines conditions with AND', async () => {
    const nodes = await allAddresses({
      divisionCode: fx.township2,
      within: polygon(fx.districtRing),
      bbox: [fx.districtRing[0][0], fx.districtRing[0][1], fx.districtRing[0][0] + 0.01, fx.districtRing[0][1] + 0.02],
    })
    const truth = mine((a) => a.divisionCode === fx.township2 && a.location[0] <= fx.districtRing[0][0] + 0.01)
    expect(truth.length).toBeGreaterThan(0)
    expect(texts(nodes)).toEqual(truth)
  })

  it('pages by keyset: every address once, totalCount only when asked', async () => {
    const seen: string[] = []
    let after: string | null = null
    let pages = 0
    for (;;) {
      const res: GqlResult = await server.gql(
        `query($f: SpatialFilter, $after: String) { addresses(filter: $f, first: 7, after: $after) { totalCount edges { cursor node { fullText } } pageInfo { hasNextPage endCursor } } }`,
        { f: { divisionCode: fx.district }, after },
      )
      expect(res.errors).toBeUndefined()
      const c: any = res.data.addresses
      expect(c.totalCount).toBe(fx.addresses.length)
      seen.push(...c.edges.map((e: { node: { fullText: string } }) => e.node.fullText))
      pages++
      if (!c.pageInfo.hasNextPage) break
      after = c.pageInfo.endCursor
    }
    expect(pages).toBe(Math.ceil(fx.addresses.length / 7))
    expect(seen.sort()).toEqual(mine(() => true))
  })
})

describe('buildings and parcels', () => {
  it('buildings(filter) by within, near, divisionCode and name, with their addresses and parcel', async () => {
    const q = `query($f: SpatialFilter) { buildings(filter: $f) { totalCount nodes { name floors useType footprint addresses { fullText building { name } } parcel { parcelCode buildings { name } } } } }`
    const byDistrict = await server.gql(q, { f: { divisionCode: fx.district } })
    expect(byDistrict.errors).toBeUndefined()
    expect(byDistrict.data.buildings.nodes.map((b: { name: string }) => b.name).sort()).toEqual(
      fx.buildings.map((b) => b.name).sort(),
    )
    expect(byDistrict.data.buildings.totalCount).toBe(2)
    const b1 = byDistrict.data.buildings.nodes.find((b: { name: string }) => b.name === fx.buildings[0].name)
    expect(b1.floors).toBe(12)
    expect(b1.useType).toBe('RESIDENTIAL')
    expect(b1.footprint.coordinates[0]).toEqual(fx.buildings[0].ring)
    // The projection links the address whose point lies in the footprint.
    expect(b1.addresses.map((a: { fullText: string }) => a.fullText)).toEqual([fx.addresses[0].fullText])
    expect(b1.addresses[0].building.name).toBe(b1.name)
    expect(b1.parcel.parcelCode).toBe(fx.parcels[0].parcelCode)
    expect(b1.parcel.buildings.map((b: { name: string }) => b.name)).toEqual([b1.name])

    const near = await server.gql(q, {
      f: { near: { lon: fx.addresses[0].location[0], lat: fx.addresses[0].location[1], meters: 50 } },
    })
    expect(near.data.buildings.nodes.map((b: { name: string }) => b.name)).toEqual([fx.buildings[0].name])
    const within = await server.gql(q, { f: { within: polygon(fx.township1Ring) } })
    expect(within.data.buildings.nodes.map((b: { name: string }) => b.name)).toEqual([fx.buildings[0].name])
    const named = await server.gql(q, { f: { textContains: fx.buildings[1].name } })
    expect(named.data.buildings.nodes.map((b: { name: string }) => b.name)).toEqual([fx.buildings[1].name])
  })

  it('parcels(filter) with area on the spheroid within 1% of turf', async () => {
    const res = await server.gql(
      `query($f: SpatialFilter) { parcels(filter: $f) { nodes { parcelCode landUse areaSqM geometry buildings { name } } } }`,
      { f: { within: polygon(fx.districtRing) } },
    )
    expect(res.errors).toBeUndefined()
    const nodes = res.data.parcels.nodes
    expect(nodes.map((p: { parcelCode: string }) => p.parcelCode).sort()).toEqual(
      fx.parcels.map((p) => p.parcelCode).sort(),
    )
    for (const p of nodes) {
      const truth = turf.area(
        turf.polygon(
          fx.parcels.find((x) => x.parcelCode === p.parcelCode)!.ring
            ? [fx.parcels.find((x) => x.parcelCode === p.parcelCode)!.ring]
            : [],
        ),
      )
      expect(Math.abs(p.areaSqM - truth) / truth).toBeLessThan(0.01)
      expect(p.buildings).toHaveLength(1)
    }
    const byCode = await server.gql(`query($f: SpatialFilter) { parcels(filter: $f) { nodes { parcelCode } } }`, {
      f: { textContains: fx.parcels[1].parcelCode.toLowerCase(), divisionCode: fx.district },
    })
    expect(byCode.data.parcels.nodes).toEqual([{ parcelCode: fx.parcels[1].parcelCode }])
  })
})

describe('persons and legal entities by place', () => {
  it('persons pages by keyset with each residence read in the page: every living resident once', async () => {
    const living = fx.residents.filter((r) => !r.deceased)
    const seen: { idNumber: string; address: string }[] = []
    let after: string | null = null
    let pages = 0
    for (;;) {
      const res: GqlResult = await server.gql(
        `query($f: PersonFilter, $after: String) { persons(filter: $f, first: 3, after: $after) { nodes { idNumber residenceAddress { fullText division { code } } } pageInfo { hasNextPage endCursor } } }`,
        { f: { residenceDivisionCode: fx.district }, after },
        { 'X-Department': 'PSB' },
      )
      expect(res.errors).toBeUndefined()
      pages++
      for (const n of res.data.persons.nodes) {
        expect(n.residenceAddress.division.code.startsWith(fx.district)).toBe(true)
        seen.push({ idNumber: n.idNumber, address: n.residenceAddress.fullText })
      }
      if (!res.data.persons.pageInfo.hasNextPage) break
      after = res.data.persons.pageInfo.endCursor
    }
    expect(pages).toBe(Math.ceil(living.length / 3))
    const byId = (xs: { idNumber: string; address: string }[]) =>
      [...xs].sort((a, b) => (a.idNumber < b.idNumber ? -1 : 1))
    expect(byId(seen)).toEqual(
      byId(living.map((r) => ({ idNumber: r.idNumber, address: fx.addresses[r.address].fullText }))),
    )
  })

  it('persons: residenceWithin, residenceNear and residenceDivisionCode leave out the deceased', async () => {
    const living = fx.residents.filter((r) => !r.deceased)
    const ids = (r: typeof fx.residents) => r.map((x) => x.idNumber).sort()
    const q = `query($f: PersonFilter) { persons(filter: $f, first: 100) { nodes { idNumber } } }`
    const run = async (f: Record<string, unknown>) => {
      const res = await server.gql(q, { f }, { 'X-Department': 'PSB' })
      expect(res.errors).toBeUndefined()
      return res.data.persons.nodes.map((p: { idNumber: string }) => p.idNumber).sort()
    }
    expect(await run({ residenceDivisionCode: fx.district })).toEqual(ids(living))
    expect(await run({ residenceDivisionCode: fx.district, includeDeceased: true })).toEqual(ids(fx.residents))
    const inT1 = living.filter((r) => fx.addresses[r.address].divisionCode === fx.township1)
    expect(inT1.length).toBeGreaterThan(0)
    expect(await run({ residenceWithin: polygon(fx.township1Ring) })).toEqual(ids(inT1))
    expect(await run({ residenceDivisionCode: fx.township1 })).toEqual(ids(inT1))
    const p = fx.addresses[living[0].address].location
    const near = living.filter((r) => turf.distance(p, fx.addresses[r.address].location, { units: 'meters' }) <= 300)
    expect(await run({ residenceNear: { lon: p[0], lat: p[1], meters: 300 } })).toEqual(ids(near))
  })

  it('legal entities: within, near and divisionCode by registered address', async () => {
    const q = `query($f: LegalEntityFilter) { legalEntities(filter: $f, first: 100) { nodes { creditCode } } }`
    const run = async (f: Record<string, unknown>) => {
      const res = await server.gql(q, { f }, { 'X-Department': 'AMR' })
      expect(res.errors).toBeUndefined()
      return res.data.legalEntities.nodes.map((e: { creditCode: string }) => e.creditCode).sort()
    }
    const codes = (pred: (e: SpatialFixture['legalEntities'][number]) => boolean) =>
      fx.legalEntities
        .filter(pred)
        .map((e) => e.creditCode)
        .sort()
    expect(await run({ divisionCode: fx.district })).toEqual(codes(() => true))
    expect(await run({ divisionCode: fx.township1 })).toEqual(
      codes((e) => fx.addresses[e.address].divisionCode === fx.township1),
    )
    expect(await run({ within: polygon(fx.township1Ring) })).toEqual(
      codes((e) => turf.booleanPointInPolygon(fx.addresses[e.address].location, turf.polygon([fx.township1Ring]))),
    )
    const p = fx.addresses[fx.legalEntities[1].address].location
    expect(await run({ near: { lon: p[0], lat: p[1], meters: 200 } })).toEqual(
      codes((e) => turf.distance(p, fx.addresses[e.address].location, { units: 'meters' }) <= 200),
    )
  })
})

describe('point lookups', () => {
  const DIVISIONS_AT = `query($lon: Float!, $lat: Float!) { divisionsAt(lon: $lon, lat: $lat) { code level } }`

  it('divisionsAt: every level top-down, boundaries by turf, ancestors through parent links', async () => {
    const [x0, y0] = fx.districtRing[0]
    for (let i = 0; i < 12; i++) {
      const p: Position = [x0 - 0.005 + (i % 4) * 0.009, y0 - 0.004 + Math.floor(i / 4) * 0.011]
      const res = await server.gql(DIVISIONS_AT, { lon: p[0], lat: p[1] })
      expect(res.errors).toBeUndefined()
      const inDistrict = turf.booleanPointInPolygon(p, turf.polygon([fx.districtRing]))
      const inT1 = turf.booleanPointInPolygon(p, turf.polygon([fx.township1Ring]))
      const expected = !inDistrict ? [] : [fx.province, fx.city, fx.district, ...(inT1 ? [fx.township1] : [])]
      expect(res.data.divisionsAt.map((d: { code: string }) => d.code)).toEqual(expected)
    }
    const res = await server.gql(DIVISIONS_AT, { lon: x0 + 0.001, lat: y0 + 0.001 })
    expect(res.data.divisionsAt.map((d: { level: string }) => d.level)).toEqual([
      'PROVINCE',
      'CITY',
      'DISTRICT',
      'TOWNSHIP',
    ])
  })

  it('nearestAddresses: nearest first, metres within 0.5% of turf, default limit 5, maxMeters', async () => {
    const p: Position = [fx.districtRing[0][0] + 0.0071, fx.districtRing[0][1] + 0.0123]
    const res = await server.gql(
      `query($lon: Float!, $lat: Float!) { nearestAddresses(lon: $lon, lat: $lat) { meters address { fullText } } }`,
      { lon: p[0], lat: p[1] },
    )
    expect(res.errors).toBeUndefined()
    const hits = res.data.nearestAddresses
    expect(hits).toHaveLength(5)
    const byDistance = [...fx.addresses].sort((a, b) => turf.distance(p, a.location) - turf.distance(p, b.location))
    expect(hits[0].address.fullText).toBe(byDistance[0].fullText)
    for (let i = 0; i < hits.length; i++) {
      if (i > 0) expect(hits[i].meters).toBeGreaterThanOrEqual(hits[i - 1].meters)
      const truth = turf.distance(p, fx.addresses.find((a) => a.fullText === hits[i].address.fullText)!.location, {
        units: 'meters',
      })
      expect(Math.abs(hits[i].meters - truth) / truth).toBeLessThan(0.005)
    }
    // A radius halfway between two addresses' distances, so sphere-vs-spheroid differences cannot matter.
    const ds = fx.addresses.map((a) => turf.distance(p, a.location, { units: 'meters' })).sort((a, b) => a - b)
    const k = ds.findIndex((d, i) => i >= 6 && i + 1 < ds.length && (ds[i + 1] - d) / d > 0.01)
    expect(k).toBeGreaterThan(0)
    const radius = (ds[k] + ds[k + 1]) / 2
    const limited = await server.gql(
      `query($lon: Float!, $lat: Float!, $m: Float) { nearestAddresses(lon: $lon, lat: $lat, limit: 50, maxMeters: $m) { meters address { fullText } } }`,
      { lon: p[0], lat: p[1], m: radius },
    )
    expect(limited.errors).toBeUndefined()
    const truth = fx.addresses.filter((a) => turf.distance(p, a.location, { units: 'meters' }) <= radius)
    expect(truth).toHaveLength(k + 1)
    expect(
      limited.data.nearestAddresses.map((h: { address: { fullText: string } }) => h.address.fullText).sort(),
    ).toEqual(truth.map((a) => a.fullText).sort())
  })

  it('reverseGeocode: the nearest address and the divisions of the point', async () => {
    const a = fx.addresses[0]
    const res = await server.gql(
      `query($lon: Float!, $lat: Float!) { reverseGeocode(lon: $lon, lat: $lat) { nearest { meters address { fullText } } divisions { code } } }`,
      { lon: a.location[0] + 0.0001, lat: a.location[1] },
    )
    expect(res.errors).toBeUndefined()
    expect(res.data.reverseGeocode.nearest.address.fullText).toBe(a.fullText)
    expect(res.data.reverseGeocode.nearest.meters).toBeGreaterThan(5)
    expect(res.data.reverseGeocode.nearest.meters).toBeLessThan(15)
    expect(res.data.reverseGeocode.divisions.map((d: { code: string }) => d.code)).toEqual([
      fx.province,
      fx.city,
      fx.district,
      fx.township1,
    ])
  })
})

describe('areaSummary', () => {
  it('area within 1% of turf; residents, legal entities, addresses and buildings inside', async () => {
    const [x, y] = fx.districtRing[0]
    const ring: Position[] = [
      [x - 0.001, y - 0.001],
      [x + 0.013, y - 0.001],
      [x + 0.008, y + 0.012],
      [x - 0.001, y + 0.009],
      [x - 0.001, y - 0.001],
    ]
    const area = turf.polygon([ring])
    const res = await server.gql(
      `query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm residentCount legalEntityCount addressCount buildingCount } }`,
      { g: polygon(ring) },
      // Exact resident counts need a caller who may see where persons live (docs/security.md).
      { 'X-Roles': 'STEWARD' },
    )
    expect(res.errors).toBeUndefined()
    const s = res.data.areaSummary
    const truthKm2 = turf.area(area) / 1e6
    expect(Math.abs(s.areaSqKm - truthKm2) / truthKm2).toBeLessThan(0.01)
    const inside = (i: number) => turf.booleanPointInPolygon(fx.addresses[i].location, area)
    expect(s.addressCount).toBe(fx.addresses.filter((_, i) => inside(i)).length)
    expect(s.residentCount).toBe(fx.residents.filter((r) => !r.deceased && inside(r.address)).length)
    expect(s.legalEntityCount).toBe(fx.legalEntities.filter((e) => inside(e.address)).length)
    expect(s.buildingCount).toBe(
      fx.buildings.filter((b) => turf.booleanIntersects(turf.polygon([b.ring]), area)).length,
    )
    expect(s.addressCount).toBeGreaterThan(0)
    expect(s.residentCount).toBeGreaterThan(0)
    expect(s.buildingCount).toBe(1)
    // Without buildingCount in the operation the buildings are not counted; the rest is the same.
    const lean = await server.gql(
      `query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm residentCount legalEntityCount addressCount } }`,
      { g: polygon(ring) },
      { 'X-Roles': 'STEWARD' },
    )
    expect(lean.errors).toBeUndefined()
    expect(lean.data.areaSummary).toEqual({
      areaSqKm: s.areaSqKm,
      residentCount: s.residentCount,
      legalEntityCount: s.legalEntityCount,
      addressCount: s.addressCount,
    })
    const store = await areaSummary(server.knex, polygon(ring), undefined, { countBuildings: false })
    expect(store.buildingCount).toBeNull()
    expect(store.addressCount).toBe(s.addressCount)
    // Asked for in a fragment, it is counted.
    const viaFragment = await server.gql(
      `query($g: GeoJSON!) { areaSummary(geometry: $g) { ...B } } fragment B on AreaSummary { buildingCount }`,
      { g: polygon(ring) },
    )
    expect(viaFragment.data.areaSummary.buildingCount).toBe(1)
  })
})

describe('AdminDivision.geometry(simplifyMeters)', () => {
  it('drops vertices, stays valid and keeps the area within 2%', async () => {
    const code = `${fx.district}003`
    const center: Position = [fx.districtRing[0][0] + 0.015, fx.districtRing[0][1] + 0.015]
    // A wobbly circle of 2,000 vertices, ~400 m radius.
    const ring: Position[] = []
    for (let i = 0; i < 2000; i++) {
      const t = (2 * Math.PI * i) / 2000
      const r = 0.004 * (1 + 0.02 * Math.sin(t * 40))
      ring.push([
        Math.round((center[0] + r * Math.cos(t)) * 1e7) / 1e7,
        Math.round((center[1] + r * Math.sin(t)) * 1e7) / 1e7,
      ])
    }
    ring.push(ring[0])
    await submit(server, 'CAB', 'ADMIN_DIVISION', [{ sourceKey: `div-${code}`, attributes: { code, name: '圆形镇' } }])
    await submit(server, 'NRP', 'ADMIN_DIVISION', [
      {
        sourceKey: `boundary-${code}`,
        attributes: { code },
        geometry: { type: 'Polygon', coordinates: [ring] },
      },
    ])
    const res = await server.gql(
      `query($code: String!) { adminDivision(code: $code) { areaSqKm full: geometry simple: geometry(simplifyMeters: 20) } }`,
      { code },
    )
    expect(res.errors).toBeUndefined()
    const { full, simple, areaSqKm } = res.data.adminDivision
    const vertices = (g: { coordinates: Position[][][] }) => g.coordinates.flat(2).length
    expect(vertices(full)).toBe(2001)
    expect(vertices(simple)).toBeLessThan(vertices(full) / 4)
    expect(vertices(simple)).toBeGreaterThan(8)
    const [valid] = (await server.knex.raw(`SELECT ST_IsValid(ST_GeomFromGeoJSON(?)) AS ok`, [JSON.stringify(simple)]))
      .rows
    expect(valid.ok).toBe(true)
    expect(turf.kinks(simple).features).toHaveLength(0)
    const a0 = turf.area(full)
    expect(Math.abs(turf.area(simple) - a0) / a0).toBeLessThan(0.02)
    expect(Math.abs(areaSqKm * 1e6 - a0) / a0).toBeLessThan(0.01)
  })
})
