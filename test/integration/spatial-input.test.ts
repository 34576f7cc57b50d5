import 'reflect-metadata'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NEAREST_SQL, spatialQuery } from '../../src/spatial/spatial.store.js'
import { startTestServer, type TestServer } from '../helpers.js'
import { createSpatialFixture, square, type SpatialFixture } from './spatial-fixtures.js'

// Bad spatial input is the caller's error, coded (BAD_USER_INPUT + reason + field), never a 500;
// submitted geometry is rejected per record (INVALID_GEOMETRY). Also: the tolerant address search
// and the indexes the spatial filters rely on.

let server: TestServer
let fx: SpatialFixture

beforeAll(async () => {
  server = await startTestServer()
  fx = await createSpatialFixture(server, { addressesPerSide: 4 })
})

afterAll(async () => {
  await server?.close()
})

const ring = (r: number[][]) => ({ type: 'Polygon', coordinates: [r] })
const OK_RING = square(120.1, 30.25, 0.01)
const OPEN_RING = OK_RING.slice(0, 4)
const huge = {
  type: 'Polygon',
  coordinates: [Array.from({ length: 100_001 }, (_, i) => [120 + (i % 2) * 0.001, 30])],
}

describe('bad spatial input → BAD_USER_INPUT, reason INVALID_GEOMETRY, the field named', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    [
      'longitude > 180 in divisionsAt',
      'query($lon: Float!, $lat: Float!) { divisionsAt(lon: $lon, lat: $lat) { code } }',
      { lon: 181, lat: 30 },
      'lon',
    ],
    [
      'latitude < -90 in divisionsAt',
      'query($lon: Float!, $lat: Float!) { divisionsAt(lon: $lon, lat: $lat) { code } }',
      { lon: 120, lat: -91 },
      'lat',
    ],
    [
      'longitude < -180 in nearestAddresses',
      'query($lon: Float!, $lat: Float!) { nearestAddresses(lon: $lon, lat: $lat) { meters } }',
      { lon: -200, lat: 30 },
      'lon',
    ],
    [
      'latitude > 90 in reverseGeocode',
      'query($lon: Float!, $lat: Float!) { reverseGeocode(lon: $lon, lat: $lat) { divisions { code } } }',
      { lon: 120, lat: 95 },
      'lat',
    ],
    ['maxMeters ≤ 0', 'query { nearestAddresses(lon: 120, lat: 30, maxMeters: 0) { meters } }', {}, 'maxMeters'],
    ['maxMeters absurd', 'query { nearestAddresses(lon: 120, lat: 30, maxMeters: 1e9) { meters } }', {}, 'maxMeters'],
    [
      'near.meters ≤ 0',
      'query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }',
      { f: { near: { lon: 120, lat: 30, meters: -5 } } },
      'filter.near',
    ],
    [
      'near.meters absurd',
      'query($f: SpatialFilter) { buildings(filter: $f) { nodes { id } } }',
      { f: { near: { lon: 120, lat: 30, meters: 5e7 } } },
      'filter.near',
    ],
    [
      'near latitude out of range',
      'query($f: SpatialFilter) { parcels(filter: $f) { nodes { id } } }',
      { f: { near: { lon: 120, lat: 100, meters: 5 } } },
      'filter.near',
    ],
    [
      'bbox min > max',
      'query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }',
      { f: { bbox: [120.2, 30, 120.1, 30.1] } },
      'filter.bbox',
    ],
    [
      'bbox of 3 numbers',
      'query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }',
      { f: { bbox: [120.2, 30, 120.1] } },
      'filter.bbox',
    ],
    [
      'bbox longitude out of range',
      'query($f: SpatialFilter) { buildings(filter: $f) { nodes { id } } }',
      { f: { bbox: [-190, 30, 120.1, 30.1] } },
      'filter.bbox',
    ],
    [
      'non-closed ring in within',
      'query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }',
      { f: { within: ring(OPEN_RING) } },
      'filter.within',
    ],
    [
      'wrong geometry type in within',
      'query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }',
      { f: { within: { type: 'Point', coordinates: [120, 30] } } },
      'filter.within',
    ],
    [
      'longitude out of range in intersects',
      'query($f: SpatialFilter) { parcels(filter: $f) { nodes { id } } }',
      { f: { intersects: { type: 'Point', coordinates: [200, 30] } } },
      'filter.intersects',
    ],
    [
      'self-intersecting polygon in within',
      'query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }',
      {
        f: {
          within: ring([
            [120, 30],
            [120.1, 30.1],
            [120.1, 30],
            [120, 30.1],
            [120, 30],
          ]),
        },
      },
      'filter.within',
    ],
    [
      'polygon with more than the vertex cap',
      'query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm } }',
      { g: huge },
      'geometry',
    ],
    [
      'wrong geometry type in areaSummary',
      'query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm } }',
      {
        g: {
          type: 'LineString',
          coordinates: [
            [120, 30],
            [120.1, 30],
          ],
        },
      },
      'geometry',
    ],
    [
      'non-closed ring in areaSummary',
      'query($g: GeoJSON!) { areaSummary(geometry: $g) { areaSqKm } }',
      { g: ring(OPEN_RING) },
      'geometry',
    ],
    [
      'residenceWithin latitude out of range',
      'query($f: PersonFilter) { persons(filter: $f) { nodes { id } } }',
      {
        f: {
          residenceWithin: ring([
            [120, 30],
            [120.1, 30],
            [120.1, 95],
            [120, 30],
          ]),
        },
      },
      'filter.residenceWithin',
    ],
    [
      'legal-entity near meters ≤ 0',
      'query($f: LegalEntityFilter) { legalEntities(filter: $f) { nodes { id } } }',
      { f: { near: { lon: 120, lat: 30, meters: 0 } } },
      'filter.near',
    ],
  ]
  for (const [name, query, variables, field] of cases) {
    it(name, async () => {
      const res = await server.gql(query, variables, { 'X-Department': 'PSB' })
      expect(res.data?.[Object.keys(res.data ?? {})[0]] ?? null).toBeNull()
      expect(res.errors).toHaveLength(1)
      expect(res.errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_GEOMETRY',
        field,
      })
    })
  }

  it('simplifyMeters ≤ 0 or absurd', async () => {
    for (const m of [0, -1, 1e9]) {
      const res = await server.gql(
        `query($code: String!, $m: Float) { adminDivision(code: $code) { geometry(simplifyMeters: $m) } }`,
        { code: fx.district, m },
      )
      expect(res.errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_GEOMETRY',
        field: 'simplifyMeters',
      })
    }
  })

  it('limits and division codes are coded too', async () => {
    const limit = await server.gql('query { nearestAddresses(lon: 120, lat: 30, limit: 101) { meters } }')
    expect(limit.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limit' })
    const code = await server.gql('query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }', {
      f: { divisionCode: '12345' },
    })
    expect(code.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_DIVISION_CODE',
      field: 'filter.divisionCode',
    })
    // An empty code is malformed too, not an absent filter (it used to return every address).
    const empty = await server.gql('query($f: SpatialFilter) { addresses(filter: $f) { nodes { id } } }', {
      f: { divisionCode: '' },
    })
    expect(empty.errors![0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_DIVISION_CODE',
      field: 'filter.divisionCode',
    })
    const cursor = await server.gql('query { addresses(after: "bm9wZQ") { nodes { id } } }')
    expect(cursor.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' })
  })
})

