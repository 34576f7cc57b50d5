import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { TILE_LAYERS, tileProperties } from '../../src/tiles/tiles.layers.js'
import { renderTile, tileStatement } from '../../src/tiles/tiles.store.js'
import { startTestServer, type TestServer } from '../helpers.js'
import { createSpatialFixture, type Position, type SpatialFixture, square, submit } from './spatial-fixtures.js'

// Vector tiles at /tiles, read back by a real client: GDAL's MVT driver (ogrinfo with the tile's
// z/x/y as open options). ogrinfo must be installed (CI installs gdal-bin); without it these tests
// fail saying so. Which features a tile holds is computed here from the fixture's coordinates with
// the slippy-map formula, independently of PostGIS.

const run = promisify(execFile)
let server: TestServer
let fx: SpatialFixture
let dir: string

beforeAll(async () => {
  server = await startTestServer()
  fx = await createSpatialFixture(server, { addressesPerSide: 5 })
  dir = await mkdtemp(join(tmpdir(), 'tiles-test-'))
})

afterAll(async () => {
  await server?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Fractional XYZ tile coordinates of a lon/lat at zoom z. */
function tileXY([lon, lat]: Position, z: number): [number, number] {
  const n = 2 ** z
  const rad = (lat * Math.PI) / 180
  return [((lon + 180) / 360) * n, ((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n]
}

/** Fixture addresses a tile carries: inside it or its 64/4096 buffer. */
function addressesIn(z: number, x: number, y: number): string[] {
  const b = 64 / 4096
  return fx.addresses
    .filter((a) => {
      const [fx0, fy0] = tileXY(a.location, z)
      return fx0 >= x - b && fx0 < x + 1 + b && fy0 >= y - b && fy0 < y + 1 + b
    })
    .map((a) => a.fullText)
}

async function ogrinfo(mvt: Buffer, z: number, x: number, y: number, layer: string): Promise<string> {
  const file = join(dir, `${layer}-${z}-${x}-${y}.mvt`)
  await writeFile(file, mvt)
  try {
    // CLIP=NO: GDAL's MVT reader drops what lies in the tile's buffer by default, and the
    // expectations here count the buffer (a point 0.01 tile above the edge is in the tile).
    const { stdout } = await run('ogrinfo', [
      '-ro',
      '-al',
      '-oo',
      `Z=${z}`,
      '-oo',
      `X=${x}`,
      '-oo',
      `Y=${y}`,
      '-oo',
      'CLIP=NO',
      file,
    ])
    return stdout
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT')
      throw new Error('ogrinfo (GDAL) is not installed: apt-get install gdal-bin')
    throw e
  }
}

const fetchTile = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/tiles/${path}`, { headers })

describe('vector tiles', () => {
  it('an address tile at z16 holds exactly the fixture addresses in it, with public attributes, read by GDAL', async () => {
    const [fx0, fy0] = tileXY(fx.addresses[0].location, 16)
    const [x, y] = [Math.floor(fx0), Math.floor(fy0)]
    const expected = addressesIn(16, x, y)
    expect(expected.length).toBeGreaterThan(0)
    const res = await fetchTile(`addresses/16/${x}/${y}.mvt`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile')
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/)
    expect(res.headers.get('etag')).toMatch(/^".+"$/)
    const out = await ogrinfo(Buffer.from(await res.arrayBuffer()), 16, x, y, 'addresses')
    expect(out).toMatch(/Layer name: addresses/)
    expect(out).toMatch(/Geometry: Point/)
    const texts = [...out.matchAll(/fullText \(String\) = (.+)/g)].map((m) => m[1].trim())
    expect(texts.sort()).toEqual(expected.sort())
    expect(out).toMatch(/divisionCode \(String\) = \d{9}/)
    // Public attributes only: the projection's internal columns never leave.
    expect(out).not.toMatch(/building_id|txid|location/)
  })

  it('polygons: parcels and buildings at z15, the district boundary at z12 with its code', async () => {
    const [fx0, fy0] = tileXY(fx.addresses[0].location, 15)
    const [x, y] = [Math.floor(fx0), Math.floor(fy0)]
    const parcels = await ogrinfo(
      Buffer.from(await (await fetchTile(`parcels/15/${x}/${y}.mvt`)).arrayBuffer()),
      15,
      x,
      y,
      'parcels',
    )
    expect(parcels).toMatch(/Geometry: (Multi)?Polygon/)
    expect(parcels).toContain(`parcelCode (String) = ${fx.parcels[0].parcelCode}`)
    const buildings = await ogrinfo(
      Buffer.from(await (await fetchTile(`buildings/15/${x}/${y}.mvt`)).arrayBuffer()),
      15,
      x,
      y,
      'buildings',
    )
    expect(buildings).toContain(`name (String) = ${fx.buildings[0].name}`)
    const [dx, dy] = tileXY(fx.addresses[0].location, 12).map(Math.floor)
    const divisions = await ogrinfo(
      Buffer.from(await (await fetchTile(`admin-divisions/12/${dx}/${dy}.mvt`)).arrayBuffer()),
      12,
      dx,
      dy,
      'admin-divisions',
    )
    expect(divisions).toContain(`code (String) = ${fx.district}`)
    expect(divisions).toContain(`code (String) = ${fx.township1}`)
    // z8: one tile unit is ~38 m, the 2 km district still a polygon (at z0 it would be below one unit).
    const [wx, wy] = tileXY(fx.addresses[0].location, 8).map(Math.floor)
    const wide = await fetchTile(`admin-divisions/8/${wx}/${wy}.mvt`)
    expect(wide.status).toBe(200)
    expect(await ogrinfo(Buffer.from(await wide.arrayBuffer()), 8, wx, wy, 'admin-divisions')).toContain(
      `code (String) = ${fx.district}`,
    )
  })

  it('If-None-Match with the ETag → 304; an empty tile or one below the layer minimum zoom → 204', async () => {
    const [fx0, fy0] = tileXY(fx.addresses[0].location, 16)
    const path = `addresses/16/${Math.floor(fx0)}/${Math.floor(fy0)}.mvt`
    const etag = (await fetchTile(path)).headers.get('etag') ?? ''
    expect((await fetchTile(path, { 'If-None-Match': etag })).status).toBe(304)
    expect((await fetchTile(path, { 'If-None-Match': '"other"' })).status).toBe(200)
    // Mid-Pacific: nothing there.
    const empty = await fetchTile('addresses/16/0/32000.mvt')
    expect(empty.status).toBe(204)
    const [lx, ly] = tileXY(fx.addresses[0].location, 10).map(Math.floor)
    expect((await fetchTile(`addresses/10/${lx}/${ly}.mvt`)).status).toBe(204)
  })

  it('the front fast path (plain GET) and express (a query string, HEAD) serve the same tile and headers', async () => {
    const [fx0, fy0] = tileXY(fx.addresses[0].location, 16)
    const path = `addresses/16/${Math.floor(fx0)}/${Math.floor(fy0)}.mvt`
    const front = await fetchTile(path)
    const general = await fetchTile(`${path}?v=1`)
    expect(front.status).toBe(200)
    expect(general.status).toBe(200)
    for (const h of ['content-type', 'etag', 'cache-control', 'access-control-allow-origin', 'content-length'])
      expect(general.headers.get(h), h).toBe(front.headers.get(h))
    expect(Buffer.from(await general.arrayBuffer()).equals(Buffer.from(await front.arrayBuffer()))).toBe(true)
    const head = await fetch(`${server.url}/tiles/${path}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('etag')).toBe(front.headers.get('etag'))
    // A bad key is refused on both paths alike.
    for (const p of [path, `${path}?v=1`]) {
      const refused = await fetch(`${server.url}/tiles/${p}`, { headers: { authorization: 'Bearer nope' } })
      expect(refused.status, p).toBe(401)
      expect(((await refused.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED')
    }
    // A NUL byte in the query string still goes to express's parameter check: a coded 400.
    expect((await fetchTile(`${path}?v=%00`)).status).toBe(400)
  })

  it('the cached low-zoom tile changes as soon as a write lands (change feed invalidates the cache)', async () => {
    // The tile that holds the new parcel's centre (the district may straddle two z13 tiles).
    const [x, y] = tileXY(fx.addresses[6].location, 13).map(Math.floor)
    const path = `parcels/13/${x}/${y}.mvt`
    const first = await fetchTile(path)
    // The z13 tile may hold none of the fixture's parcels yet (204, no body) for some test seeds.
    const before =
      first.status === 204 ? '' : await ogrinfo(Buffer.from(await first.arrayBuffer()), 13, x, y, 'parcels')
    // A second request is served from the cache: same bytes, same tag.
    expect((await fetchTile(path)).headers.get('etag')).toBe(first.headers.get('etag'))
    const code = fx.parcels[0].parcelCode.replace(/-1$/, '-9')
    const [lon, lat] = fx.addresses[6].location
    await submit(server, 'NRP', 'PARCEL', [
      {
        sourceKey: `parcel-${code}`,
        observedAt: '2024-02-01T00:00:00Z',
        attributes: { parcelCode: code, landUse: 'RESIDENTIAL' },
        geometry: { type: 'Polygon', coordinates: [square(lon - 0.0003, lat - 0.0003, 0.0006)] },
      },
    ])
    const second = await fetchTile(path)
    expect(second.headers.get('etag')).not.toBe(first.headers.get('etag'))
    const after = await ogrinfo(Buffer.from(await second.arrayBuffer()), 13, x, y, 'parcels')
    expect(before).not.toContain(code)
    expect(after).toContain(`parcelCode (String) = ${code}`)
  })

  it('TileJSON 3.0 per layer: tile URL template, zoom range, bounds around the data, attribute fields', async () => {
    const res = await fetchTile('addresses.json')
    expect(res.status).toBe(200)
    const tj: any = await res.json()
    expect(tj.tilejson).toBe('3.0.0')
    expect(tj.tiles).toEqual([`${server.url}/tiles/addresses/{z}/{x}/{y}.mvt`])
    expect(tj.minzoom).toBe(15)
    expect(tj.maxzoom).toBe(22)
    const [x0, y0, x1, y1] = tj.bounds
    for (const a of fx.addresses) {
      expect(a.location[0]).toBeGreaterThanOrEqual(x0)
      expect(a.location[0]).toBeLessThanOrEqual(x1)
      expect(a.location[1]).toBeGreaterThanOrEqual(y0)
      expect(a.location[1]).toBeLessThanOrEqual(y1)
    }
    expect(tj.vector_layers).toEqual([
      expect.objectContaining({
        id: 'addresses',
        fields: expect.objectContaining({ fullText: 'String', divisionCode: 'String' }),
      }),
    ])
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
  })

  it('bad tile requests → 400 JSON naming the field: z > 22, outside the grid, not a number, unknown layer, injection', async () => {
    const cases: [string, string, string][] = [
      ['addresses/23/0/0.mvt', 'z', 'OUT_OF_RANGE'],
      ['addresses/3/8/0.mvt', 'x', 'OUT_OF_RANGE'],
      ['addresses/3/0/8.mvt', 'y', 'OUT_OF_RANGE'],
      ['addresses/-1/0/0.mvt', 'z', 'INVALID_VALUE'],
      ['addresses/a/0/0.mvt', 'z', 'INVALID_VALUE'],
      ['addresses/3/0/0.png', 'y', 'INVALID_VALUE'],
      ['persons/3/0/0.mvt', 'layer', 'UNKNOWN_LAYER'],
      [`${encodeURIComponent("addresses'; DROP TABLE addresses; --")}/3/0/0.mvt`, 'layer', 'UNKNOWN_LAYER'],
      [`addresses/${encodeURIComponent('1 OR 1=1')}/0/0.mvt`, 'z', 'INVALID_VALUE'],
      ['persons.json', 'layer', 'UNKNOWN_LAYER'],
      ['addresses/3/0', 'path', 'INVALID_VALUE'],
    ]
    for (const [path, field, reason] of cases) {
      const res = await fetchTile(path)
      expect(res.status, path).toBe(400)
      const body: any = await res.json()
      expect(body.error, path).toEqual(expect.objectContaining({ code: 'BAD_USER_INPUT', field, reason }))
      expect(body.error.message).toEqual(expect.any(String))
    }
    const count = await server.knex.raw('SELECT count(*)::int AS n FROM addresses')
    expect(count.rows[0].n).toBeGreaterThanOrEqual(fx.addresses.length)
  })

  it('one statement text per layer, every tile value a binding; prepared on real PostgreSQL, same tile either way', async () => {
    const layer = TILE_LAYERS.find((l) => l.id === 'addresses')!
    const [x, y] = tileXY(fx.addresses[0].location, 16).map(Math.floor)
    const a = tileStatement(server.knex, layer, tileProperties(layer), 16, x, y).toSQL()
    const b = tileStatement(server.knex, layer, tileProperties(layer), 17, 2 * x + 1, 2 * y).toSQL()
    expect(b.sql).toBe(a.sql)
    expect(a.sql).not.toContain(String(x))
    expect(a.bindings).toEqual(expect.arrayContaining([16, x, y]))
    expect(b.bindings).toEqual(expect.arrayContaining([17, 2 * x + 1, 2 * y]))
    // Named (prepared once per connection) where the knex prepares statements: real PostgreSQL.
    expect((a.options as { name?: string }).name !== undefined).toBe(!inject('embedded'))
    const served = Buffer.from(await (await fetchTile(`addresses/16/${x}/${y}.mvt`)).arrayBuffer())
    for (let i = 0; i < 7; i++) {
      // Past PostgreSQL's fifth execution a prepared statement may switch to its generic plan.
      const again = await renderTile(server.knex, layer, tileProperties(layer), 16, x, y, !inject('embedded'))
      expect(Buffer.compare(again.mvt, served)).toBe(0)
      expect(again.features).toBeGreaterThan(0)
    }
  })

  it.skipIf(inject('embedded'))(
    'the JavaScript encoder (used where PostGIS has no ST_AsMVT, e.g. embedded) draws the same tiles as ST_AsMVT (real PostgreSQL only)',
    async () => {
      const summary = (out: string) => ({
        extent: out.match(/^Extent: .+$/m)?.[0],
        count: out.match(/^Feature Count: \d+$/m)?.[0],
        values: [...out.matchAll(/^ {2}(\w+) \((String|Integer|Real|Integer64)\) = (.+)$/gm)]
          .map((m) => `${m[1]}=${m[3]}`)
          .sort(),
      })
      for (const z of [12, 15, 16]) {
        const [x, y] = tileXY(fx.addresses[0].location, z).map(Math.floor)
        for (const layer of TILE_LAYERS) {
          const native = await renderTile(server.knex, layer, tileProperties(layer), z, x, y, true)
          const js = await renderTile(server.knex, layer, tileProperties(layer), z, x, y, false)
          expect(js.features, `${layer.id} ${z}`).toBe(native.features)
          if (!native.features) continue
          const a = await ogrinfo(native.mvt, z, x, y, `n-${layer.id}`)
          const b = await ogrinfo(js.mvt, z, x, y, `j-${layer.id}`)
          expect(summary(b), `${layer.id} ${z}`).toEqual(summary(a))
        }
      }
    },
  )
})
