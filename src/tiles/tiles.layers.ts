import { OGC_COLLECTIONS, type OgcCollection, visibleProperties } from '../ogc/ogc.collections.js'

/**
 * One vector-tile layer: an OGC collection (same table, same public properties) plus the zoom range
 * it is drawn at and how many features one tile may carry. Below minZoom a tile is empty (204):
 * a million address points at z8 are noise, not a map.
 */
export interface TileLayer {
  id: string
  collection: OgcCollection
  minZoom: number
  maxZoom: number
  /** Most features in one tile (ordered by id, so the same tile always carries the same ones). */
  maxFeatures: number
  /** Polygons are simplified to about half a tile pixel before clipping; points are not. */
  simplify: boolean
}

const collection = (id: string): OgcCollection => {
  const c = OGC_COLLECTIONS.find((x) => x.id === id)
  if (!c) throw new Error(`no OGC collection ${id}`)
  return c
}

export const TILE_LAYERS: TileLayer[] = [
  {
    id: 'admin-divisions',
    collection: collection('admin-divisions'),
    minZoom: 0,
    maxZoom: 22,
    maxFeatures: 2_000,
    simplify: true,
  },
  // Parcels from z13 and buildings from z14: in the benchmark city (53,400 parcels, 250,000
  // buildings) a z12 parcel tile held ~3,400 parcels and 264 KB (p99 97 ms) and a z13 building tile
  // ~4,000 buildings and 342 KB (p99 81 ms); one zoom later a quarter of that (bench/RESULTS.md "GIS").
  { id: 'parcels', collection: collection('parcels'), minZoom: 13, maxZoom: 22, maxFeatures: 20_000, simplify: true },
  {
    id: 'buildings',
    collection: collection('buildings'),
    minZoom: 14,
    maxZoom: 22,
    maxFeatures: 20_000,
    simplify: true,
  },
  {
    id: 'addresses',
    collection: collection('addresses'),
    // From z15: at z14 a city tile held ~3,300 points and ~300 KB at 1,000,000 addresses (p99 1.2 s
    // on a loaded host, bench/RESULTS.md "GIS"); at z15 a quarter of that.
    minZoom: 15,
    maxZoom: 22,
    maxFeatures: 20_000,
    simplify: false,
  },
]

/** Highest zoom served (tiles are 4096 units wide, so z22 is already sub-millimetre). */
export const MAX_TILE_ZOOM = 22

export function tileLayer(id: string): TileLayer | undefined {
  return TILE_LAYERS.find((l) => l.id === id)
}

/** The tile attributes of a layer: exactly the collection's public (OGC) properties. */
export function tileProperties(layer: TileLayer): string[] {
  return visibleProperties(null, layer.collection)
}
