import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers.js'
import { createSpatialFixture, type SpatialFixture } from './spatial-fixtures.js'

// OGC API – Features Part 3: CQL2 filters over HTTP and through GDAL. Expected answers are
// computed here from the fixture (texts, coordinates), never by the same SQL.

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

async function items(collection: string, params: Record<string, string>) {
  const res = await fetch(`${ogc}/collections/${collection}/items?${new URLSearchParams(params)}`)
  return { status: res.status, body: (await res.json()) as any }
}
const texts = (body: any): string[] => body.features.map((f: any) => f.properties.fullText).sort()
const inDistrict = () => {
  const [x0, y0] = fx.districtRing[0]
  const [x1, y1] = fx.districtRing[2]
  return { x0, y0, x1, y1 }
}

describe('CQL2 filters', () => {
  it('comparison, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT select exactly the expected addresses', async () => {
    const { x0, y0, x1, y1 } = inDistrict()
    const within = `S_INTERSECTS(geometry, BBOX(${x0}, ${y0}, ${x1}, ${y1}))`
    const all = fx.addresses
    const cases: [string, string[]][] = [
      [
        `${within} AND divisionCode = '${fx.township1}'`,
        all.filter((a) => a.divisionCode === fx.township1).map((a) => a.fullText),
      ],
      [
        `${within} AND divisionCode <> '${fx.township1}'`,
        all.filter((a) => a.divisionCode !== fx.township1).map((a) => a.fullText),
      ],
      [
        `${within} AND fullText LIKE '%${fx.road}1_号'`,
        all.filter((_, i) => i + 1 >= 10 && i + 1 <= 19).map((a) => a.fullText),
      ],
      [`${within} AND doorNumber IN ('1号', '3号', '99号')`, [all[0].fullText, all[2].fullText]],
      [
        `${within} AND NOT doorNumber IN ('1号', '3号')`,
        all
          .slice(1)
          .filter((_, i) => i !== 1)
          .map((a) => a.fullText),
      ],
      [`${within} AND unit IS NULL`, all.map((a) => a.fullText)],
      [`${within} AND unit IS NOT NULL`, []],
      [`${within} AND (doorNumber = '1号' OR doorNumber = '2号')`, [all[0].fullText, all[1].fullText]],
    ]
    for (const [filter, expected] of cases) {
      const res = await items('addresses', { filter })
      expect(res.status, filter).toBe(200)
      expect(texts(res.body), filter).toEqual(expected.sort())
      expect(res.body.numberMatched, filter).toBe(expected.length)
    }
    const floors = await items('buildings', { filter: `${within} AND floors BETWEEN 10 AND 20` })
    expect(floors.body.features.map((f: any) => f.properties.name)).toEqual([fx.buildings[0].name])
    const low = await items('buildings', { filter: `${within} AND floors < 5` })
    expect(low.body.features.map((f: any) => f.properties.name)).toEqual([fx.buildings[1].name])
  })

  it('spatial: S_WITHIN the township, S_INTERSECTS a point, S_DWITHIN metres, and filter-crs in CGCS2000 (latitude first)', async () => {
    const ring = fx.township1Ring.map(([x, y]) => `${x} ${y}`).join(', ')
    // Strictly inside the township square (a point on its edge is not within it).
    const [[x0, y0], , [x1, y1]] = fx.township1Ring
    const t1 = fx.addresses
      .filter(({ location: [x, y] }) => x > x0 && x < x1 && y > y0 && y < y1)
      .map((a) => a.fullText)
    expect(t1.length).toBeGreaterThan(0)
    const w = await items('addresses', { filter: `S_WITHIN(geometry, POLYGON((${ring})))` })
    expect(texts(w.body)).toEqual(t1.sort())
    const latFirst = fx.township1Ring.map(([x, y]) => `${y} ${x}`).join(', ')
    const cg = await items('addresses', {
      filter: `S_WITHIN(geometry, POLYGON((${latFirst})))`,
      'filter-crs': 'http://www.opengis.net/def/crs/EPSG/0/4490',
    })
    expect(texts(cg.body)).toEqual(t1.sort())
    const [lon, lat] = fx.addresses[0].location
    const p = await items('parcels', { filter: `S_INTERSECTS(geometry, POINT(${lon} ${lat}))` })
    expect(p.body.features.map((f: any) => f.properties.parcelCode)).toEqual([fx.parcels[0].parcelCode])
    // Grid spacing is 0.02/5 degrees (~385 m east-west, ~445 m north-south at 30°N): 300 m holds only the point itself.
    const near = await items('addresses', { filter: `S_DWITHIN(geometry, POINT(${lon} ${lat}), 300)` })
    expect(texts(near.body)).toEqual([fx.addresses[0].fullText])
    const wider = await items('addresses', { filter: `S_DWITHIN(geometry, POINT(${lon} ${lat}), 500)` })
    expect(texts(wider.body)).toEqual(
      [fx.addresses[0].fullText, fx.addresses[1].fullText, fx.addresses[5].fullText].sort(),
    )
  })

  it('CQL2 JSON gives the same answer as the text; next links keep the filter', async () => {
    const { x0, y0, x1, y1 } = inDistrict()
    const json = JSON.stringify({
      op: 'and',
      args: [
        { op: 's_intersects', args: [{ property: 'geometry' }, { bbox: [x0, y0, x1, y1] }] },
        { op: '=', args: [{ property: 'divisionCode' }, fx.township2] },
      ],
    })
    const a = await items('addresses', { filter: json, 'filter-lang': 'cql2-json', limit: '4' })
    const b = await items('addresses', {
      filter: `S_INTERSECTS(geometry, BBOX(${x0},${y0},${x1},${y1})) AND divisionCode = '${fx.township2}'`,
      limit: '4',
    })
    expect(a.body.numberMatched).toBe(fx.addresses.filter((x) => x.divisionCode === fx.township2).length)
    expect(texts(a.body)).toEqual(texts(b.body))
    const next = new URL(a.body.links.find((l: any) => l.rel === 'next').href)
    expect(next.searchParams.get('filter')).toBe(json)
    expect(next.searchParams.get('filter-lang')).toBe('cql2-json')
  })

  it('queryables are JSON Schema of the visible properties and the geometry; conformance lists Part 3 and CQL2', async () => {
    const res = await fetch(`${ogc}/collections/addresses/queryables`)
    expect(res.headers.get('content-type')).toMatch(/^application\/schema\+json/)
    const q: any = await res.json()
    expect(q.$schema).toMatch(/json-schema\.org/)
    expect(Object.keys(q.properties).sort()).toEqual(
      ['geometry', 'fullText', 'divisionCode', 'road', 'doorNumber', 'buildingName', 'unit', 'room'].sort(),
    )
    expect(q.properties.geometry.format).toBe('geometry-point')
    const conf: any = await (await fetch(`${ogc}/conformance`)).json()
    expect(conf.conformsTo).toEqual(
      expect.arrayContaining([
        'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter',
        'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter',
        'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
        'http://www.opengis.net/spec/cql2/1.0/conf/cql2-json',
      ]),
    )
  })

  it('bad filters → 400 naming the position or the property; injection strings stay values and never reach SQL', async () => {
    const bad: [string, RegExp][] = [
      ["fullText = 'abc", /position 12/],
      ['fullText == 1', /position 11/],
      ['idNumber = 1', /"idNumber" is not a queryable/],
      ['building_id IS NULL', /"building_id" is not a queryable/],
      ["fullText = 'a'; DROP TABLE addresses; --", /position 15/],
      ['fullText = 5', /cannot compare a string with a number/],
      ['S_WITHIN(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))', /not valid: Self-intersection/],
      ['S_WITHIN(geometry, POLYGON((0 0, 1 1, 0 0)))', /not valid/],
      ['S_DWITHIN(geometry, POINT(1 2), -5)', /distance/],
      ['S_INTERSECTS(fullText, POINT(1 2))', /needs geometries/],
    ]
    for (const [filter, message] of bad) {
      const res = await items('addresses', { filter })
      expect(res.status, filter).toBe(400)
      expect(res.body.code).toBe('InvalidParameterValue')
      expect(res.body.description, filter).toMatch(message)
    }
    for (const [params, message] of [
      [
        { filter: '{"op":"=","args":[{"property":"x"},1]}', 'filter-lang': 'cql2-json' },
        /"x" is not a queryable.*\$\.args\[0\]/,
      ],
      [{ filter: 'a = 1', 'filter-lang': 'ecql' }, /filter-lang "ecql"/],
      [{ filter: 'unit IS NULL', 'filter-crs': 'EPSG:2000' }, /filter-crs "EPSG:2000"/],
    ] as [Record<string, string>, RegExp][]) {
      const res = await items('addresses', params)
      expect(res.status).toBe(400)
      expect(res.body.description).toMatch(message)
    }
    // Injection attempts inside literals are just values: they match nothing and the table is intact.
    for (const filter of [
      "fullText = ''' OR 1=1 --'",
      "fullText LIKE '%'' OR ''1''=''1'",
      `"fullText"" OR 1=1 --" = 'x'`,
      "divisionCode IN ('x''); DELETE FROM addresses; --')",
    ]) {
      const res = await items('addresses', { filter })
      expect([200, 400], filter).toContain(res.status)
      if (res.status === 200) expect(res.body.numberMatched, filter).toBe(0)
    }
    const count = await server.knex.raw('SELECT count(*)::int AS n FROM addresses WHERE full_text = ?', [
      fx.addresses[0].fullText,
    ])
    expect(count.rows[0].n).toBe(1)
  })
})

