import { readFileSync } from 'node:fs'
import * as turf from '@turf/turf'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type GqlResult, type TestServer } from '../helpers.js'
import { submit, type Position } from './spatial-fixtures.js'
import { random } from '../support/ids.js'

// addresses(filter: {within}) pages by id without parallel workers (spatial.store.ts); the set must
// stay exactly ST_Within on a real district boundary (202 vertices, concave), boundary vertices excluded.

const boundaries = JSON.parse(
  readFileSync(new URL('../../seeds/data/hangzhou-district-boundaries.geojson', import.meta.url), 'utf8'),
) as GeoJSON.FeatureCollection<GeoJSON.MultiPolygon, { code: string }>
const boundary = boundaries.features.find((f) => f.properties.code === '330106')!.geometry

let server: TestServer
let district: string
const points: { fullText: string; location: Position }[] = []

beforeAll(async () => {
  server = await startTestServer()
  for (let attempt = 0; attempt < 50 && !district; attempt++) {
    const code = `33${String(50 + Math.floor(random() * 50))}${String(1 + Math.floor(random() * 99)).padStart(2, '0')}`
    const { rows } = await server.knex.raw('SELECT count(*) AS n FROM addresses WHERE division_key LIKE ?', [
      `${code}%`,
    ])
    if (Number(rows[0].n) === 0) district = code
  }
  const [minLon, minLat, maxLon, maxLat] = turf.bbox(boundary)
  const tag = random().toString(36).slice(2, 8)
  for (let i = 0; i < 40; i++) {
    const location: Position = [minLon + random() * (maxLon - minLon), minLat + random() * (maxLat - minLat)]
    points.push({ fullText: `边界测试${tag}路${i + 1}号`, location })
  }
  // Three boundary vertices: on the boundary, so not within.
  for (const k of [0, 50, 120])
    points.push({
      fullText: `边界测试${tag}路顶点${k}号`,
      location: boundary.coordinates[0][0][k] as Position,
    })
  const observedAt = '2024-01-01T00:00:00Z'
  await submit(server, 'CAB', 'ADMIN_DIVISION', [
    {
      sourceKey: `div-${district}-${tag}`,
      observedAt,
      attributes: { code: district, name: `测试${district}` },
    },
  ])
  await submit(
    server,
    'CAB',
    'ADDRESS',
    points.map((p, i) => ({
      sourceKey: `wp-${tag}-${i}`,
      observedAt,
      attributes: { fullText: p.fullText, divisionCode: district },
    })),
  )
  await submit(
    server,
    'NRP',
    'ADDRESS',
    points.map((p, i) => ({
      sourceKey: `wpp-${tag}-${i}`,
      observedAt,
      attributes: { fullText: p.fullText },
      geometry: { type: 'Point', coordinates: p.location },
    })),
  )
})

afterAll(async () => {
  await server?.close()
})

describe('addresses(filter: {within: district boundary})', () => {
  it('pages through exactly the points turf and plain ST_Within find inside, in id order', async () => {
    const seen: { id: string; fullText: string }[] = []
    let after: string | null = null
    for (let page = 0; page < 20; page++) {
      const res: GqlResult = await server.gql(
        `query($f: SpatialFilter, $after: String) { addresses(filter: $f, first: 4, after: $after) { nodes { id fullText } pageInfo { hasNextPage endCursor } } }`,
        { f: { within: boundary, divisionCode: district }, after },
      )
      expect(res.errors).toBeUndefined()
      seen.push(...res.data.addresses.nodes)
      if (!res.data.addresses.pageInfo.hasNextPage) break
      after = res.data.addresses.pageInfo.endCursor
    }
    const ids = seen.map((n) => n.id)
    expect(ids).toEqual([...ids].sort())
    expect(new Set(ids).size).toBe(ids.length)

    const truth = points
      .filter((p) => turf.booleanPointInPolygon(p.location, boundary, { ignoreBoundary: true }))
      .map((p) => p.fullText)
      .sort()
    expect(truth.length).toBeGreaterThan(4)
    expect(truth.length).toBeLessThan(points.length - 3)
    expect(seen.map((n) => n.fullText).sort()).toEqual(truth)

    const { rows } = await server.knex.raw(
      `SELECT full_text FROM addresses WHERE division_key = ? AND ST_Within(location, ST_SetSRID(ST_GeomFromGeoJSON(?), 4326))`,
      [district, JSON.stringify(boundary)],
    )
    expect(rows.map((r: { full_text: string }) => r.full_text).sort()).toEqual(truth)
  })
})
