import 'reflect-metadata'
import { randomUUID } from 'node:crypto'
import type { Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { AREA_CELL_LEVEL } from '../../migrations/20261203080000_maintain_area_cell_counts.js'
import { AREA_COMPACTION_LOCK, areaSummary, compactAreaCellCounts } from '../../src/spatial/spatial.store.js'
import { liveAreaSummary } from '../support/live-area-summary.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeCreditCode, makeIdNumber, STEWARD, submit } from './scenario.fixtures.js'
import { randomInt } from '../support/ids.js'

// areaSummary from the maintained per-address counts (address_counts, kept by triggers; the
// quadtree cover in src/spatial/spatial.store.ts) against the live count over the registers
// (test/support/live-area-summary.ts), after every kind of write: engine inserts and updates
// (moves, deaths, an address moving its point, legal-entity changes), merges of persons and of
// addresses, and plain SQL writes (bulk updates, a multi-table insert in one statement, deletes).
// Points lie on quadtree cell edges (the fixture's origin is a cell corner down to level 13) and
// on polygon edges (ST_Within excludes them), so both the cell classification and the point
// tests are exercised at their edges. After each write: every polygon answers the same both ways,
// the whole address_counts table equals a recount from scratch, and so do the per-cell sums of
// area_cell_counts (appended deltas, compacted by summaries; migration 20261203080000) — with
// deltas uncompacted, after compaction, and with writers in the same cell at once.

let server: TestServer
const sfx = uniqueSuffix()
// Level-13 cell size in degrees: every multiple of it from −180 / −90 is a cell edge at levels ≤ 13.
const CW = 360 / 2 ** 13
const CH = 180 / 2 ** 13
const LON0 = -180 + (6800 + randomInt(0, 40)) * CW // ~118.8–120.6° E, inside the service extent
const LAT0 = -90 + (5440 + randomInt(0, 40)) * CH // ~29.5–30.4° N
const STEP = 0.004

type Ring = [number, number][]
const box = (x0: number, y0: number, x1: number, y1: number): Ring => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
  [x0, y0],
]
const polygon = (...rings: Ring[]) => ({ type: 'Polygon', coordinates: rings })

// A 5 × 5 grid of addresses from the origin (a cell corner), STEP apart.
const grid: { label: string; at: [number, number] }[] = []
for (let i = 0; i < 5; i++)
  for (let j = 0; j < 5; j++) grid.push({ label: `g${i}${j}`, at: [LON0 + i * STEP, LAT0 + j * STEP] })
// Two more on the edges of a level-13 cell east of the origin.
grid.push({ label: 'edge1', at: [LON0 + CW, LAT0 + 0.001] }, { label: 'edge2', at: [LON0 + CW, LAT0 + CH] })

const POLYGONS: Record<string, unknown> = {
  // Everything of the fixture, well inside.
  all: polygon(box(LON0 - 0.01, LAT0 - 0.01, LON0 + 0.05, LAT0 + 0.03)),
  // West edge through the grid's third column and south edge through its first row: those points are on the boundary.
  edges: polygon(box(LON0 + 2 * STEP, LAT0, LON0 + 0.05, LAT0 + 0.05)),
  // Exactly one level-13 cell: its edges are the polygon's; edge1 and edge2 lie on them.
  cell: polygon(box(LON0, LAT0, LON0 + CW, LAT0 + CH)),
  // A hole around one grid point, and a second part around another.
  multi: {
    type: 'MultiPolygon',
    coordinates: [
      [
        box(LON0 - 0.001, LAT0 - 0.001, LON0 + 0.013, LAT0 + 0.013),
        box(LON0 + STEP - 0.001, LAT0 + STEP - 0.001, LON0 + STEP + 0.001, LAT0 + STEP + 0.001).reverse(),
      ],
      [box(LON0 + 4 * STEP - 0.0005, LAT0 + 4 * STEP - 0.0005, LON0 + 4 * STEP + 0.0005, LAT0 + 4 * STEP + 0.0005)],
    ],
  },
  // A thin triangle around one point.
  tiny: polygon([
    [LON0 + STEP - 1e-6, LAT0 + 2 * STEP - 1e-6],
    [LON0 + STEP + 2e-6, LAT0 + 2 * STEP],
    [LON0 + STEP, LAT0 + 2 * STEP + 2e-6],
    [LON0 + STEP - 1e-6, LAT0 + 2 * STEP - 1e-6],
  ]),
  // Most of China: many cells wholly inside, and everything the other test files put there.
  large: polygon(box(70, 0, 140, 55)),
}

