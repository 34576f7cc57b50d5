import type { Knex } from 'knex'
import { divisionLevelOf, isValidDivisionCode } from '../reconciliation/rules/division-code.js'
import { ValidationError, validateGeometry } from '../reconciliation/rules/validate.js'
import { badInput } from '../shared/errors.js'
import type { NearInput } from './near.input.js'

/** Largest radius a `near` filter accepts, in metres. */
export const MAX_NEAR_METERS = 100_000

const PREFIX_LENGTH = { PROVINCE: 2, CITY: 4, DISTRICT: 6, TOWNSHIP: 9, VILLAGE: 12 } as const

/**
 * The code prefix shared by a division and everything below it (district 330106 → '330106',
 * city 330100 → '3301'); throws BAD_USER_INPUT (INVALID_DIVISION_CODE) for a malformed code.
 */
export function divisionCodePrefix(code: string, field: string): string {
  const level = isValidDivisionCode(code) ? divisionLevelOf(code) : null
  if (!level) throw badInput(`${field} must be a 6, 9 or 12 digit division code`, field, 'INVALID_DIVISION_CODE')
  return code.slice(0, PREFIX_LENGTH[level])
}

/** A caller's geometry whose shape has been checked; its topology is checked where SQL uses it (queryGeometrySql). */
export interface QueryGeometry {
  geojson: string
  /** The argument it came from, named in errors. */
  field: string
}

/**
 * Checks a query geometry's shape in linear time (types, ranges, at most maxVertices positions)
 * and returns it for queryGeometrySql; BAD_USER_INPUT (INVALID_GEOMETRY) otherwise.
 */
export function polygonParam(
  geometry: unknown,
  field: string,
  maxVertices: number,
  types: readonly string[] = ['Polygon', 'MultiPolygon'],
): QueryGeometry {
  try {
    validateGeometry(geometry, types, field, undefined, maxVertices)
  } catch (e) {
    if (e instanceof ValidationError) throw badInput(e.message, field, 'INVALID_GEOMETRY')
    throw e
  }
  return { geojson: JSON.stringify(geometry), field }
}

/**
 * SQL for a query geometry as geometry(4326), with its bindings: PostGIS checks its validity in
 * the statement itself (migration 20261202110000) and an invalid one fails the statement with
 * SQLSTATE CFDG1, reported as BAD_USER_INPUT (INVALID_GEOMETRY) naming the argument.
 */
export function queryGeometrySql(g: QueryGeometry): [string, string[]] {
  return ['checked_query_geometry(?, ?)', [g.geojson, g.field]]
}

/** Checks a point; BAD_USER_INPUT (INVALID_GEOMETRY) when longitude/latitude are out of range. */
export function checkLonLat(lon: number, lat: number, field: string): void {
  if (!Number.isFinite(lon) || lon < -180 || lon > 180)
    throw badInput(`${field}: longitude must be in [-180, 180]`, field, 'INVALID_GEOMETRY')
  if (!Number.isFinite(lat) || lat < -90 || lat > 90)
    throw badInput(`${field}: latitude must be in [-90, 90]`, field, 'INVALID_GEOMETRY')
}

/** Checks a near filter (point in range, 0 < meters ≤ 100 km). */
export function checkNear(near: NearInput, field: string): void {
  checkLonLat(near.lon, near.lat, field)
  if (!(near.meters > 0) || near.meters > MAX_NEAR_METERS)
    throw badInput(`${field}.meters must be greater than 0 and at most ${MAX_NEAR_METERS}`, field, 'INVALID_GEOMETRY')
}

/** Checks [minLon, minLat, maxLon, maxLat]; BAD_USER_INPUT (INVALID_GEOMETRY) when malformed or min > max. */
export function checkBbox(bbox: number[], field: string): [number, number, number, number] {
  if (bbox.length !== 4 || bbox.some((v) => !Number.isFinite(v)))
    throw badInput(`${field} must be [minLon, minLat, maxLon, maxLat]`, field, 'INVALID_GEOMETRY')
  const [a, b, c, d] = bbox
  checkLonLat(a, b, field)
  checkLonLat(c, d, field)
  if (a > c || b > d) throw badInput(`${field}: min must not exceed max`, field, 'INVALID_GEOMETRY')
  return [a, b, c, d]
}

/** WHERE fragment: `column` (a geometry(…,4326)) inside the polygon. */
export function whereWithin(q: Knex.QueryBuilder, column: string, g: QueryGeometry): void {
  const [sql, bindings] = queryGeometrySql(g)
  q.whereRaw(`ST_Within(??, ${sql})`, [column, ...bindings])
}

/** WHERE fragment: `column` intersects the geometry. */
export function whereIntersects(q: Knex.QueryBuilder, column: string, g: QueryGeometry): void {
  const [sql, bindings] = queryGeometrySql(g)
  q.whereRaw(`ST_Intersects(??, ${sql})`, [column, ...bindings])
}

/** WHERE fragment: `column` within `meters` of the point, on the spheroid (geography), index-assisted. */
export function whereNear(q: Knex.QueryBuilder, column: string, near: NearInput): void {
  q.whereRaw(`ST_DWithin(??::geography, ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography, ?)`, [
    column,
    near.lon,
    near.lat,
    near.meters,
  ])
}

/** WHERE fragment: `column` intersects the bbox. */
export function whereBbox(q: Knex.QueryBuilder, column: string, bbox: [number, number, number, number]): void {
  q.whereRaw(`?? && ST_MakeEnvelope(?, ?, ?, ?, 4326)`, [column, ...bbox])
}