describe('submitted geometry is rejected per record with INVALID_GEOMETRY', () => {
  it('out-of-range coordinates, open rings, wrong types, self-intersection, outside the extent, too many vertices, PostGIS-invalid', async () => {
    const tag = fx.district
    const bad: [string, unknown][] = [
      [
        'lon200',
        {
          type: 'Polygon',
          coordinates: [
            [
              [200, 30],
              [200.1, 30],
              [200.1, 30.1],
              [200, 30],
            ],
          ],
        },
      ],
      ['open', ring(OPEN_RING)],
      ['point', { type: 'Point', coordinates: [120.1, 30.25] }],
      [
        'bowtie',
        ring([
          [120.1, 30.25],
          [120.11, 30.26],
          [120.11, 30.25],
          [120.1, 30.26],
          [120.1, 30.25],
        ]),
      ],
      ['outside', ring(square(100, 10, 0.01))],
      ['huge', huge],
      // A hole outside its shell: no ring crosses itself (turf is satisfied), PostGIS's ST_IsValid is not.
      ['hole-outside', { type: 'Polygon', coordinates: [square(120.1, 30.25, 0.001), square(120.2, 30.25, 0.001)] }],
    ]
    const res = await server.gql(
      `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { accepted rejected { index sourceKey code field message } } }`,
      {
        input: {
          entityType: 'BUILDING',
          records: [
            ...bad.map(([k, g]) => ({ sourceKey: `bad-${tag}-${k}`, attributes: { name: k }, geometry: g })),
            {
              sourceKey: `good-${tag}`,
              attributes: { name: 'good' },
              geometry: ring(square(fx.districtRing[0][0] + 0.015, fx.districtRing[0][1] + 0.001, 0.0002)),
            },
          ],
        },
      },
      { 'X-Department': 'NRP' },
    )
    expect(res.errors).toBeUndefined()
    const r = res.data.submitRecords
    expect(r.accepted).toBe(1)
    expect(r.rejected.map((x: { sourceKey: string }) => x.sourceKey)).toEqual(bad.map(([k]) => `bad-${tag}-${k}`))
    for (const x of r.rejected) {
      expect(x.code).toBe('INVALID_GEOMETRY')
      expect(x.field).toBe('geometry')
    }
    expect(r.rejected.find((x: { sourceKey: string }) => x.sourceKey.endsWith('hole-outside')).message).toMatch(
      /not valid/i,
    )
    expect(r.rejected.find((x: { sourceKey: string }) => x.sourceKey.endsWith('outside')).message).toMatch(/extent/)
    expect(r.rejected.find((x: { sourceKey: string }) => x.sourceKey.endsWith('huge')).message).toMatch(
      /more than 20000 vertices/,
    )
    const quarantined = await server
      .knex('quarantined_records')
      .where('source_key', 'like', `bad-${tag}-%`)
      .count({ n: '*' })
      .first()
    expect(Number(quarantined!.n)).toBe(bad.length)
  })
})