const addr = (label: string) => `测试市面积${sfx}路${label}号`
const addressRecord = (label: string, at: [number, number]) => ({
  sourceKey: `area-${label}-${sfx}`,
  attributes: { fullText: addr(label) },
  geometry: { type: 'Point', coordinates: at },
})
const persons = Array.from({ length: 40 }, (_, i) => ({
  key: `p${i}`,
  idNumber: makeIdNumber(`19${String(50 + (i % 40)).padStart(2, '0')}-03-0${1 + (i % 9)}`),
  residence: grid[(i * 7) % grid.length].label,
  deathDate: i % 9 === 4 ? '2024-01-01' : undefined,
}))
const personRecord = (p: (typeof persons)[number]) => ({
  sourceKey: `area-${p.key}-${sfx}`,
  attributes: {
    idNumber: p.idNumber,
    name: `面积${sfx}${p.key}`,
    gender: 'MALE',
    residenceAddressText: addr(p.residence),
    ...(p.deathDate ? { deathDate: p.deathDate } : {}),
  },
})
const entities = Array.from({ length: 8 }, (_, i) => ({
  key: `e${i}`,
  creditCode: makeCreditCode(),
  status: i === 3 ? 'CANCELLED' : 'ACTIVE',
  address: grid[(i * 5 + 2) % grid.length].label,
}))
const entityRecord = (e: (typeof entities)[number]) => ({
  sourceKey: `area-${e.key}-${sfx}`,
  attributes: {
    creditCode: e.creditCode,
    name: `面积企业${sfx}${e.key}`,
    kind: 'ENTERPRISE',
    status: e.status,
    registeredAddressText: addr(e.address),
  },
})

async function ok(department: string, type: string, records: unknown[]) {
  const r = await submit(server, department, type, records as never)
  expect(r.rejected).toEqual([])
  return r
}

async function entityId(type: string, sourceKey: string, department: string): Promise<string> {
  const row = await server
    .knex('source_records')
    .where({ department_code: department, source_key: sourceKey, entity_type: type })
    .first()
  return row.entity_id
}

/** Bits between a point's key on the 2^20 grid and its level-16 cell's key (area_cell_counts). */
const CELL_SHIFT = 2 * (20 - AREA_CELL_LEVEL)

/**
 * Rows of address_counts that a recount from scratch does not reproduce, both ways; and cells
 * whose area_cell_counts rows do not sum to that recount (addresses, residents and legal entities
 * from address_counts' recount, buildings from their enclosing cells at level ≥ 16).
 */
async function tableDifferences(): Promise<unknown[]> {
  const { rows } = await server.knex.raw(`
    WITH live AS MATERIALIZED (
      SELECT a.id AS address_id, ST_AsEWKT(a.location) AS location, address_cell(a.location) AS cell,
             (SELECT count(*) FROM persons p WHERE p.residence_address_id = a.id AND p.death_date IS NULL)::int AS residents,
             (SELECT count(*) FROM legal_entities le WHERE le.registered_address_id = a.id)::int AS legal_entities
        FROM addresses a),
    kept AS (SELECT address_id, ST_AsEWKT(location), cell, residents, legal_entities FROM address_counts),
    live_cells AS (
      SELECT cell, sum(addresses)::int AS addresses, sum(residents)::int AS residents,
             sum(legal_entities)::int AS legal_entities, sum(buildings)::int AS buildings
        FROM (SELECT cell >> ${CELL_SHIFT} AS cell, 1 AS addresses, residents, legal_entities, 0 AS buildings
                FROM live WHERE cell IS NOT NULL
              UNION ALL SELECT cell_lo >> ${CELL_SHIFT}, 0, 0, 0, 1 FROM buildings WHERE cell_level >= ${AREA_CELL_LEVEL}) t
       GROUP BY 1),
    kept_cells AS (
      SELECT cell, sum(addresses)::int AS addresses, sum(residents)::int AS residents, sum(legal_entities)::int AS legal_entities,
             sum(buildings)::int AS buildings
        FROM area_cell_counts GROUP BY cell
      HAVING sum(addresses) <> 0 OR sum(residents) <> 0 OR sum(legal_entities) <> 0 OR sum(buildings) <> 0)
    SELECT 'not kept' AS what, row_to_json(x)::text AS r FROM (SELECT * FROM live EXCEPT SELECT * FROM kept) x
    UNION ALL SELECT 'kept, not live', row_to_json(x)::text FROM (SELECT * FROM kept EXCEPT SELECT * FROM live) x
    UNION ALL SELECT 'cell not kept', row_to_json(x)::text FROM (SELECT * FROM live_cells EXCEPT SELECT * FROM kept_cells) x
    UNION ALL SELECT 'cell kept, not live', row_to_json(x)::text FROM (SELECT * FROM kept_cells EXCEPT SELECT * FROM live_cells) x`)
  return rows
}

/** Live counts inside the polygon over this file's addresses only. */
async function own(g: unknown): Promise<{ addressCount: number; residentCount: number; legalEntityCount: number }> {
  const { rows } = await server.knex.raw(
    `WITH g AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(?), 4326) AS g),
          a AS (SELECT id FROM addresses WHERE full_text LIKE ? AND ST_Within(location, (SELECT g FROM g)))
     SELECT (SELECT count(*) FROM a)::int AS "addressCount",
            (SELECT count(*) FROM persons p JOIN a ON a.id = p.residence_address_id WHERE p.death_date IS NULL)::int AS "residentCount",
            (SELECT count(*) FROM legal_entities le JOIN a ON a.id = le.registered_address_id)::int AS "legalEntityCount"`,
    [JSON.stringify(g), `测试市面积${sfx}路%`],
  )
  return rows[0]
}

