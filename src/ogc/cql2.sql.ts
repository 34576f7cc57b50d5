import type { Knex } from 'knex'
import { type Cql, CqlError, type GeoJsonGeometry, type Operand } from './cql2.js'
import type { OgcCollection } from './ogc.collections.js'
import type { OgcCrs } from './ogc.crs.js'

// A CQL2 AST → one parameterised SQL condition. Property names are looked up in the caller's
// queryables (the collection's visible properties plus `geometry`) and become quoted identifiers
// of known columns; every value and geometry is a binding. Nothing of the filter text is ever
// spliced into SQL.

/** The name of the geometry queryable (what GDAL and the spec examples call it). */
export const GEOMETRY_QUERYABLE = 'geometry'

export interface CompiledFilter {
  where: Knex.Raw
  /** Geometry literals as bound (GeoJSON text, SRID), to be checked for validity before the query runs. */
  geometries: { geojson: string; srid: number; at: string }[]
}

type Typed = { sql: string; bindings: unknown[]; type: 'string' | 'number' | 'boolean' | 'geometry' | 'any' }

/** Swaps lon/lat in every position (a latitude-first CRS's coordinates → x/y). */
function swapAxes(c: unknown): unknown {
  if (Array.isArray(c) && typeof c[0] === 'number') return [c[1], c[0], ...c.slice(2)]
  return Array.isArray(c) ? c.map(swapAxes) : c
}

function checkPositions(c: unknown, at: string): void {
  if (Array.isArray(c) && typeof c[0] === 'number') {
    if (c.length < 2 || c.length > 3 || !c.every((n) => typeof n === 'number' && Number.isFinite(n)))
      throw new CqlError('a position must be 2 or 3 numbers', at)
    return
  }
  if (!Array.isArray(c) || !c.length) throw new CqlError('malformed geometry coordinates', at)
  for (const x of c) checkPositions(x, at)
}

/**
 * Compiles a filter for a collection; `properties` are the caller's visible properties (the
 * queryables), `crs` the filter-crs. Throws CqlError for unknown properties, type mismatches and
 * malformed geometries.
 */