describe('read by GDAL with a filter and a CRS', () => {
  it('ogr2ogr: the OAPIF driver sends -where to the server as a CQL filter; the answer reprojected to CGCS2000', async () => {
    const out = `/tmp/ogc-filter-${process.pid}-${Date.now()}.geojson`
    let debug: string
    try {
      const r = await run(
        'ogr2ogr',
        [
          '--debug',
          'on',
          '-f',
          'GeoJSON',
          out,
          `OAPIF:${ogc}`,
          'addresses',
          '-where',
          `divisionCode = '${fx.township1}'`,
          '-t_srs',
          'EPSG:4490',
        ],
        { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      )
      debug = r.stderr
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('ogr2ogr not found: apt-get install gdal-bin')
      throw e
    }
    // The filter went to the server (GDAL logs each URL it fetches), not evaluated by GDAL on every feature.
    const fetched = [...debug.matchAll(/Fetch\((\S+)\)/g)].map((m) => decodeURIComponent(m[1]))
    expect(
      fetched.some(
        (u) => u.includes('/collections/addresses/items') && u.includes(`filter=`) && u.includes(fx.township1),
      ),
    ).toBe(true)
    expect(debug).not.toMatch(/Full filter will be evaluated on client side/)
    const { readFile, rm } = await import('node:fs/promises')
    const doc = JSON.parse(await readFile(out, 'utf8'))
    await rm(out, { force: true })
    expect(doc.features.map((f: any) => f.properties.fullText).sort()).toEqual(
      fx.addresses
        .filter((a) => a.divisionCode === fx.township1)
        .map((a) => a.fullText)
        .sort(),
    )
  })
})
