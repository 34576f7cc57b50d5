import { expect } from 'vitest'
import { creditCodeCheckChar, organizationCodeCheckChar } from '../../src/reconciliation/rules/credit-code.js'
import { idNumberCheckChar } from '../../src/reconciliation/rules/id-number.js'
import type { TestServer } from '../helpers.js'
import { randomInt } from '../support/ids.js'

// A small, self-contained piece of geography for one test file: a district square at a random
// place inside the service extent (checked empty first), two townships, addresses on a grid,
// residents, legal entities, parcels and buildings, all submitted through GraphQL as the owning
// departments would. Codes and texts are random so that files and runs never share data.

export type Position = [number, number]
export type Ring = Position[]

/** Closed square ring, counter-clockwise, [minLon, minLat] + size degrees. */
export function square(minLon: number, minLat: number, size: number): Ring {
  const r = (v: number) => Math.round(v * 1e7) / 1e7
  return [
    [r(minLon), r(minLat)],
    [r(minLon + size), r(minLat)],
    [r(minLon + size), r(minLat + size)],
    [r(minLon), r(minLat + size)],
    [r(minLon), r(minLat)],
  ]
}

/** Random CJK characters (common range): a road name no other file or run will share. */
export function randomHan(n: number): string {
  let s = ''
  for (let i = 0; i < n; i++) s += String.fromCodePoint(0x4e00 + randomInt(0, 0x9fa5 - 0x4e00))
  return s
}

export function randomIdNumber(region = '330106'): string {
  const birth = new Date(Date.UTC(1950, 0, 1) + randomInt(0, 18_000) * 86_400_000)
    .toISOString()
    .slice(0, 10)
    .replaceAll('-', '')
  const first17 = `${region}${birth}${String(randomInt(0, 1000)).padStart(3, '0')}`
  return first17 + idNumberCheckChar(first17)!
}

export function randomCreditCode(region = '330106'): string {
  const body = String(randomInt(0, 100_000_000)).padStart(8, '0')
  const first17 = `91${region}${body}${organizationCodeCheckChar(body)!}`
  return first17 + creditCodeCheckChar(first17)!
}

/** Submits records as a department and expects every one accepted. */
export async function submit(
  server: TestServer,
  department: string,
  entityType: string,
  records: unknown[],
): Promise<void> {
  const res = await server.gql(
    `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) { accepted rejected { index code field message } } }`,
    { input: { entityType, records } },
    { 'X-Department': department },
  )
  expect(res.errors).toBeUndefined()
  expect(res.data.submitRecords.rejected).toEqual([])
  expect(res.data.submitRecords.accepted).toBe(records.length)
}

export interface FixtureAddress {
  fullText: string
  divisionCode: string
  location: Position
}

export interface SpatialFixture {
  province: string
  city: string
  district: string
  /** Township in the south-west quarter of the district (has its own boundary). */
  township1: string
  /** Township without a boundary (its addresses are in the rest of the district). */
  township2: string
  districtRing: Ring
  township1Ring: Ring
  road: string
  addresses: FixtureAddress[]
  /** Residents: [addressIndex, deceased]. */
  residents: { idNumber: string; address: number; deceased: boolean }[]
  legalEntities: { creditCode: string; address: number }[]
  parcels: { parcelCode: string; ring: Ring }[]
  buildings: { sourceKey: string; name: string; ring: Ring; parcel: number; floors: number }[]
}

/** Size of the district square in degrees (~2.2 km × 1.9 km at 30°N). */
export const DISTRICT_SIZE = 0.02

async function pickDistrict(server: TestServer): Promise<{ district: string; lon: number; lat: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const district = `33${String(randomInt(50, 100))}${String(randomInt(1, 100)).padStart(2, '0')}`
    const lon = 118.5 + randomInt(0, 190_000) / 100_000
    const lat = 29.3 + randomInt(0, 110_000) / 100_000
    const taken = await server.knex.raw(
      `SELECT (SELECT count(*) FROM admin_divisions WHERE code LIKE ? OR (geom IS NOT NULL AND level <> 'PROVINCE' AND level <> 'CITY' AND ST_Intersects(geom, env.g)))
            + (SELECT count(*) FROM addresses WHERE division_key LIKE ? OR location && env.g)
            + (SELECT count(*) FROM buildings WHERE footprint && env.g)
            + (SELECT count(*) FROM parcels WHERE geom && env.g) AS n
         FROM (SELECT ST_MakeEnvelope(?, ?, ?, ?, 4326) AS g) env`,
      [`${district}%`, `${district}%`, lon - 0.01, lat - 0.01, lon + DISTRICT_SIZE + 0.01, lat + DISTRICT_SIZE + 0.01],
    )
    if (Number(taken.rows[0].n) === 0) return { district, lon, lat }
  }
  throw new Error('no free district code / area found for the spatial fixture')
}

