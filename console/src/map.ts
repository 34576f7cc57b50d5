import * as maplibregl from 'maplibre-gl'
import 'maplibre-gl/dist/maplibre-gl.css'
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url'
import { ApiError, session } from './api.js'

// MapLibre with no tiles from outside: a plain background, district boundaries as the base layer
// from the service's own vector tiles (/tiles/admin-divisions, described by its TileJSON), and the
// entity's geometry on top. No labels, so no glyph or sprite files are needed.
maplibregl.setWorkerUrl(workerUrl)

type Geo = GeoJSON.FeatureCollection | GeoJSON.Feature

interface TileJson {
  tiles: string[]
  minzoom: number
  maxzoom: number
  bounds: [number, number, number, number]
}

let divisions: Promise<TileJson> | undefined
/** The divisions layer's TileJSON (tile URL, zoom range, bounds of the data), fetched once per page. */
function divisionTiles(): Promise<TileJson> {
  divisions ??= fetch('/tiles/admin-divisions.json', {
    headers: session.key() ? { authorization: `Bearer ${session.key()}` } : {},
  })
    .catch(() => {
      throw new ApiError([], true)
    })
    .then((res) => {
      if (!res.ok)
        throw new ApiError([{ message: `HTTP ${res.status}`, extensions: { code: 'INTERNAL_SERVER_ERROR' } }])
      return res.json() as Promise<TileJson>
    })
  divisions.catch(() => {
    divisions = undefined
  })
  return divisions
}

function extend(bounds: maplibregl.LngLatBounds, g: GeoJSON.Geometry): void {
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') bounds.extend([c[0] as number, c[1] as number])
    else if (Array.isArray(c)) c.forEach(walk)
  }
  if (g.type === 'GeometryCollection') g.geometries.forEach((x) => extend(bounds, x))
  else walk((g as { coordinates: unknown }).coordinates)
}

/** Draws a map into `el`: districts, plus `overlay` (an entity's geometry) zoomed to; returns the map. */
export async function drawMap(el: HTMLElement, overlay?: Geo | null): Promise<maplibregl.Map> {
  const tiles = await divisionTiles()
  const map = new maplibregl.Map({
    container: el,
    style: {
      version: 8,
      sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } }],
    },
    center: [120.15, 30.28],
    zoom: 8,
    attributionControl: false,
    // Lets the end-to-end test read the canvas pixels back.
    canvasContextAttributes: { preserveDrawingBuffer: true },
    // The tiles are the service's own: they go with the caller's key like every other request.
    transformRequest: (url) =>
      url.startsWith(`${location.origin}/tiles/`) && session.key()
        ? { url, headers: { authorization: `Bearer ${session.key()}` } }
        : { url },
  })
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }))
  await new Promise<void>((resolve) => map.on('load', () => resolve()))
  map.addSource('divisions', {
    type: 'vector',
    tiles: tiles.tiles,
    minzoom: tiles.minzoom,
    maxzoom: tiles.maxzoom,
    bounds: tiles.bounds,
  })
  const districts: maplibregl.FilterSpecification = ['==', ['get', 'level'], 'DISTRICT']
  map.addLayer({
    id: 'districts-fill',
    type: 'fill',
    source: 'divisions',
    'source-layer': 'admin-divisions',
    filter: districts,
    paint: { 'fill-color': '#cfe3d4', 'fill-opacity': 0.6 },
  })
  map.addLayer({
    id: 'districts-line',
    type: 'line',
    source: 'divisions',
    'source-layer': 'admin-divisions',
    filter: districts,
    paint: { 'line-color': '#4a7a5a', 'line-width': 1.2 },
  })
  const [x0, y0, x1, y1] = tiles.bounds
  const bounds = new maplibregl.LngLatBounds([x0, y0], [x1, y1])
  if (overlay) {
    map.addSource('entity', { type: 'geojson', data: overlay })
    map.addLayer({
      id: 'entity-fill',
      type: 'fill',
      source: 'entity',
      filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': '#d9534f', 'fill-opacity': 0.35 },
    })
    map.addLayer({
      id: 'entity-line',
      type: 'line',
      source: 'entity',
      filter: ['!=', ['geometry-type'], 'Point'],
      paint: { 'line-color': '#b52b27', 'line-width': 2 },
    })
    map.addLayer({
      id: 'entity-point',
      type: 'circle',
      source: 'entity',
      filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 7, 'circle-color': '#d9534f', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 },
    })
    const own = new maplibregl.LngLatBounds()
    const features = overlay.type === 'FeatureCollection' ? overlay.features : [overlay]
    for (const f of features) if (f.geometry) extend(own, f.geometry)
    if (!own.isEmpty()) {
      map.fitBounds(own, { padding: 60, maxZoom: 15, duration: 0 })
      return map
    }
  }
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 20, duration: 0 })
  return map
}
