import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers.js'
import { describeWithGdal } from '../support/gdal.js'
import { createSpatialFixture, type SpatialFixture } from './spatial-fixtures.js'

// OGC API – Features at /ogc, checked over HTTP and by a real client: GDAL's OAPIF driver
// (ogrinfo), as a GIS user would open it. Without GDAL those tests are skipped with the reason in
// their title; CI (which installs gdal-bin) requires them: see test/support/gdal.ts.

const run = promisify(execFile)
let server: TestServer
let fx: SpatialFixture
let ogc: string

beforeAll(async () => {
  server = await startTestServer()
  fx = await createSpatialFixture(server, { addressesPerSide: 5 })
  ogc = `${server.url}/ogc`
})

afterAll(async () => {
  await server?.close()
})

async function get(path: string): Promise<{ status: number; type: string; body: any }> {
  const res = await fetch(`${ogc}${path}`)
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.json() }
}

const districtBbox = () => {
  const [x0, y0] = fx.districtRing[0]
  const [x1, y1] = fx.districtRing[2]
  return [x0, y0, x1, y1]
}

describe('OGC API – Features over HTTP', () => {
  it('landing page links self, service-desc, conformance and data; conformance lists core, geojson and oas30', async () => {
    const landing = await get('/')
    expect(landing.status).toBe(200)
    expect(landing.type).toMatch(/^application\/json/)
    const rels = Object.fromEntries(
      landing.body.links.map((l: { rel: string; href: string; type: string }) => [l.rel, l]),
    )
    expect(Object.keys(rels).sort()).toEqual(['conformance', 'data', 'self', 'service-desc'])
    expect(rels['service-desc'].type).toBe('application/openapi+json;version=3.0')
    const conf = await get('/conformance')
    expect(conf.body.conformsTo).toEqual(
      expect.arrayContaining([
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
        'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
      ]),
    )
    const api = await fetch(new URL(rels['service-desc'].href))
    expect(api.headers.get('content-type')).toMatch(/^application\/openapi\+json;\s*version=3\.0/)
    const doc: any = await api.json()
    expect(doc.openapi).toMatch(/^3\.0\./)
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/collections/addresses/items', '/collections/parcels/items/{featureId}']),
    )
  })

  it('collections with spatial extents computed from the data', async () => {
    const res = await get('/collections')
    expect(res.body.collections.map((c: { id: string }) => c.id)).toEqual([
      'admin-divisions',
      'addresses',
      'buildings',
      'parcels',
    ])
    const addresses = res.body.collections.find((c: { id: string }) => c.id === 'addresses')
    const [x0, y0, x1, y1] = addresses.extent.spatial.bbox[0]
    for (const a of fx.addresses) {
      expect(a.location[0]).toBeGreaterThanOrEqual(x0)
      expect(a.location[0]).toBeLessThanOrEqual(x1)
      expect(a.location[1]).toBeGreaterThanOrEqual(y0)
      expect(a.location[1]).toBeLessThanOrEqual(y1)
    }
    const one = await get('/collections/parcels')
    expect(one.body.id).toBe('parcels')
    expect(one.body.links.find((l: { rel: string }) => l.rel === 'items').type).toBe('application/geo+json')
  })

  it('items: bbox, limit, offset, numberMatched/numberReturned and a next link that walks every feature', async () => {
    const bbox = districtBbox().join(',')
    let url: string | null = `${ogc}/collections/addresses/items?bbox=${bbox}&limit=7`
    const seen: string[] = []
    let pages = 0
    while (url) {
      const res = await fetch(url)
      expect(res.headers.get('content-type')).toMatch(/^application\/geo\+json/)
      const body: any = await res.json()
      expect(body.type).toBe('FeatureCollection')
      expect(body.numberMatched).toBe(fx.addresses.length)
      expect(body.numberReturned).toBe(body.features.length)
      seen.push(...body.features.map((f: { properties: { fullText: string } }) => f.properties.fullText))
      url = body.links.find((l: { rel: string }) => l.rel === 'next')?.href ?? null
      pages++
    }
    expect(pages).toBe(Math.ceil(fx.addresses.length / 7))
    expect(seen.sort()).toEqual(fx.addresses.map((a) => a.fullText).sort())
  })

  it('one item by id; its geometry is GeoJSON', async () => {
    const list = await get(`/collections/buildings/items?bbox=${districtBbox().join(',')}`)
    expect(list.body.features).toHaveLength(fx.buildings.length)
    const f = list.body.features[0]
    const one = await get(`/collections/buildings/items/${f.id}`)
    expect(one.status).toBe(200)
    expect(one.type).toMatch(/^application\/geo\+json/)
    expect(one.body.type).toBe('Feature')
    expect(one.body.geometry.type).toBe('Polygon')
    expect(one.body.properties.name).toBe(f.properties.name)
  })

  it('bad bbox or limit → 400 with {code, description}; unknown collection or item → 404', async () => {
    for (const q of [
      'bbox=1,2,3',
      'bbox=120.2,30,120.1,30.1',
      'bbox=a,b,c,d',
      'bbox=-200,30,120,31',
      'limit=0',
      'limit=-3',
      'limit=abc',
      'offset=-1',
    ]) {
      const res = await get(`/collections/addresses/items?${q}`)
      expect(res.status, q).toBe(400)
      expect(res.body.code).toBe('InvalidParameterValue')
      expect(typeof res.body.description).toBe('string')
    }
    expect((await get('/collections/nope')).status).toBe(404)
    expect((await get('/collections/nope/items')).status).toBe(404)
    expect((await get('/collections/addresses/items/00000000-0000-4000-8000-000000000000')).status).toBe(404)
    const notUuid = await get('/collections/addresses/items/not-an-id')
    expect(notUuid.status).toBe(404)
    expect(notUuid.body.code).toBe('NotFound')
  })
})

