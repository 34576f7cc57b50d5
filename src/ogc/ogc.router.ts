import express, { type Request, type Response } from 'express'
import type { Knex } from 'knex'
import { UUID } from '../shared/ids.js'
import { OGC_COLLECTIONS, visibleProperties, type OgcCollection } from './ogc.collections.js'
import { openApiDocument } from './ogc.openapi.js'
import { CqlError, parseCql2Json, parseCql2Text } from './cql2.js'
import { CQL2_CONFORMANCE, compileFilter, GEOMETRY_QUERYABLE } from './cql2.sql.js'
import { collectionHtml, collectionsHtml, itemHtml, itemsHtml, landingHtml, wantsHtml } from './ogc.html.js'
import { CRS84, crsByName, type OgcCrs, STORAGE_CRS, SUPPORTED_CRS } from './ogc.crs.js'
import {
  collectionExtent,
  type CrsBbox,
  featureById,
  featurePage,
  type FeatureRow,
  geometryProblem,
} from './ogc.store.js'

// OGC API – Features, Part 1: Core (http://www.opengis.net/doc/IS/ogcapi-features-1/1.0), read by
// QGIS and GDAL's OAPIF driver. Every request is anonymous for now; the caller's visible
// properties come from visibleProperties() so the access layer can enforce sharing here later.

export const CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
  'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs',
  ...CQL2_CONFORMANCE,
]
export const FILTER_LANGS = ['cql2-text', 'cql2-json', 'cql-text']
/** A GIS-sized page: ogr2ogr of a whole collection takes few round trips (CONTRACT.md §6 allows 10,000). */
export const DEFAULT_LIMIT = 1_000
export const MAX_LIMIT = 10_000
const GEOJSON = 'application/geo+json'
const OPENAPI = 'application/openapi+json;version=3.0'

class OgcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
  ) {
    super(description)
  }
}
const badParameter = (description: string) => new OgcError(400, 'InvalidParameterValue', description)
const notFound = (description: string) => new OgcError(404, 'NotFound', description)

/** Whether the caller gets HTML (f=html or a browser); 400 for an unknown f. */
function html(req: Request): boolean {
  const h = wantsHtml(req)
  if (h === 'bad') throw badParameter('f must be html or json')
  return h
}

function baseUrl(req: Request): string {
  return `${req.protocol}://${req.get('host')}${req.baseUrl}`
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw badParameter(`${name} must be given once`)
  return value
}

/** The CRS named by a `crs` / `bbox-crs` parameter; CRS84 when absent; 400 naming an unsupported one. */
export function parseCrs(raw: string | undefined, name: string): OgcCrs {
  if (raw === undefined) return STORAGE_CRS
  const crs = crsByName(raw)
  if (!crs)
    throw badParameter(`${name} "${raw}" is not supported; supported: ${SUPPORTED_CRS.map((c) => c.uri).join(', ')}`)
  return crs
}

/**
 * bbox=a,b,c,d (or the 6-number 3D form) in the axis order of `crs` (CRS84: minLon,minLat,maxLon,
 * maxLat; EPSG:4490: minLat,minLon,maxLat,maxLon; EPSG:3857: metres), returned in x/y order with
 * the CRS's SRID; 400 when malformed or outside the CRS's range.
 */
export function parseBbox(raw: string | undefined, crs: OgcCrs = STORAGE_CRS): CrsBbox | null {
  if (raw === undefined) return null
  const v = raw.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)))
  if ((v.length !== 4 && v.length !== 6) || v.some((n) => !Number.isFinite(n)))
    throw badParameter('bbox must be 4 (or 6) comma-separated numbers: lower corner, then upper corner')
  const [a0, b0, a1, b1] = v.length === 4 ? v : [v[0], v[1], v[3], v[4]]
  const [[amin, amax], [bmin, bmax]] = crs.range
  if (a0 < amin || a1 > amax || b0 < bmin || b1 > bmax)
    throw badParameter(
      crs === STORAGE_CRS
        ? 'bbox longitudes must be in [-180, 180] and latitudes in [-90, 90]'
        : `bbox values must be in [${amin}, ${amax}] and [${bmin}, ${bmax}] for ${crs.uri}`,
    )
  if (a0 > a1 || b0 > b1) throw badParameter('bbox minimum must not exceed its maximum')
  return { box: crs.latLon ? [b0, a0, b1, a1] : [a0, b0, a1, b1], srid: crs.srid }
}

