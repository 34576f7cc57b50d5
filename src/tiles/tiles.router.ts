import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import express, { type Request, type Response } from 'express'
import type { Knex } from 'knex'
import { TileCache } from './tiles.cache.js'
import { MAX_TILE_ZOOM, TILE_LAYERS, type TileLayer, tileLayer, tileProperties } from './tiles.layers.js'
import { dataVersion, layerBounds, renderTile, supportsAsMvt } from './tiles.store.js'

// Mapbox Vector Tiles made by PostGIS (ST_AsMVT) for the public spatial layers, and a TileJSON
// 3.0 document per layer, for MapLibre, QGIS ("Vector Tiles" connection) and GDAL's MVT driver.

export const MVT = 'application/vnd.mapbox-vector-tile'
/** Browsers and tile caches may keep a tile this long; the ETag makes revalidation cheap after. */
const CACHE_CONTROL = 'public, max-age=60'

export interface TilesRouterOptions {
  /** Tiles kept in memory (0 disables the cache). */
  cacheTiles?: number
  /** Highest zoom whose tiles are cached (low zooms are few and asked for by every view). */
  cacheMaxZoom?: number
  log?: { error(obj: object, msg: string): void }
}

class TileRequestError extends Error {
  constructor(
    readonly reason: string,
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}

function layerOf(id: string): TileLayer {
  const layer = tileLayer(id)
  if (!layer)
    throw new TileRequestError(
      'UNKNOWN_LAYER',
      'layer',
      `No tile layer "${id}"; layers are ${TILE_LAYERS.map((l) => l.id).join(', ')}`,
    )
  return layer
}

/** z/x/y of the XYZ grid (y down from the north, as MapLibre and QGIS ask); 400 outside it. */
export function parseTileAddress(zRaw: string, xRaw: string, yRaw: string): { z: number; x: number; y: number } {
  const whole = (raw: string, field: string) => {
    if (!/^\d{1,8}$/.test(raw))
      throw new TileRequestError('INVALID_VALUE', field, `${field} must be a whole number ≥ 0`)
    return Number(raw)
  }
  const z = whole(zRaw, 'z')
  if (z > MAX_TILE_ZOOM)
    throw new TileRequestError('OUT_OF_RANGE', 'z', `z must be between 0 and ${MAX_TILE_ZOOM}, got ${z}`)
  const x = whole(xRaw, 'x')
  const y = whole(yRaw, 'y')
  const n = 2 ** z
  if (x >= n) throw new TileRequestError('OUT_OF_RANGE', 'x', `x must be below 2^z = ${n} at zoom ${z}, got ${x}`)
  if (y >= n) throw new TileRequestError('OUT_OF_RANGE', 'y', `y must be below 2^z = ${n} at zoom ${z}, got ${y}`)
  return { z, x, y }
}

/**
 * The router, and its tile handler for a plain node request whose path the server's front
 * dispatcher has already matched (GET /tiles/{layer}/{z}/{x}/{y}.mvt, no query string), after the gate.
 */
export type TilesRouter = express.Router & {
  fastTile(req: IncomingMessage, res: ServerResponse, layer: string, z: string, x: string, file: string): Promise<void>
}

const etagOf = (mvt: Buffer) => `"${createHash('sha1').update(mvt).digest('base64url')}"`

/**
 * `GET /tiles/{layer}/{z}/{x}/{y}.mvt` and `GET /tiles/{layer}.json`. Empty tiles (nothing there,
 * or below the layer's minimum zoom) → 204; bad addresses and unknown layers → 400 JSON
 * `{error: {code: BAD_USER_INPUT, reason, field, message}}`; If-None-Match → 304.
 */
export function tilesRouter(knex: Knex, options: TilesRouterOptions = {}): TilesRouter {
  const router = express.Router() as TilesRouter
  const cache = new TileCache(options.cacheTiles ?? 2_000, options.cacheMaxZoom ?? 13)
  let asMvt: Promise<boolean> | null = null

  const handle = (fn: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    // Public data: any web map may draw it.
    res.set('Access-Control-Allow-Origin', '*')
    try {
      await fn(req, res)
    } catch (e) {
      if (e instanceof TileRequestError)
        res
          .status(400)
          .json({ error: { code: 'BAD_USER_INPUT', reason: e.reason, field: e.field, message: e.message } })
      else {
        options.log?.error({ err: e }, 'tile request failed')
        res.status(500).json({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal error' } })
      }
    }
  }

  const tile = async (layer: TileLayer, z: number, x: number, y: number): Promise<{ mvt: Buffer; etag: string }> => {
    if (z < layer.minZoom) return { mvt: Buffer.alloc(0), etag: '"empty"' }
    const key = `${layer.id}/${z}/${x}/${y}`
    let version: number | null = null
    if (cache.holds(z)) {
      version = await dataVersion(knex)
      cache.observe(version)
      const hit = cache.get(key)
      if (hit) return hit
    }
    asMvt ??= supportsAsMvt(knex).catch((e) => {
      asMvt = null
      throw e
    })
    const { mvt } = await renderTile(knex, layer, tileProperties(layer), z, x, y, await asMvt)
    const rendered = { mvt, etag: mvt.length ? etagOf(mvt) : '"empty"' }
    if (version !== null) cache.set(key, version, rendered)
    return rendered
  }

  /**
   * One tile on a plain node response: 200 with the MVT, 204 empty, 304 for a matching
   * If-None-Match, 400 JSON for a bad address or layer, 500 JSON (logged) for anything else.
   */
  const sendTile = async (
    req: IncomingMessage,
    res: ServerResponse,
    layerId: string,
    zRaw: string,
    xRaw: string,
    file: string,
  ): Promise<void> => {
    // Public data: any web map may draw it.
    res.setHeader('Access-Control-Allow-Origin', '*')
    const json = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body))
    }
    try {
      const layer = layerOf(layerId)
      if (!file.endsWith('.mvt'))
        throw new TileRequestError('INVALID_VALUE', 'y', 'Tiles are /tiles/{layer}/{z}/{x}/{y}.mvt')
      const { z, x, y } = parseTileAddress(zRaw, xRaw, file.slice(0, -4))
      const { mvt, etag } = await tile(layer, z, x, y)
      res.setHeader('ETag', etag)
      res.setHeader('Cache-Control', CACHE_CONTROL)
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304).end()
        return
      }
      if (!mvt.length) {
        res.writeHead(204).end()
        return
      }
      res.writeHead(200, { 'content-type': MVT, 'content-length': mvt.length }).end(mvt)
    } catch (e) {
      if (e instanceof TileRequestError)
        json(400, { error: { code: 'BAD_USER_INPUT', reason: e.reason, field: e.field, message: e.message } })
      else {
        options.log?.error({ err: e }, 'tile request failed')
        json(500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal error' } })
      }
    }
  }

  router.get('/:layer/:z/:x/:file', (req: Request, res: Response) =>
    sendTile(req, res, String(req.params.layer), String(req.params.z), String(req.params.x), String(req.params.file)),
  )

  router.get(
    '/:file',
    handle(async (req, res) => {
      const file = String(req.params.file)
      if (!file.endsWith('.json'))
        throw new TileRequestError('INVALID_VALUE', 'layer', 'TileJSON documents are /tiles/{layer}.json')
      const layer = layerOf(file.slice(0, -5))
      const base = `${req.protocol}://${req.get('host')}${req.baseUrl}`
      const bounds = (await layerBounds(knex, layer)) ?? [-180, -85.0511, 180, 85.0511]
      const c = layer.collection
      res.set('Cache-Control', CACHE_CONTROL)
      res.json({
        tilejson: '3.0.0',
        name: c.title,
        description: c.description,
        scheme: 'xyz',
        tiles: [`${base}/${layer.id}/{z}/{x}/{y}.mvt`],
        minzoom: layer.minZoom,
        maxzoom: layer.maxZoom,
        bounds,
        center: [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, Math.max(layer.minZoom, 10)],
        vector_layers: [
          {
            id: layer.id,
            description: c.description,
            minzoom: layer.minZoom,
            maxzoom: layer.maxZoom,
            fields: Object.fromEntries(
              ['id', ...tileProperties(layer)].map((p) => [
                p,
                p === 'id' || c.properties[p]?.type === 'string' ? 'String' : 'Number',
              ]),
            ),
          },
        ],
      })
    }),
  )

  router.use(
    handle(async () => {
      throw new TileRequestError(
        'INVALID_VALUE',
        'path',
        'Tiles are /tiles/{layer}/{z}/{x}/{y}.mvt and /tiles/{layer}.json',
      )
    }),
  )
  router.fastTile = sendTile
  return router
}