describeWithGdal('read by GDAL (ogrinfo, OAPIF driver)', () => {
  async function ogrinfo(...args: string[]): Promise<string> {
    const { stdout } = await run('ogrinfo', args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 })
    return stdout
  }

  it('lists the four collections as layers', async () => {
    const out = await ogrinfo('-ro', '-so', `OAPIF:${ogc}`)
    for (const layer of ['admin-divisions', 'addresses', 'buildings', 'parcels'])
      expect(out).toMatch(new RegExp(`^\\d+: ${layer}\\b`, 'm'))
  })

  it('reads the addresses of the district with their attributes', async () => {
    const [x0, y0, x1, y1] = districtBbox()
    const out = await ogrinfo(
      '-ro',
      '-spat',
      String(x0),
      String(y0),
      String(x1),
      String(y1),
      '-oo',
      'PAGE_SIZE=7',
      `OAPIF:${ogc}`,
      'addresses',
    )
    const texts = [...out.matchAll(/^\s*fullText \(String\) = (.*)$/gm)].map((m) => m[1].trim())
    expect(texts.sort()).toEqual(fx.addresses.map((a) => a.fullText).sort())
    const divisions = [...out.matchAll(/^\s*divisionCode \(String\) = (.*)$/gm)].map((m) => m[1].trim())
    expect(new Set(divisions)).toEqual(new Set([fx.township1, fx.township2]))
    expect((out.match(/POINT \(/g) ?? []).length).toBe(fx.addresses.length)
  })

  it('reads parcels with their numeric area', async () => {
    const [x0, y0, x1, y1] = districtBbox()
    const out = await ogrinfo('-ro', '-spat', String(x0), String(y0), String(x1), String(y1), `OAPIF:${ogc}`, 'parcels')
    const codes = [...out.matchAll(/^\s*parcelCode \(String\) = (.*)$/gm)].map((m) => m[1].trim())
    expect(codes.sort()).toEqual(fx.parcels.map((p) => p.parcelCode).sort())
    const areas = [...out.matchAll(/^\s*areaSqM \(Real\) = (.*)$/gm)].map((m) => Number(m[1]))
    expect(areas).toHaveLength(fx.parcels.length)
    for (const a of areas) expect(a).toBeGreaterThan(1000)
  })
})
