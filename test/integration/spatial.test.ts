import * as turf from '@turf/turf'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from '../helpers.js'
import { createSpatialFixture, DISTRICT_SIZE, square, type Position, type SpatialFixture } from './spatial-fixtures.js'

// The spatial queries against @turf/turf as an independent truth: the fixture's geometry is known
// in JS, so every set the server returns can be recomputed here without SQL.

let server: TestServer
let fx: SpatialFixture
let idByText: Map<string, string>

const ADDRESS_FIELDS = 'id fullText location division { code } building { name }'

async function allAddresses(filter: Record<string, unknown>, first = 500): Promise<{ fullText: string; location: { coordinates: Position } }[]> {
  const res = await server.gql(`query($f: SpatialFilter, $first: Int) { addresses(filter: $f, first: $first) { nodes { ${ADDRESS_FIELDS} } pageInfo { hasNextPage } } }`, { f: filter, first })
  expect(res.errors).toBeUndefined()
  expect(res.data.addresses.pageInfo.hasNextPage).toBe(false)
  return res.data.addresses.nodes
}

const texts = (nodes: { fullText: string }[]) => nodes.map((n) => n.fullText).sort()
const mine = (pred: (a: SpatialFixture['addresses'][number]) => boolean) => fx.addresses.filter(pred).map((a) => a.fullText).sort()
const polygon = (ring: Position[]) => ({ type: 'Polygon', coordinates: [ring] })

beforeAll(async () => {
  server = await startTestServer()
  fx = await createSpatialFixture(server)
  const rows = await server.knex('addresses').select('id', 'full_text').whereIn('full_text', fx.addresses.map((a) => a.fullText))
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