function parseCount(raw: string | undefined, name: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw.trim())) throw badParameter(`${name} must be a whole number`)
  const n = Number(raw)
  if (n < min) throw badParameter(`${name} must be at least ${min}`)
  // Beyond 2^53 the number is no longer exact (and 2^63 overflows the database's bigint).
  if (n > Number.MAX_SAFE_INTEGER) throw badParameter(`${name} must be at most ${Number.MAX_SAFE_INTEGER}`)
  return n
}

function collectionOf(id: string): OgcCollection {
  const c = OGC_COLLECTIONS.find((x) => x.id === id)
  if (!c) throw notFound(`no collection "${id}"`)
  return c
}

function toFeature(row: FeatureRow, properties: string[]) {
  return {
    type: 'Feature',
    id: row.id,
    geometry: row.geometry,
    properties: Object.fromEntries(properties.map((p) => [p, row[p] ?? null])),
  }
}

/** The collection's queryables as JSON Schema (OGC API – Features Part 3): its visible properties and `geometry`. */
function queryables(id: string, c: OgcCollection) {
  const format = { Point: 'geometry-point', Polygon: 'geometry-polygon', MultiPolygon: 'geometry-multipolygon' }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: id,
    type: 'object',
    title: c.title,
    properties: {
      [GEOMETRY_QUERYABLE]: { format: format[c.geometryType], 'x-ogc-role': 'primary-geometry' },
      ...Object.fromEntries(visibleProperties(null, c).map((p) => [p, { type: c.properties[p].type, title: p }])),
    },
    additionalProperties: false,
    // The draft's list form, read by GDAL before 3.7 to decide which filters to send to the server.
    queryables: visibleProperties(null, c).map((p) => ({ id: p, type: c.properties[p].type })),
  }
}