export function compileFilter(
  knex: Knex,
  cql: Cql,
  c: OgcCollection,
  properties: string[],
  crs: OgcCrs,
): CompiledFilter {
  const geometries: CompiledFilter['geometries'] = []
  const visible = new Set(properties)

  const geometryLiteral = (g: GeoJsonGeometry, at: string): Typed => {
    checkPositions(g.coordinates, at)
    const coordinates = crs.latLon ? swapAxes(g.coordinates) : g.coordinates
    const geojson = JSON.stringify({ type: g.type, coordinates })
    geometries.push({ geojson, srid: crs.srid, at })
    return {
      sql: 'ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(?::text), ?::int), 4326)',
      bindings: [geojson, crs.srid],
      type: 'geometry',
    }
  }

  const operand = (o: Operand): Typed => {
    if (o.kind === 'literal')
      return { sql: '?', bindings: [o.value], type: typeof o.value as 'string' | 'number' | 'boolean' }
    if (o.kind === 'geometry') return geometryLiteral(o.geometry, o.at)
    if (o.name === GEOMETRY_QUERYABLE) return { sql: '??', bindings: [c.geometryColumn], type: 'geometry' }
    const p = c.properties[o.name]
    if (!p || !visible.has(o.name))
      throw new CqlError(
        `"${o.name}" is not a queryable of ${c.id}; queryables are ${[GEOMETRY_QUERYABLE, ...properties].join(', ')}`,
        o.at,
      )
    return { sql: '??', bindings: [p.column], type: p.type === 'string' ? 'string' : 'number' }
  }

  const scalar = (o: Operand, what: string): Typed => {
    const t = operand(o)
    if (t.type === 'geometry') throw new CqlError(`${what} needs a value, not a geometry`, o.at)
    return t
  }

  const sameType = (a: Typed, b: Typed, o: Operand) => {
    if (a.type !== b.type && a.type !== 'any' && b.type !== 'any')
      throw new CqlError(`cannot compare a ${a.type} with a ${b.type}`, o.at)
  }

  const spatialOperand = (o: Operand): Typed => {
    const t = operand(o)
    if (t.type !== 'geometry')
      throw new CqlError('a spatial function needs geometries (a WKT literal or geometry)', o.at)
    return t
  }

  const walk = (e: Cql): { sql: string; bindings: unknown[] } => {
    switch (e.op) {
      case 'and':
      case 'or': {
        const parts = e.args.map(walk)
        return {
          sql: `(${parts.map((p) => p.sql).join(e.op === 'and' ? ' AND ' : ' OR ')})`,
          bindings: parts.flatMap((p) => p.bindings),
        }
      }
      case 'not': {
        const p = walk(e.arg)
        // NOT of a comparison with NULL is NULL in SQL; coalesce keeps CQL2's two-valued NOT.
        return { sql: `(NOT coalesce(${p.sql}, false))`, bindings: p.bindings }
      }
      case '=':
      case '<>':
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const l = scalar(e.left, e.op)
        const r = scalar(e.right, e.op)
        sameType(l, r, e.right)
        return { sql: `(${l.sql} ${e.op} ${r.sql})`, bindings: [...l.bindings, ...r.bindings] }
      }
      case 'like': {
        const l = scalar(e.left, 'LIKE')
        const p = scalar(e.pattern, 'LIKE')
        if (l.type !== 'string' || p.type !== 'string')
          throw new CqlError('LIKE compares a text property with a text pattern', e.pattern.at)
        return { sql: `(${l.sql} LIKE ${p.sql})`, bindings: [...l.bindings, ...p.bindings] }
      }
      case 'in': {
        const l = scalar(e.left, 'IN')
        const items = e.list.map((o) => {
          const t = scalar(o, 'IN')
          sameType(l, t, o)
          return t
        })
        return {
          sql: `(${l.sql} IN (${items.map((t) => t.sql).join(', ')}))`,
          bindings: [...l.bindings, ...items.flatMap((t) => t.bindings)],
        }
      }
      case 'between': {
        const v = scalar(e.value, 'BETWEEN')
        const lo = scalar(e.low, 'BETWEEN')
        const hi = scalar(e.high, 'BETWEEN')
        sameType(v, lo, e.low)
        sameType(v, hi, e.high)
        return {
          sql: `(${v.sql} BETWEEN ${lo.sql} AND ${hi.sql})`,
          bindings: [...v.bindings, ...lo.bindings, ...hi.bindings],
        }
      }
      case 'isNull': {
        const v = scalar(e.arg, 'IS NULL')
        return { sql: `(${v.sql} IS NULL)`, bindings: v.bindings }
      }
      case 's_intersects':
      case 's_within':
      case 's_contains': {
        const l = spatialOperand(e.left)
        const r = spatialOperand(e.right)
        const fn = { s_intersects: 'ST_Intersects', s_within: 'ST_Within', s_contains: 'ST_Contains' }[e.op]
        return { sql: `${fn}(${l.sql}, ${r.sql})`, bindings: [...l.bindings, ...r.bindings] }
      }
      case 's_dwithin': {
        const l = spatialOperand(e.left)
        const r = spatialOperand(e.right)
        const d = e.distance
        if (d.kind !== 'literal' || typeof d.value !== 'number' || d.value < 0)
          throw new CqlError('S_DWITHIN needs a distance in metres (a number ≥ 0)', d.at)
        // Metres on the spheroid; `::geography` of the column matches the addresses' geography index.
        return {
          sql: `ST_DWithin((${l.sql})::geography, (${r.sql})::geography, ?)`,
          bindings: [...l.bindings, ...r.bindings, d.value],
        }
      }
    }
  }

  const { sql, bindings } = walk(cql)
  return { where: knex.raw(sql, bindings as Knex.RawBinding[]), geometries }
}

/** CQL2 conformance classes this implementation meets (listed on /ogc/conformance). */
export const CQL2_CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter',
  'http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2',
  'http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions',
  'http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-text',
  'http://www.opengis.net/spec/cql2/1.0/conf/cql2-json',
]