describe('address search (textContains)', () => {
  const SEARCH = `query($f: SpatialFilter, $first: Int, $after: String) { addresses(filter: $f, first: $first, after: $after) { totalCount edges { cursor node { fullText } } pageInfo { hasNextPage endCursor } } }`
  const search = async (text: string, extra: Record<string, unknown> = {}) => {
    const res = await server.gql(SEARCH, { f: { textContains: text, ...extra }, first: 50 })
    expect(res.errors).toBeUndefined()
    return res.data.addresses.edges.map((e: { node: { fullText: string } }) => e.node.fullText) as string[]
  }

  it('finds the door however it is written: missing 号/路/区, extra spaces, full-width digits', async () => {
    const target = fx.addresses[6].fullText // 测试市测试区<road>7号
    const road = fx.road.slice(0, -1)
    const fullWidth = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0))
    for (const q of [
      target,
      `${fx.road}7号`,
      `${road}7号`,
      `${fx.road}7`,
      `测试区 ${fx.road} 7 号`,
      `测试${fx.road}7号`,
      fullWidth(`${fx.road}7号`),
      `中国浙江省${target}`,
    ]) {
      const hits = await search(q, { divisionCode: fx.district })
      expect(hits[0], q).toBe(target)
    }
  })

  it('ranks by similarity and leaves out unrelated roads', async () => {
    const hits = await search(`${fx.road}7号`, { divisionCode: fx.district })
    expect(hits[0]).toBe(fx.addresses[6].fullText)
    expect(hits.length).toBeGreaterThan(1)
    expect(await search('完全无关的地址999号', { divisionCode: fx.district })).toEqual([])
  })

  it('pages ranked results with a (score, id) cursor: every hit once, in rank order', async () => {
    const all = await search(fx.road, { divisionCode: fx.district })
    expect(all.length).toBe(fx.addresses.length)
    const seen: string[] = []
    let after: string | null = null
    for (let i = 0; i < 20; i++) {
      const res: any = await server.gql(SEARCH, {
        f: { textContains: fx.road, divisionCode: fx.district },
        first: 3,
        after,
      })
      expect(res.errors).toBeUndefined()
      expect(res.data.addresses.totalCount).toBe(fx.addresses.length)
      seen.push(...res.data.addresses.edges.map((e: { node: { fullText: string } }) => e.node.fullText))
      if (!res.data.addresses.pageInfo.hasNextPage) break
      after = res.data.addresses.pageInfo.endCursor
    }
    expect(seen).toEqual(all)
    const bad = await server.gql(SEARCH, {
      f: { textContains: fx.road },
      after: Buffer.from(JSON.stringify(['x', 1])).toString('base64url'),
    })
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' })
  })

  it('refuses an empty or overlong query', async () => {
    for (const q of ['   ', 'x'.repeat(201)]) {
      const res = await server.gql(SEARCH, { f: { textContains: q } })
      expect(res.errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'filter.textContains',
      })
    }
  })
})

describe('indexes behind the spatial filters', () => {
  // The test tables are tiny, so the planner rightly prefers a sequential scan. enable_seqscan=off
  // (for this transaction only) makes a sequential scan look prohibitively expensive, so the plan
  // shows whether the query is *able* to use the index: a query shape that defeats the index
  // (e.g. a cast on the wrong side, or geometry distance instead of geography) would still seq-scan.
  async function plan(sql: string, bindings: readonly unknown[]): Promise<string> {
    return server.knex.transaction(async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off')
      const { rows } = await trx.raw(`EXPLAIN ${sql}`, bindings as never)
      return rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')
    })
  }

  it('near (metres) uses the GiST index on location::geography', async () => {
    const q = spatialQuery(server.knex, 'ADDRESS', { near: { lon: 120.1, lat: 30.25, meters: 500 } })
      .base()
      .select('a.id')
      .toSQL()
    expect(await plan(q.sql, q.bindings)).toMatch(/addresses_location_geog_idx/)
  })

  it('nearestAddresses orders by the index (KNN <-> on geography)', async () => {
    expect(await plan(NEAREST_SQL, [120.1, 30.25, null, 120.1, 30.25, null, 120.1, 30.25, 25, 5])).toMatch(
      /Index Scan using addresses_location_geog_idx/,
    )
  })

  it('within uses the GiST index on location; textContains the trigram index on the search form', async () => {
    const w = spatialQuery(server.knex, 'ADDRESS', { within: ring(OK_RING) })
      .base()
      .select('a.id')
      .toSQL()
    expect(await plan(w.sql, w.bindings)).toMatch(/addresses_location_idx/)
    const t = spatialQuery(server.knex, 'ADDRESS', { textContains: '文三路90号' }).base().select('a.id').toSQL()
    expect(await plan(t.sql, t.bindings)).toMatch(/addresses_search_trgm_idx/)
  })
})
