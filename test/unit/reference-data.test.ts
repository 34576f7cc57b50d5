import { readFileSync } from 'node:fs'
import { describe, it, expect } from 'vitest'
import * as turf from '@turf/turf'
import type { Feature, FeatureCollection, MultiPolygon } from 'geojson'
import { divisionLevelOf, isValidDivisionCode, parentCodeOf } from '../../src/reconciliation/rules/division-code.js'

const CODES = [
  '330102',
  '330105',
  '330106',
  '330108',
  '330109',
  '330110',
  '330111',
  '330112',
  '330113',
  '330114',
  '330122',
  '330127',
  '330182',
]

const read = (name: string) => JSON.parse(readFileSync(new URL(`../../seeds/data/${name}`, import.meta.url), 'utf8'))

describe('seeds/data/hangzhou-divisions.json', () => {
  const data = read('hangzhou-divisions.json') as {
    source: string
    province: { code: string; name: string }
    city: { code: string; name: string }
    districts: { code: string; name: string; townships: { code: string; name: string }[] }[]
  }

  it('lists the 13 current districts of Hangzhou', () => {
    expect(data.province).toEqual({ code: '330000', name: '浙江省' })
    expect(data.city).toEqual({ code: '330100', name: '杭州市' })
    expect(data.districts.map((d) => d.code)).toEqual(CODES)
  })

  it('has valid 9-digit township codes under each district', () => {
    const seen = new Set<string>()
    for (const d of data.districts) {
      expect(divisionLevelOf(d.code)).toBe('DISTRICT')
      expect(parentCodeOf(d.code)).toBe('330100')
      expect(d.townships.length).toBeGreaterThan(0)
      for (const t of d.townships) {
        expect(isValidDivisionCode(t.code), t.code).toBe(true)
        expect(parentCodeOf(t.code)).toBe(d.code)
        expect(t.name).toMatch(/(街道|镇|乡|区|城|场)$/)
        expect(seen.has(t.code)).toBe(false)
        seen.add(t.code)
      }
    }
  })
})

describe('seeds/data/hangzhou-district-boundaries.geojson', () => {
  const fc = read('hangzhou-district-boundaries.geojson') as FeatureCollection<
    MultiPolygon,
    { code: string; name: string }
  >

  it('has one MultiPolygon per district', () => {
    expect(fc.type).toBe('FeatureCollection')
    expect(fc.features.map((f) => f.properties.code)).toEqual(CODES)
    for (const f of fc.features) expect(f.geometry.type).toBe('MultiPolygon')
  })

  it('has closed, counter-clockwise, 5-decimal, non-self-intersecting rings', () => {
    for (const f of fc.features as Feature<MultiPolygon, { code: string; name: string }>[]) {
      for (const poly of f.geometry.coordinates) {
        poly.forEach((ring, i) => {
          expect(ring.length).toBeGreaterThanOrEqual(4)
          expect(ring[0]).toEqual(ring[ring.length - 1])
          expect(turf.booleanClockwise(ring), `${f.properties.code} ring ${i}`).toBe(i > 0)
          for (const [x, y] of ring) {
            expect(Math.round(x! * 1e5) / 1e5).toBe(x)
            expect(Math.round(y! * 1e5) / 1e5).toBe(y)
            expect(x).toBeGreaterThan(118)
            expect(x).toBeLessThan(121)
            expect(y).toBeGreaterThan(29)
            expect(y).toBeLessThan(31)
          }
        })
      }
      expect(turf.kinks(f).features, f.properties.code).toHaveLength(0)
      expect(turf.booleanValid(f), f.properties.code).toBe(true)
    }
  })
})