/** The OGC API – Features routes; mount with app.use('/ogc', ogcRouter(knex, log)). Unexpected errors are logged and answered 500 with no detail. */
export function ogcRouter(knex: Knex, log?: { error(obj: object, msg: string): void }): express.Router {
  const router = express.Router()
  const send = (res: Response, type: string, body: unknown) => {
    res.type(type).send(JSON.stringify(body))
  }
  const route = (path: string, handler: (req: Request, res: Response) => Promise<void>) => {
    router.get(path, async (req, res) => {
      try {
        await handler(req, res)
      } catch (e) {
        if (e instanceof OgcError)
          send(res.status(e.status), 'application/json', { code: e.code, description: e.message })
        else {
          log?.error({ err: e }, 'OGC request failed')
          send(res.status(500), 'application/json', {
            code: 'InternalServerError',
            description: 'Internal error',
          })
        }
      }
    })
  }

  /** The filter as one SQL condition; 400 naming the position for malformed text, unknown properties or invalid geometries. */
  const filterCondition = async (
    c: OgcCollection,
    properties: string[],
    raw: string,
    lang: string | undefined,
    crsRaw: string | undefined,
  ) => {
    // `cql-text` is the draft's name, still sent by GDAL before 3.7 (its filters are CQL2 text too).
    if (lang !== undefined && !FILTER_LANGS.includes(lang))
      throw badParameter(`filter-lang "${lang}" is not supported; use cql2-text or cql2-json`)
    const crs = parseCrs(crsRaw, 'filter-crs')
    try {
      const ast = lang === 'cql2-json' ? parseCql2Json(raw) : parseCql2Text(raw)
      const compiled = compileFilter(knex, ast, c, properties, crs)
      for (const g of compiled.geometries) {
        const problem = await geometryProblem(knex, g.geojson, g.srid)
        if (problem) throw new CqlError(`the geometry is not valid: ${problem}`, g.at)
      }
      return { where: compiled.where }
    } catch (e) {
      if (e instanceof CqlError) throw badParameter(`filter: ${e.message}`)
      throw e
    }
  }

  const describe = async (base: string, c: OgcCollection) => {
    const bbox = await collectionExtent(knex, c)
    return {
      id: c.id,
      title: c.title,
      description: c.description,
      itemType: 'feature',
      crs: SUPPORTED_CRS.map((x) => x.uri),
      storageCrs: STORAGE_CRS.uri,
      extent: { spatial: { bbox: [bbox ?? [-180, -90, 180, 90]], crs: CRS84 } },
      links: [
        { href: `${base}/collections/${c.id}`, rel: 'self', type: 'application/json', title: c.title },
        {
          href: `${base}/collections/${c.id}/queryables`,
          rel: 'http://www.opengis.net/def/rel/ogc/1.0/queryables',
          type: 'application/schema+json',
          title: 'Queryables (JSON Schema)',
        },
        // The draft's relation name, which GDAL before 3.7 looks for.
        {
          href: `${base}/collections/${c.id}/queryables`,
          rel: 'queryables',
          type: 'application/json',
          title: 'Queryables',
        },
        {
          href: `${base}/collections/${c.id}/items`,
          rel: 'items',
          type: GEOJSON,
          title: `${c.title} (GeoJSON)`,
        },
      ],
    }
  }

  route('/', async (req, res) => {
    const base = baseUrl(req)
    const doc = {
      title: 'City foundational data',
      description: 'Administrative divisions, addresses, buildings and parcels (OGC API – Features).',
      links: [
        { href: `${base}/`, rel: 'self', type: 'application/json', title: 'This document' },
        {
          href: `${base}/api`,
          rel: 'service-desc',
          type: OPENAPI,
          title: 'The API definition (OpenAPI 3.0)',
        },
        {
          href: `${base}/conformance`,
          rel: 'conformance',
          type: 'application/json',
          title: 'Conformance classes',
        },
        { href: `${base}/collections`, rel: 'data', type: 'application/json', title: 'Feature collections' },
      ],
    }
    if (html(req)) res.type('html').send(landingHtml(doc, `${req.protocol}://${req.get('host')}`))
    else send(res, 'application/json', doc)
  })

  route('/conformance', async (_req, res) => {
    send(res, 'application/json', { conformsTo: CONFORMANCE })
  })

  route('/api', async (req, res) => {
    send(res, OPENAPI, openApiDocument(baseUrl(req)))
  })

  route('/collections', async (req, res) => {
    const base = baseUrl(req)
    const wantHtml = html(req)
    const links = [{ href: `${base}/collections`, rel: 'self', type: 'application/json', title: 'Feature collections' }]
    const collections = await Promise.all(OGC_COLLECTIONS.map((c) => describe(base, c)))
    if (wantHtml) res.type('html').send(collectionsHtml(collections, links))
    else send(res, 'application/json', { links, collections })
  })

  route('/collections/:id', async (req, res) => {
    const wantHtml = html(req)
    const doc = await describe(baseUrl(req), collectionOf(String(req.params.id)))
    if (wantHtml) res.type('html').send(collectionHtml(doc))
    else send(res, 'application/json', doc)
  })

  route('/collections/:id/items', async (req, res) => {
    const c = collectionOf(String(req.params.id))
    const wantHtml = html(req)
    const fRaw = single(req.query.f, 'f')
    const bboxRaw = single(req.query.bbox, 'bbox')
    const crsRaw = single(req.query.crs, 'crs')
    const bboxCrsRaw = single(req.query['bbox-crs'], 'bbox-crs')
    const crs = parseCrs(crsRaw, 'crs')
    const bbox = parseBbox(bboxRaw, parseCrs(bboxCrsRaw, 'bbox-crs'))
    const limit = Math.min(parseCount(single(req.query.limit, 'limit'), 'limit', DEFAULT_LIMIT, 1), MAX_LIMIT)
    const offset = parseCount(single(req.query.offset, 'offset'), 'offset', 0, 0)
    const properties = visibleProperties(null, c)
    const filterRaw = single(req.query.filter, 'filter')
    const filterLang = single(req.query['filter-lang'], 'filter-lang')
    const filterCrsRaw = single(req.query['filter-crs'], 'filter-crs')
    // A Knex.Raw is thenable: it travels in an object so that no await runs it on its own.
    const where =
      filterRaw === undefined ? [] : [(await filterCondition(c, properties, filterRaw, filterLang, filterCrsRaw)).where]
    const { rows, matched } = await featurePage(knex, c, properties, { bbox, crs, where }, limit, offset)
    const base = `${baseUrl(req)}/collections/${c.id}/items`
    const query = (o: number) => {
      const p = new URLSearchParams({ limit: String(limit), offset: String(o) })
      if (bboxRaw !== undefined) p.set('bbox', bboxRaw)
      if (bboxCrsRaw !== undefined) p.set('bbox-crs', bboxCrsRaw)
      if (crsRaw !== undefined) p.set('crs', crsRaw)
      if (filterRaw !== undefined) p.set('filter', filterRaw)
      if (filterLang !== undefined) p.set('filter-lang', filterLang)
      if (filterCrsRaw !== undefined) p.set('filter-crs', filterCrsRaw)
      if (fRaw !== undefined) p.set('f', fRaw)
      return `${base}?${p}`
    }
    const links = [
      { href: query(offset), rel: 'self', type: GEOJSON, title: 'This page' },
      {
        href: `${baseUrl(req)}/collections/${c.id}`,
        rel: 'collection',
        type: 'application/json',
        title: c.title,
      },
    ]
    if (offset + rows.length < matched)
      links.push({ href: query(offset + limit), rel: 'next', type: GEOJSON, title: 'Next page' })
    if (offset > 0)
      links.push({
        href: query(Math.max(0, offset - limit)),
        rel: 'prev',
        type: GEOJSON,
        title: 'Previous page',
      })
    res.set('Content-Crs', `<${crs.uri}>`)
    const body = {
      type: 'FeatureCollection',
      features: rows.map((r) => toFeature(r, properties)),
      numberMatched: matched,
      numberReturned: rows.length,
      timeStamp: new Date().toISOString(),
      links,
    }
    if (wantHtml)
      res.type('html').send(
        itemsHtml(c.title, body as never, properties, (id) => `${base}/${id}?f=html`, {
          latLon: crs.latLon,
          geographic: crs.srid !== 3857,
        }),
      )
    else send(res, GEOJSON, body)
  })

  route('/collections/:id/queryables', async (req, res) => {
    const c = collectionOf(String(req.params.id))
    // GDAL asks for application/json only (and refuses anything else); JSON Schema's own type otherwise.
    const type = req.accepts(['application/schema+json', 'application/json']) || 'application/schema+json'
    send(res, type, queryables(`${baseUrl(req)}/collections/${c.id}/queryables`, c))
  })

  route('/collections/:id/items/:fid', async (req, res) => {
    const c = collectionOf(String(req.params.id))
    const fid = String(req.params.fid)
    const wantHtml = html(req)
    const crs = parseCrs(single(req.query.crs, 'crs'), 'crs')
    const properties = visibleProperties(null, c)
    const row = await featureById(knex, c, properties, UUID.test(fid) ? { id: fid } : { natural: fid }, crs)
    if (!row) throw notFound(`no feature "${fid}" in ${c.id}`)
    const base = baseUrl(req)
    res.set('Content-Crs', `<${crs.uri}>`)
    const feature = {
      ...toFeature(row, properties),
      links: [
        {
          href: `${base}/collections/${c.id}/items/${row.id}`,
          rel: 'self',
          type: GEOJSON,
          title: 'This feature',
        },
        { href: `${base}/collections/${c.id}`, rel: 'collection', type: 'application/json', title: c.title },
      ],
    }
    if (wantHtml)
      res
        .type('html')
        .send(itemHtml(`${c.title}: ${fid}`, feature as never, { latLon: crs.latLon, geographic: crs.srid !== 3857 }))
    else send(res, GEOJSON, feature)
  })

  return router
}