/** Creates the fixture through submitRecords (CAB names, NRP geometry, PSB persons, AMR legal entities). */
export async function createSpatialFixture(
  server: TestServer,
  options: { addressesPerSide?: number } = {},
): Promise<SpatialFixture> {
  const { district, lon, lat } = await pickDistrict(server)
  const city = `${district.slice(0, 4)}00`
  const province = `${district.slice(0, 2)}0000`
  const township1 = `${district}001`
  const township2 = `${district}002`
  const half = DISTRICT_SIZE / 2
  const districtRing = square(lon, lat, DISTRICT_SIZE)
  const township1Ring = square(lon, lat, half)
  const road = `${randomHan(3)}路`

  // Addresses on an n×n grid inside the district; the south-west quarter is township 1.
  const n = options.addressesPerSide ?? 6
  const addresses: FixtureAddress[] = []
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = Math.round((lon + ((i + 0.5) * DISTRICT_SIZE) / n) * 1e6) / 1e6
      const y = Math.round((lat + ((j + 0.5) * DISTRICT_SIZE) / n) * 1e6) / 1e6
      const inT1 = x < lon + half && y < lat + half
      addresses.push({
        fullText: `测试市测试区${road}${addresses.length + 1}号`,
        divisionCode: inT1 ? township1 : township2,
        location: [x, y],
      })
    }
  }
  const residents = addresses
    .slice(0, 8)
    .map((_, i) => ({ idNumber: randomIdNumber(), address: (i * 3) % addresses.length, deceased: i === 0 }))
  const legalEntities = [0, 5, 17, 30].map((address) => ({
    creditCode: randomCreditCode(),
    address: address % addresses.length,
  }))
  // Parcels and buildings around the first address and the last one.
  const tag = `${district}${randomInt(0, 1_000_000)}`
  const around = (p: Position, size: number): Ring => square(p[0] - size / 2, p[1] - size / 2, size)
  const first = addresses[0].location
  const last = addresses[addresses.length - 1].location
  const parcels = [
    { parcelCode: `P${tag}-1`, ring: around(first, 0.001) },
    { parcelCode: `P${tag}-2`, ring: around(last, 0.001) },
  ]
  const buildings = [
    { sourceKey: `b-${tag}-1`, name: `${road}1号楼`, ring: around(first, 0.0002), parcel: 0, floors: 12 },
    { sourceKey: `b-${tag}-2`, name: `${road}2号楼`, ring: around(last, 0.0002), parcel: 1, floors: 3 },
  ]

  const observedAt = '2024-01-01T00:00:00Z'
  await submit(
    server,
    'CAB',
    'ADMIN_DIVISION',
    [province, city, district, township1, township2].map((code) => ({
      sourceKey: `div-${code}`,
      observedAt,
      attributes: { code, name: code === province ? '浙江省' : `测试${code}` },
    })),
  )
  await submit(server, 'NRP', 'ADMIN_DIVISION', [
    {
      sourceKey: `boundary-${district}`,
      observedAt,
      attributes: { code: district },
      geometry: { type: 'MultiPolygon', coordinates: [[districtRing]] },
    },
    {
      sourceKey: `boundary-${township1}`,
      observedAt,
      attributes: { code: township1 },
      geometry: { type: 'Polygon', coordinates: [township1Ring] },
    },
  ])
  await submit(
    server,
    'CAB',
    'ADDRESS',
    addresses.map((a, i) => ({
      sourceKey: `addr-${tag}-${i}`,
      observedAt,
      attributes: { fullText: a.fullText, divisionCode: a.divisionCode, road, doorNumber: `${i + 1}号` },
    })),
  )
  await submit(
    server,
    'NRP',
    'ADDRESS',
    addresses.map((a, i) => ({
      sourceKey: `point-${tag}-${i}`,
      observedAt,
      attributes: { fullText: a.fullText },
      geometry: { type: 'Point', coordinates: a.location },
    })),
  )
  await submit(
    server,
    'PSB',
    'PERSON',
    residents.map((r, i) => ({
      sourceKey: `person-${r.idNumber}`,
      observedAt,
      attributes: {
        idNumber: r.idNumber,
        name: `居民${i}`,
        gender: 'FEMALE',
        residenceAddressText: addresses[r.address].fullText,
        ...(r.deceased ? { deathDate: '2023-05-01' } : {}),
      },
    })),
  )
  await submit(
    server,
    'AMR',
    'LEGAL_ENTITY',
    legalEntities.map((e, i) => ({
      sourceKey: `le-${e.creditCode}`,
      observedAt,
      attributes: {
        creditCode: e.creditCode,
        name: `测试${road}公司${i}`,
        kind: 'ENTERPRISE',
        status: 'ACTIVE',
        registeredAddressText: addresses[e.address].fullText,
      },
    })),
  )
  await submit(
    server,
    'NRP',
    'PARCEL',
    parcels.map((p) => ({
      sourceKey: `parcel-${p.parcelCode}`,
      observedAt,
      attributes: { parcelCode: p.parcelCode, landUse: 'RESIDENTIAL' },
      geometry: { type: 'Polygon', coordinates: [p.ring] },
    })),
  )
  await submit(
    server,
    'NRP',
    'BUILDING',
    buildings.map((b) => ({
      sourceKey: b.sourceKey,
      observedAt,
      attributes: {
        name: b.name,
        floors: b.floors,
        useType: 'RESIDENTIAL',
        parcelCode: parcels[b.parcel].parcelCode,
      },
      geometry: { type: 'Polygon', coordinates: [b.ring] },
    })),
  )
  return {
    province,
    city,
    district,
    township1,
    township2,
    districtRing,
    township1Ring,
    road,
    addresses,
    residents,
    legalEntities,
    parcels,
    buildings,
  }
}