/** Every polygon both ways, and the table against a recount; returns the summaries (to see that something moved). */
async function expectSummariesMatchLive(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const [name, g] of Object.entries(POLYGONS)) {
    const kept = await areaSummary(server.knex, g)
    const live = await liveAreaSummary(server.knex, g)
    expect({ name, ...kept }).toEqual({ name, ...live })
    out[name] = kept
  }
  expect(await tableDifferences()).toEqual([])
  return out
}

beforeAll(async () => {
  server = await startTestServer()
  await ok(
    'CAB',
    'ADDRESS',
    grid.map((g) => addressRecord(g.label, g.at)),
  )
  await ok('AMR', 'LEGAL_ENTITY', entities.map(entityRecord))
  await ok('PSB', 'PERSON', persons.map(personRecord))
})

afterAll(async () => {
  await server?.close()
})

describe('areaSummary from maintained per-address counts', () => {
  it('equals the live count after the initial submissions, points on cell and polygon edges included', async () => {
    await expectSummariesMatchLive()
    // The polygons hold what the fixture says (counted live over this file's addresses only: the
    // database is shared, and a kept one holds earlier runs').
    const s = Object.fromEntries(await Promise.all(Object.keys(POLYGONS).map(async (k) => [k, await own(POLYGONS[k])])))
    expect(s.all).toMatchObject({ addressCount: grid.length, legalEntityCount: entities.length })
    expect(s.all.residentCount).toBe(persons.filter((p) => !p.deathDate).length)
    // Columns 0–1 are outside, column 2 and row 0 on the boundary (not within): columns 3–4 of
    // rows 1–4, and edge1 and edge2.
    expect(s.edges.addressCount).toBe(2 * 4 + 2)
    // The cell's own edges hold the origin, edge1 and edge2 and the grid points with i = 0 or j = 0.
    expect(s.cell.addressCount).toBeGreaterThan(0)
    expect(s.tiny.addressCount).toBe(1)
    expect(s.large.addressCount).toBeGreaterThanOrEqual(grid.length)
  })

  it('follows moves, deaths, an address moving its point and legal-entity changes (engine writes)', async () => {
    const before = await expectSummariesMatchLive()
    persons[0].residence = 'g44'
    persons[1].deathDate = '2025-06-01'
    persons[2].residence = 'edge2'
    await ok('PSB', 'PERSON', [persons[0], persons[1], persons[2]].map(personRecord))
    entities[0].address = 'g00'
    entities[1].status = 'CANCELLED'
    await ok('AMR', 'LEGAL_ENTITY', [entities[0], entities[1]].map(entityRecord))
    // g22 moves out of the fixture's square altogether; g11 moves onto the cell's east edge.
    await ok('CAB', 'ADDRESS', [
      addressRecord('g22', [LON0 + 0.08, LAT0 + 0.08]),
      addressRecord('g11', [LON0 + CW, LAT0 + 0.002]),
    ])
    const after = await expectSummariesMatchLive()
    expect(after).not.toEqual(before)
  })

  it('follows merges of persons and of addresses', async () => {
    const x = await entityId('PERSON', `area-${persons[5].key}-${sfx}`, 'PSB')
    const y = await entityId('PERSON', `area-${persons[6].key}-${sfx}`, 'PSB')
    const m = await server.gql(
      `mutation($s: ID!, $m: ID!) { mergeEntities(survivorId: $s, mergedId: $m, reason: "same person") { id } }`,
      { s: x, m: y },
      STEWARD,
    )
    expect(m.errors).toBeUndefined()
    await expectSummariesMatchLive()
    const a = await entityId('ADDRESS', `area-g33-${sfx}`, 'CAB')
    const b = await entityId('ADDRESS', `area-g34-${sfx}`, 'CAB')
    const am = await server.gql(
      `mutation($s: ID!, $m: ID!) { mergeEntities(survivorId: $s, mergedId: $m, reason: "same door") { id } }`,
      { s: a, m: b },
      STEWARD,
    )
    expect(am.errors).toBeUndefined()
    expect(await server.knex('addresses').where('id', b).first()).toBeUndefined()
    await expectSummariesMatchLive()
  })

  it('follows plain SQL writes: bulk updates, an insert of addresses and persons in one statement, deletes', async () => {
    const ids = (await server.knex('persons').select('id').where('name', 'like', `面积${sfx}%`)).map(
      (r: { id: string }) => r.id,
    )
    expect(ids.length).toBeGreaterThan(20)
    const g00 = await entityId('ADDRESS', `area-g00-${sfx}`, 'CAB')
    const g44 = await entityId('ADDRESS', `area-g44-${sfx}`, 'CAB')
    const before = await expectSummariesMatchLive()
    await server.knex.transaction(async (trx) => {
      await trx('persons').whereIn('id', ids.slice(0, 5)).update({ residence_address_id: g00 })
      await trx('persons').whereIn('id', ids.slice(5, 9)).update({ death_date: '2025-01-01' })
      await trx('persons')
        .whereIn('id', ids.slice(9, 12))
        .update({ death_date: null, name: trx.raw(`name || '改'`) })
      await trx('persons').whereIn('id', ids.slice(12, 14)).delete()
      await trx('legal_entities').where('name', 'like', `面积企业${sfx}%`).update({ registered_address_id: g44 })
      await trx.raw(`UPDATE addresses SET location = ST_Translate(location, 0.0001, 0) WHERE id = ?`, [g44])
      // Addresses and the persons living there in one statement: the two tables' triggers fire in either order.
      const [{ txid }] = await trx('transactions').insert({ operation: 'test: plain SQL writes' }).returning('txid')
      const [fa, fb, pa, pb] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()]
      await trx.raw(
        `WITH e AS (INSERT INTO entities (id, entity_type, created_txid)
                    VALUES (?, 'ADDRESS', ?), (?, 'ADDRESS', ?), (?, 'PERSON', ?), (?, 'PERSON', ?)),
              a AS (INSERT INTO addresses (id, full_text, location)
                    VALUES (?, 'sql-a', ST_SetSRID(ST_MakePoint(?, ?), 4326)), (?, 'sql-b', ST_SetSRID(ST_MakePoint(?, ?), 4326)))
         INSERT INTO persons (id, name, residence_address_id) VALUES (?, '面积sqlA', ?), (?, '面积sqlB', ?)`,
        [
          fa,
          txid,
          fb,
          txid,
          pa,
          txid,
          pb,
          txid,
          fa,
          LON0 + 0.001,
          LAT0 + 0.001,
          fb,
          LON0 + CW,
          LAT0 + 0.003,
          pa,
          fa,
          pb,
          fb,
        ],
      )
    })
    const after = await expectSummariesMatchLive()
    expect(after).not.toEqual(before)
    // Deleting an address row directly: the foreign keys clear the references (ON DELETE SET NULL).
    await server.knex('addresses').where('id', g00).delete()
    await expectSummariesMatchLive()
  })
})

