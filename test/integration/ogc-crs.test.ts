import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers.js'
import { createSpatialFixture, type Position, type SpatialFixture } from './spatial-fixtures.js'

// OGC API – Features Part 2 (CRS) and the GIS-friendly defaults: crs / bbox-crs in CRS84,
// EPSG:4490 (CGCS2000, latitude first), EPSG:4326 and EPSG:3857, Content-Crs, storageCrs, a page of
// 1,000 by default, and divisions and parcels addressed by their codes. Web Mercator coordinates
// are checked against the spherical formula computed here, not by PostGIS.

const run = promisify(execFile)
let server: TestServer
let fx: SpatialFixture
let ogc: string
const URI = {
  crs84: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84',
  cgcs2000: 'http://www.opengis.net/def/crs/EPSG/0/4490',
  wgs84: 'http://www.opengis.net/def/crs/EPSG/0/4326',
  mercator: 'http://www.opengis.net/def/crs/EPSG/0/3857',
}

beforeAll(async () => {
  server = await startTestServer()
  fx = await createSpatialFixture(server, { addressesPerSide: 5 })
  ogc = `${server.url}/ogc`
})

afterAll(async () => {
  await server?.close()
})

async function get(path: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${ogc}${path}`)
  return { status: res.status, headers: res.headers, body: await res.json() }
}

const R = 6378137
const mercator = ([lon, lat]: Position): Position => [
  (R * lon * Math.PI) / 180,
  R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360)),
]
const byText = (features: any[]) =>
  new Map<string, number[]>(features.map((f) => [f.properties.fullText, f.geometry.coordinates]))
const district = () => {
  const [x0, y0] = fx.districtRing[0]
  const [x1, y1] = fx.districtRing[2]
  return { x0, y0, x1, y1 }
}
const q = (params: Record<string, string>) => new URLSearchParams(params).toString()

describe('OGC API – Features Part 2: CRS', () => {
  it('collections list the CRSs and the storage CRS; conformance lists Part 2', async () => {
    const c = await get('/collections/addresses')
    expect(c.body.crs).toEqual(expect.arrayContaining(Object.values(URI)))
    expect(c.body.storageCrs).toBe(URI.crs84)
    expect((await get('/conformance')).body.conformsTo).toContain(
      'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs',
    )
    const api = (await get('/api')).body
    expect(api.components.parameters.crs.schema.enum).toEqual(expect.arrayContaining(Object.values(URI)))
    expect(api.components.parameters.limit.schema.default).toBe(1000)
  })

  it('crs=EPSG:3857 answers Web Mercator metres; EPSG:4490 and EPSG:4326 answer latitude first; Content-Crs says which', async () => {
    const { x0, y0, x1, y1 } = district()
    const bbox = [x0, y0, x1, y1].join(',')
    const plain = await get(`/collections/addresses/items?${q({ bbox })}`)
    expect(plain.headers.get('content-crs')).toBe(`<${URI.crs84}>`)
    const merc = await get(`/collections/addresses/items?${q({ bbox, crs: URI.mercator })}`)
    expect(merc.headers.get('content-crs')).toBe(`<${URI.mercator}>`)
    const got = byText(merc.body.features)
    expect(got.size).toBe(fx.addresses.length)
    for (const a of fx.addresses) {
      const [ex, ey] = mercator(a.location)
      const [gx, gy] = got.get(a.fullText) ?? []
      expect(Math.abs(gx - ex)).toBeLessThan(0.05)
      expect(Math.abs(gy - ey)).toBeLessThan(0.05)
    }
    for (const [uri, short] of [
      [URI.cgcs2000, 'EPSG:4490'],
      [URI.wgs84, 'EPSG:4326'],
    ]) {
      for (const crs of [uri, short]) {
        const res = await get(`/collections/addresses/items?${q({ bbox, crs })}`)
        expect(res.headers.get('content-crs')).toBe(`<${uri}>`)
        const ll = byText(res.body.features)
        for (const a of fx.addresses) {
          const [lat, lon] = ll.get(a.fullText) ?? []
          expect(lat).toBeCloseTo(a.location[1], 6)
          expect(lon).toBeCloseTo(a.location[0], 6)
        }
      }
    }
  })

  it('bbox-crs: the same district in CGCS2000 (latitude first) and Web Mercator selects the same addresses; next links keep the CRSs', async () => {
    const { x0, y0, x1, y1 } = district()
    const expected = fx.addresses.map((a) => a.fullText).sort()
    const cg = await get(
      `/collections/addresses/items?${q({ bbox: [y0, x0, y1, x1].join(','), 'bbox-crs': URI.cgcs2000 })}`,
    )
    expect(cg.body.features.map((f: any) => f.properties.fullText).sort()).toEqual(expected)
    const [mx0, my0] = mercator([x0, y0])
    const [mx1, my1] = mercator([x1, y1])
    const m = await get(
      `/collections/addresses/items?${q({ bbox: [mx0, my0, mx1, my1].join(','), 'bbox-crs': URI.mercator, crs: URI.mercator, limit: '7' })}`,
    )
    expect(m.body.numberMatched).toBe(fx.addresses.length)
    const next = new URL(m.body.links.find((l: any) => l.rel === 'next').href)
    expect(next.searchParams.get('bbox-crs')).toBe(URI.mercator)
    expect(next.searchParams.get('crs')).toBe(URI.mercator)
    // A CGCS2000 bbox written lon-first (the usual mistake) is outside the latitude range → 400.
    const wrong = await get(
      `/collections/addresses/items?${q({ bbox: [x0, y0, x1, y1].join(','), 'bbox-crs': URI.cgcs2000 })}`,
    )
    expect(wrong.status).toBe(400)
  })

  it('an unsupported or malformed CRS → 400 naming it; nothing reaches SQL', async () => {
    for (const [param, value] of [
      ['crs', 'http://www.opengis.net/def/crs/EPSG/0/2000'],
      ['crs', 'EPSG:4490; DROP TABLE addresses'],
      ['bbox-crs', 'EPSG:999999'],
      ['crs', "4490' OR '1'='1"],
    ]) {
      const res = await get(`/collections/addresses/items?${q({ [param]: value, bbox: '0,0,1,1' })}`)
      expect(res.status, value).toBe(400)
      expect(res.body.code).toBe('InvalidParameterValue')
      expect(res.body.description).toContain(param)
      expect(res.body.description).toContain(value)
    }
    const merc = await get(`/collections/addresses/items?${q({ bbox: '0,0,30000000,1', 'bbox-crs': URI.mercator })}`)
    expect(merc.status).toBe(400)
    const one = await get(`/collections/parcels/items/${fx.parcels[0].parcelCode}?crs=EPSG:2000`)
    expect(one.status).toBe(400)
  })

  it('GDAL reads a Web Mercator page (GeoJSON driver) with the projected coordinates', async () => {
    const { x0, y0, x1, y1 } = district()
    const url = `${ogc}/collections/addresses/items?${q({ bbox: [x0, y0, x1, y1].join(','), crs: 'EPSG:3857' })}`
    let out: string
    try {
      out = (await run('ogrinfo', ['-ro', '-al', url], { timeout: 60_000 })).stdout
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('ogrinfo not found: apt-get install gdal-bin')
      throw e
    }
    const points = [...out.matchAll(/POINT \(([-\d.]+) ([-\d.]+)\)/g)].map((m) => [Number(m[1]), Number(m[2])])
    expect(points).toHaveLength(fx.addresses.length)
    const [ex, ey] = mercator(fx.addresses[0].location)
    expect(points.some(([x, y]) => Math.abs(x - ex) < 0.05 && Math.abs(y - ey) < 0.05)).toBe(true)
  })
})

describe('GIS-friendly defaults', () => {
  it('a page is 1,000 features unless limit says otherwise (the maximum stays 10,000)', async () => {
    const { x0, y0, x1, y1 } = district()
    const res = await get(`/collections/addresses/items?bbox=${[x0, y0, x1, y1].join(',')}`)
    expect(res.body.numberReturned).toBe(fx.addresses.length)
    const self = new URL(res.body.links.find((l: any) => l.rel === 'self').href)
    expect(self.searchParams.get('limit')).toBe('1000')
    const big = await get(`/collections/addresses/items?bbox=${[x0, y0, x1, y1].join(',')}&limit=50000`)
    expect(new URL(big.body.links.find((l: any) => l.rel === 'self').href).searchParams.get('limit')).toBe('10000')
  })

  it('divisions and parcels are also addressed by their codes: /items/{division code}, /items/{parcel code}', async () => {
    const d = await get(`/collections/admin-divisions/items/${fx.district}`)
    expect(d.status).toBe(200)
    expect(d.body.properties.code).toBe(fx.district)
    expect(d.body.geometry.type).toBe('MultiPolygon')
    const byId = await get(`/collections/admin-divisions/items/${d.body.id}`)
    expect(byId.body.properties.code).toBe(fx.district)
    const p = await get(`/collections/parcels/items/${encodeURIComponent(fx.parcels[1].parcelCode)}?crs=EPSG:3857`)
    expect(p.status).toBe(200)
    expect(p.body.properties.parcelCode).toBe(fx.parcels[1].parcelCode)
    expect(p.headers.get('content-crs')).toBe(`<${URI.mercator}>`)
    expect(Math.abs(p.body.geometry.coordinates[0][0][0])).toBeGreaterThan(1e6)
    for (const path of [
      '/collections/admin-divisions/items/999999',
      `/collections/admin-divisions/items/${encodeURIComponent("330106' OR '1'='1")}`,
      `/collections/addresses/items/${encodeURIComponent(fx.addresses[0].fullText)}`,
    ]) {
      const res = await get(path)
      expect(res.status, path).toBe(404)
      expect(res.body.code).toBe('NotFound')
    }
  })

  it('a browser gets HTML pages (landing with QGIS/MapLibre how-to, collections, items with an SVG map, one item); f=json and GDAL get JSON', async () => {
    const browser = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }
    const page = async (path: string, headers: Record<string, string> = browser) => {
      const res = await fetch(`${ogc}${path}`, { headers })
      return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() }
    }
    const landing = await page('/')
    expect(landing.type).toMatch(/^text\/html/)
    expect(landing.text).toContain('/tiles/addresses.json')
    expect(landing.text).toContain('QGIS')
    expect(landing.text).toContain('MapLibre')
    expect(landing.text).not.toMatch(/<script/i)
    expect((await page('/collections')).text).toContain('/collections/parcels/items')
    expect((await page('/collections/addresses')).text).toContain(URI.cgcs2000)
    const { x0, y0, x1, y1 } = district()
    const items = await page(`/collections/addresses/items?bbox=${[x0, y0, x1, y1].join(',')}&limit=7`)
    expect(items.type).toMatch(/^text\/html/)
    expect(items.text).toContain('<svg')
    expect(items.text.match(/<circle /g)).toHaveLength(7)
    expect(items.text).toMatch(/<a href="[^"]*offset=7[^"]*">Next page/)
    const one = await page(`/collections/admin-divisions/items/${fx.district}`)
    expect(one.text).toContain('<path')
    expect(one.text).toContain(fx.district)
    const asJson = await page(`/collections/addresses/items?bbox=${[x0, y0, x1, y1].join(',')}&f=json`)
    expect(asJson.type).toMatch(/^application\/geo\+json/)
    expect(JSON.parse(asJson.text).numberReturned).toBe(fx.addresses.length)
    expect((await page('/?f=html', { Accept: 'application/json' })).type).toMatch(/^text\/html/)
    expect((await page('/', { Accept: 'application/json' })).type).toMatch(/^application\/json/)
    const bad = await page('/collections?f=xml')
    expect(bad.status).toBe(400)
    expect(JSON.parse(bad.text).code).toBe('InvalidParameterValue')
  })
})