describe('buildingCount from maintained enclosing cells', () => {
  // Level-16 column width and level-20 cell size in degrees (LON0, LAT0 lie on level-13 lines).
  const W16 = 360 / 2 ** 16
  const W20 = 360 / 2 ** 20
  const H20 = 180 / 2 ** 20
  const E = 2 * STEP // the west edge of 'edges'
  /** This file's buildings: footprint, and the polygons it intersects (by construction). */
  const buildings: Record<string, { ring: Ring; in: string[] }> = {
    // Straddles the origin, a corner of level-13 cells: its enclosing cell is coarse.
    corner: { ring: box(LON0 - 0.0001, LAT0 - 0.0001, LON0 + 0.0001, LAT0 + 0.0001), in: ['all', 'cell', 'multi'] },
    // Straddles a level-16 column line (not a level-15 one) inside: enclosing level 15.
    line16: {
      ring: box(LON0 + 3 * W16 - 0.00005, LAT0 + 0.0181, LON0 + 3 * W16 + 0.00005, LAT0 + 0.0183),
      in: ['all', 'edges', 'cell'],
    },
    // Crosses the west edge of 'edges'.
    across: {
      ring: box(LON0 + E - 0.0002, LAT0 + 0.0101, LON0 + E + 0.0002, LAT0 + 0.0103),
      in: ['all', 'edges', 'cell', 'multi'],
    },
    // Shares a piece of the west edge of 'edges', from outside.
    edgeTouch: { ring: box(LON0 + E - 0.0003, LAT0 + 0.0151, LON0 + E, LAT0 + 0.0153), in: ['all', 'edges', 'cell'] },
    // Touches the south-west corner of 'edges' from outside at that vertex only (and lies along
    // the south edge of 'cell').
    vertexTouch: { ring: box(LON0 + E - 0.0002, LAT0 - 0.0002, LON0 + E, LAT0), in: ['all', 'edges', 'cell', 'multi'] },
    // Touches 'cell' at its north-east corner only.
    cornerTouch: {
      ring: box(LON0 + CW, LAT0 + CH, LON0 + CW + 0.0002, LAT0 + CH + 0.0002),
      in: ['all', 'edges', 'cell'],
    },
    // ~1.2 × 0.7 km, inside the polygons it is in, across many of their inside cells.
    big: { ring: box(LON0 + 0.02, LAT0 + 0.0121, LON0 + 0.032, LAT0 + 0.0181), in: ['all', 'edges', 'cell'] },
    // In the hole of 'multi': outside it, within its bounding box.
    inHole: {
      ring: box(LON0 + STEP - 0.0003, LAT0 + STEP - 0.0003, LON0 + STEP + 0.0003, LAT0 + STEP + 0.0003),
      in: ['all', 'cell'],
    },
    // Across the east edge of that hole.
    holeEdge: {
      ring: box(LON0 + STEP + 0.0009, LAT0 + STEP - 0.0001, LON0 + STEP + 0.0011, LAT0 + STEP + 0.0001),
      in: ['all', 'cell', 'multi'],
    },
    // Between the two parts of 'multi': in neither, within its bounding box.
    between: { ring: box(LON0 + 0.0135, LAT0 + 0.0135, LON0 + 0.014, LAT0 + 0.014), in: ['all', 'edges', 'cell'] },
    // Within one level-20 cell, inside the second part of 'multi'.
    small: {
      ring: box(LON0 + 46.4 * W20, LAT0 + 93.4 * H20, LON0 + 46.6 * W20, LAT0 + 93.6 * H20),
      in: ['all', 'edges', 'cell', 'multi'],
    },
    // Within the bounding box of 'tiny', outside the triangle; and one across its south-west edge.
    nearTiny: {
      ring: box(LON0 + STEP + 1.5e-6, LAT0 + 2 * STEP + 1.5e-6, LON0 + STEP + 3e-6, LAT0 + 2 * STEP + 3e-6),
      in: ['all', 'cell', 'multi'],
    },
    onTiny: {
      ring: box(LON0 + STEP, LAT0 + 2 * STEP - 3e-6, LON0 + STEP + 5e-7, LAT0 + 2 * STEP - 4e-7),
      in: ['all', 'cell', 'multi', 'tiny'],
    },
    // Outside all but 'large'.
    far: { ring: box(LON0 + 0.08, LAT0 + 0.08, LON0 + 0.0802, LAT0 + 0.0802), in: [] },
  }
  const name = (key: string) => `面积楼${sfx}${key}`
  const buildingRecord = (key: string) => ({
    sourceKey: `area-building-${key}-${sfx}`,
    attributes: { name: name(key), floors: 3 },
    geometry: { type: 'Polygon', coordinates: [buildings[key].ring] },
  })

  /** For each polygon, this file's buildings intersecting it, counted live; and as the fixture says. */
  async function ownBuildings(): Promise<{ live: Record<string, string[]>; expected: Record<string, string[]> }> {
    const live: Record<string, string[]> = {}
    const expected: Record<string, string[]> = {}
    for (const [polygonName, g] of Object.entries(POLYGONS)) {
      const { rows } = await server.knex.raw(
        `SELECT name FROM buildings WHERE name LIKE ? AND ST_Intersects(footprint, ST_SetSRID(ST_GeomFromGeoJSON(?), 4326))`,
        [`面积楼${sfx}%`, JSON.stringify(g)],
      )
      live[polygonName] = rows.map((r: { name: string }) => r.name).sort()
      expected[polygonName] = Object.entries(buildings)
        .filter(([, b]) => polygonName === 'large' || b.in.includes(polygonName))
        .map(([k]) => name(k))
        .sort()
    }
    return { live, expected }
  }

  /** The rectangle of quadtree cell (level, lo), lo its first key on the level-20 grid. */
  function cellRect(level: number, lo: bigint): [number, number, number, number] {
    const k = lo >> BigInt(2 * (20 - level))
    let x = 0
    let y = 0
    for (let i = 0; i < level; i++) {
      x += Number((k >> BigInt(2 * i)) & 1n) * 2 ** i
      y += Number((k >> BigInt(2 * i + 1)) & 1n) * 2 ** i
    }
    const w = 360 / 2 ** level
    const h = 180 / 2 ** level
    return [x * w - 180, y * h - 90, (x + 1) * w - 180, (y + 1) * h - 90]
  }
  const holds = (r: [number, number, number, number], ring: Ring, margin: number) =>
    ring.every(([x, y]) => x - margin >= r[0] && x + margin <= r[2] && y - margin >= r[1] && y + margin <= r[3])

  /**
   * This file's buildings whose enclosing cell (buildings.cell_level, cell_lo) does not hold the
   * footprint with a margin, or is not the smallest that does (a child would too).
   */
  async function wrongCells(): Promise<unknown[]> {
    const rows = await server
      .knex('buildings')
      .select('name', 'cell_level', 'cell_lo')
      .where('name', 'like', `面积楼${sfx}%`)
    const wrong: unknown[] = []
    for (const r of rows) {
      const ring = buildings[r.name.slice(name('').length)].ring
      const level = Number(r.cell_level)
      const lo = BigInt(r.cell_lo)
      const children =
        level === 20 ? [] : [0n, 1n, 2n, 3n].map((c) => cellRect(level + 1, lo + (c << BigInt(2 * (19 - level)))))
      if (
        lo % 4n ** BigInt(20 - level) !== 0n ||
        !holds(cellRect(level, lo), ring, 0.5e-9) ||
        children.some((c) => holds(c, ring, 1.5e-9))
      )
        wrong.push(r)
    }
    return wrong
  }

  async function cellOf(key: string): Promise<number> {
    const r = await server.knex('buildings').select('cell_level').where('name', name(key)).first()
    return Number(r.cell_level)
  }

  it('equals the live count: straddling cell lines, across and touching edges and vertices, holes, parts, inside', async () => {
    await ok('NRP', 'BUILDING', Object.keys(buildings).map(buildingRecord))
    const own = await ownBuildings()
    expect(own.live).toEqual(own.expected)
    expect(await wrongCells()).toEqual([])
    // The fixture exercises both kinds of enclosing cell: coarser than level 16 (read one by one,
    // or tested as split cells) and finer (summed per level-16 cell).
    expect(await cellOf('corner')).toBeLessThanOrEqual(13)
    expect(await cellOf('line16')).toBe(15)
    expect(await cellOf('big')).toBeLessThan(16)
    expect(await cellOf('small')).toBe(20)
    expect(await cellOf('edgeTouch')).toBeGreaterThanOrEqual(16)
    await expectSummariesMatchLive()
  })

  it('follows footprints moved by the engine and by SQL, deletes, and inserts of several in one statement', async () => {
    const before = await expectSummariesMatchLive()
    // The engine rewrites every footprint it projects; these two change.
    buildings.far = {
      ring: box(LON0 + 0.011, LAT0 + 0.011, LON0 + 0.0112, LAT0 + 0.0112),
      in: ['all', 'edges', 'cell', 'multi'],
    }
    buildings.big = { ring: box(LON0 + 0.1, LAT0 + 0.1, LON0 + 0.112, LAT0 + 0.106), in: [] }
    await ok('NRP', 'BUILDING', ['far', 'big', 'small'].map(buildingRecord))
    expect(await cellOf('far')).toBeGreaterThanOrEqual(16)
    let own = await ownBuildings()
    expect(own.live).toEqual(own.expected)
    const after = await expectSummariesMatchLive()
    expect(after).not.toEqual(before)
    // Plain SQL: a move across a level-16 line into the hole of 'multi', a delete, and three new
    // buildings in one statement, two of them in one level-16 cell.
    await server.knex.transaction(async (trx) => {
      const dx = STEP - 0.0135
      await trx.raw('UPDATE buildings SET footprint = ST_Translate(footprint, ?, ?) WHERE name = ?', [
        dx,
        dx,
        name('between'),
      ])
      buildings.between = { ring: buildings.between.ring.map(([x, y]) => [x + dx, y + dx]), in: ['all', 'cell'] }
      await trx('buildings').where('name', name('corner')).delete()
      delete buildings.corner
      const [{ txid }] = await trx('transactions').insert({ operation: 'test: buildings' }).returning('txid')
      const added = {
        new1: { ring: box(LON0 + 0.0061, LAT0 + 0.0081, LON0 + 0.0062, LAT0 + 0.0082), in: ['all', 'cell', 'multi'] },
        new2: { ring: box(LON0 + 0.0063, LAT0 + 0.0083, LON0 + 0.0064, LAT0 + 0.0084), in: ['all', 'cell', 'multi'] },
        new3: {
          ring: box(LON0 + E - 0.001, LAT0 + 0.02, LON0 + E + 0.001, LAT0 + 0.021),
          in: ['all', 'edges', 'cell'],
        },
      }
      const ids = Object.keys(added).map(() => randomUUID())
      await trx.raw(
        `WITH t AS (SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[]) t(id, name, g)),
              e AS (INSERT INTO entities (id, entity_type, created_txid) SELECT id, 'BUILDING', ? FROM t)
         INSERT INTO buildings (id, name, footprint) SELECT id, name, ST_SetSRID(ST_GeomFromGeoJSON(g), 4326) FROM t`,
        [
          ids,
          Object.keys(added).map(name),
          Object.values(added).map((b) => JSON.stringify({ type: 'Polygon', coordinates: [b.ring] })),
          txid,
        ],
      )
      Object.assign(buildings, added)
    })
    own = await ownBuildings()
    expect(own.live).toEqual(own.expected)
    expect(await wrongCells()).toEqual([])
    await expectSummariesMatchLive()
    await compactAreaCellCounts(server.knex, undefined, { wait: true })
    await expectSummariesMatchLive()
  })

  it('counts nothing after TRUNCATE of buildings and addresses (in a transaction, rolled back)', async () => {
    const trx = await server.knex.transaction()
    try {
      await trx.raw('TRUNCATE buildings, addresses CASCADE')
      const { rows } = await trx.raw(
        `SELECT cell FROM area_cell_counts GROUP BY cell
          HAVING sum(addresses) <> 0 OR sum(residents) <> 0 OR sum(legal_entities) <> 0 OR sum(buildings) <> 0`,
      )
      expect(rows).toEqual([])
      expect((await trx.raw('SELECT count(*)::int AS n FROM address_counts')).rows[0].n).toBe(0)
    } finally {
      await trx.rollback()
    }
    await expectSummariesMatchLive()
  })

  it.skipIf(inject('embedded'))(
    'writers of buildings in one level-16 cell neither wait for each other nor for a compaction (real PostgreSQL)',
    async () => {
      const before = (await ownBuildings()).live.all.length
      /** Inserts a building (entity and row, one statement) of this file near the 'new' ones. */
      const addBuilding = async (trx: Knex.Transaction, key: string, i: number) => {
        const [{ txid }] = await trx('transactions').insert({ operation: 'test: buildings' }).returning('txid')
        const id = randomUUID()
        const ring = box(LON0 + 0.0065 + i * 0.0001, LAT0 + 0.0085, LON0 + 0.00655 + i * 0.0001, LAT0 + 0.00855)
        buildings[key] = { ring, in: ['all', 'cell', 'multi'] }
        await trx.raw(
          `WITH e AS (INSERT INTO entities (id, entity_type, created_txid) VALUES (?, 'BUILDING', ?))
           INSERT INTO buildings (id, name, footprint) VALUES (?, ?, ST_SetSRID(ST_GeomFromGeoJSON(?), 4326))`,
          [id, txid, id, name(key), JSON.stringify({ type: 'Polygon', coordinates: [ring] })],
        )
      }
      const first = await server.knex.transaction()
      const second = await server.knex.transaction()
      try {
        // Were there one counter row per cell, the second writer would wait for the first to end.
        for (const trx of [first, second]) await trx.raw(`SET LOCAL lock_timeout = '20s'`)
        await addBuilding(first, 'w1', 0)
        await addBuilding(second, 'w2', 1)
        await addBuilding(second, 'w3', 2)
        const { rows } = await second.raw(
          `SELECT count(DISTINCT cell_lo >> ${CELL_SHIFT})::int AS cells, min(cell_level)::int AS level FROM buildings WHERE name IN (?, ?)`,
          [name('w2'), name('w3')],
        )
        expect(rows[0]).toEqual({ cells: 1, level: expect.any(Number) })
        expect(rows[0].level).toBeGreaterThanOrEqual(AREA_CELL_LEVEL)
        // A compaction meanwhile: it neither waits for the open writers nor takes their deltas.
        expect(await compactAreaCellCounts(server.knex, undefined, { wait: true })).not.toBeNull()
        await second.commit()
        expect(first.isCompleted()).toBe(false)
        await addBuilding(first, 'w4', 3)
        await first.commit()
      } finally {
        if (!first.isCompleted()) await first.rollback()
        if (!second.isCompleted()) await second.rollback()
      }
      const own = await ownBuildings()
      expect(own.live).toEqual(own.expected)
      expect(own.live.all.length).toBe(before + 4)
      await expectSummariesMatchLive()
      await compactAreaCellCounts(server.knex, undefined, { wait: true })
      await expectSummariesMatchLive()
    },
  )
})

describe('area_cell_counts: appended deltas, compaction, concurrent writers', () => {
  // Two addresses in one level-16 cell and a third in another, all well inside the 'all' polygon.
  const points = {
    a1: [LON0 + 0.0061, LAT0 + 0.0081],
    a2: [LON0 + 0.0062, LAT0 + 0.0082],
    b: [LON0 + 0.0181, LAT0 + 0.0181],
  }
  const ids: Record<keyof typeof points, string> = { a1: randomUUID(), a2: randomUUID(), b: randomUUID() }
  const mover = randomUUID()

  /** Rows kept for the level-16 cell of an address (1 when compacted). */
  async function rowsOfCell(addressId: string): Promise<number> {
    const { rows } = await server.knex.raw(
      `SELECT count(*)::int AS n FROM area_cell_counts
        WHERE cell = (SELECT address_cell(location) >> ${CELL_SHIFT} FROM addresses WHERE id = ?)`,
      [addressId],
    )
    return rows[0].n
  }

  /** A transaction row to stamp plain SQL writes with. */
  async function txid(db: Knex | Knex.Transaction): Promise<number> {
    const [{ txid }] = await db('transactions').insert({ operation: 'test: area cells' }).returning('txid')
    return txid
  }

  /** A new person living at the address, in one statement (entity and person). */
  async function addResident(db: Knex | Knex.Transaction, addressId: string, t: number): Promise<void> {
    const id = randomUUID()
    await db.raw(
      `WITH e AS (INSERT INTO entities (id, entity_type, created_txid) VALUES (?, 'PERSON', ?))
       INSERT INTO persons (id, name, residence_address_id) VALUES (?, '面积cells', ?)`,
      [id, t, id, addressId],
    )
  }

  /** Moves the mover between a1 and b, one statement each time: two delta rows per statement. */
  async function moveBackAndForth(times: number): Promise<void> {
    await server.knex.transaction(async (trx) => {
      for (let i = 0; i < times; i++)
        await trx('persons')
          .where('id', mover)
          .update({ residence_address_id: i % 2 ? ids.a1 : ids.b })
    })
  }

  beforeAll(async () => {
    const t = await txid(server.knex)
    for (const [k, [lon, lat]] of Object.entries(points)) {
      const id = ids[k as keyof typeof points]
      await server.knex.raw(
        `WITH e AS (INSERT INTO entities (id, entity_type, created_txid) VALUES (?, 'ADDRESS', ?))
         INSERT INTO addresses (id, full_text, location) VALUES (?, ?, ST_SetSRID(ST_MakePoint(?, ?), 4326))`,
        [id, t, id, addr(`cells-${k}`), lon, lat],
      )
    }
    await server.knex.raw(
      `WITH e AS (INSERT INTO entities (id, entity_type, created_txid) VALUES (?, 'PERSON', ?))
       INSERT INTO persons (id, name, residence_address_id) VALUES (?, '面积mover', ?)`,
      [mover, t, mover, ids.a1],
    )
    const { rows } = await server.knex.raw(
      `SELECT count(DISTINCT address_cell(location) >> ${CELL_SHIFT})::int AS n FROM addresses WHERE id IN (?, ?)`,
      [ids.a1, ids.a2],
    )
    expect(rows[0].n).toBe(1)
  })

  it('is exact with deltas uncompacted and after the compaction', async () => {
    await moveBackAndForth(6)
    expect(await rowsOfCell(ids.a1)).toBeGreaterThan(1)
    expect(await rowsOfCell(ids.b)).toBeGreaterThan(1)
    await expectSummariesMatchLive()
    await compactAreaCellCounts(server.knex, undefined, { wait: true })
    expect(await rowsOfCell(ids.a1)).toBe(1)
    expect(await rowsOfCell(ids.b)).toBe(1)
    await expectSummariesMatchLive()
  })

  it('a summary that reads many deltas per cell compacts them after answering', async () => {
    // 'all' holds at most ~160 level-16 cells; 170 moves append 340 rows to two of them, so the
    // rows read exceed twice the cells read whatever else lies there.
    await moveBackAndForth(170)
    const kept = await areaSummary(server.knex, POLYGONS.all)
    expect(kept).toEqual(await liveAreaSummary(server.knex, POLYGONS.all))
    expect(await rowsOfCell(ids.a1)).toBe(1)
    expect(await rowsOfCell(ids.b)).toBe(1)
    expect(await tableDifferences()).toEqual([])
  })

  it.skipIf(inject('embedded'))(
    'answers exactly from uncompacted deltas while a compaction holds the lock (real PostgreSQL)',
    async () => {
      const holder = await server.knex.transaction()
      try {
        await holder.raw('SELECT pg_advisory_xact_lock(?::bigint)', [String(AREA_COMPACTION_LOCK)])
        await moveBackAndForth(170)
        // Every summary reads the deltas and cannot compact them: exact from the deltas as they are.
        await expectSummariesMatchLive()
        expect(await compactAreaCellCounts(server.knex)).toBeNull()
        expect(await rowsOfCell(ids.a1)).toBeGreaterThan(100)
      } finally {
        await holder.commit()
      }
      expect(await compactAreaCellCounts(server.knex, undefined, { wait: true })).not.toBeNull()
      expect(await rowsOfCell(ids.a1)).toBe(1)
      await expectSummariesMatchLive()
    },
  )

  it.skipIf(inject('embedded'))(
    'writers at two addresses of one cell neither wait for each other nor deadlock, nor for a compaction (real PostgreSQL)',
    async () => {
      const before = await own(POLYGONS.all)
      const first = await server.knex.transaction()
      const second = await server.knex.transaction()
      try {
        // Were there one counter row per cell, the second writer would wait for the first to end
        // (and, the first then writing again, one of them would be aborted as a deadlock).
        for (const trx of [first, second]) await trx.raw(`SET LOCAL lock_timeout = '20s'`)
        await addResident(first, ids.a1, await txid(first))
        const t2 = await txid(second)
        await addResident(second, ids.a2, t2)
        await addResident(second, ids.a2, t2)
        // A compaction meanwhile: it neither waits for the open writers nor takes their deltas.
        expect(await compactAreaCellCounts(server.knex, undefined, { wait: true })).not.toBeNull()
        await second.commit()
        // The second writer committed while the first is still open; the first writes on.
        expect(first.isCompleted()).toBe(false)
        await addResident(first, ids.a2, await txid(first))
        await first.commit()
      } finally {
        if (!first.isCompleted()) await first.rollback()
        if (!second.isCompleted()) await second.rollback()
      }
      expect((await own(POLYGONS.all)).residentCount).toBe(before.residentCount + 4)
      await expectSummariesMatchLive()
      await compactAreaCellCounts(server.knex, undefined, { wait: true })
      await expectSummariesMatchLive()
    },
  )
})
