import type { Request } from 'express'

// HTML views of the OGC API pages for people with a browser (OGC API – Features "html"
// conformance class): the same content as the JSON, readable, with a small map preview drawn as
// inline SVG by the service itself (no script, no CDN, nothing fetched from elsewhere).

/** Whether to answer HTML: `f=html`, or a browser's Accept preferring text/html; `f=json` wins. Undefined `f` values → 'bad'. */
export function wantsHtml(req: Request): boolean | 'bad' {
  const f = req.query.f
  if (f !== undefined) {
    if (f === 'html') return true
    if (f === 'json' || f === 'geojson') return false
    return 'bad'
  }
  return req.accepts(['application/json', 'application/geo+json', 'text/html']) === 'text/html'
}

const esc = (v: unknown) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  )

interface Link {
  href: string
  rel: string
  type?: string
  title?: string
}

/** A link to the same page in JSON (f=json). */
function jsonHref(href: string): string {
  const u = new URL(href)
  u.searchParams.set('f', 'json')
  return u.toString()
}

function page(title: string, body: string, links: Link[] = []): string {
  const self = links.find((l) => l.rel === 'self')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:15px/1.5 system-ui,"Noto Sans CJK SC",sans-serif;margin:2rem auto;max-width:64rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
code,pre{background:#f4f4f4;border-radius:3px;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto}
svg{border:1px solid #ccc;background:#fafafa;max-width:100%}nav a{margin-right:1rem}
</style></head><body>
<nav><a href="${esc(new URL('/ogc/', self?.href ?? 'http://x/').pathname)}">Landing page</a><a href="${esc(new URL('/ogc/collections', self?.href ?? 'http://x/').pathname)}">Collections</a>${self ? `<a href="${esc(jsonHref(self.href))}">JSON</a>` : ''}</nav>
<h1>${esc(title)}</h1>
${body}
</body></html>`
}

const linkList = (links: Link[]) =>
  `<ul>${links.map((l) => `<li><a href="${esc(l.href)}">${esc(l.title ?? l.rel)}</a> <small>(${esc(l.rel)}${l.type ? `, ${esc(l.type)}` : ''})</small></li>`).join('')}</ul>`

/** The landing page: links, and how to add the service and its vector tiles to QGIS and MapLibre. */
export function landingHtml(doc: { title: string; description: string; links: Link[] }, serverRoot: string): string {
  const tiles = `${serverRoot}/tiles`
  return page(
    doc.title,
    `<p>${esc(doc.description)}</p>${linkList(doc.links)}
<h2>In QGIS</h2>
<p><b>Features:</b> Layer → Add Layer → Add WFS / OGC API – Features Layer → New, URL <code>${esc(`${serverRoot}/ogc`)}</code>.</p>
<p><b>Vector tiles:</b> Layer → Add Layer → Add Vector Tile Layer → New → Generic connection, URL
<code>${esc(`${tiles}/admin-divisions/{z}/{x}/{y}.mvt`)}</code>, min zoom 0, max zoom 22 (layers: admin-divisions from z0, parcels from z12, buildings from z13, addresses from z15; TileJSON at <code>${esc(`${tiles}/{layer}.json`)}</code>).</p>
<h2>In MapLibre GL JS</h2>
<pre>${esc(`map.addSource('addresses', { type: 'vector', url: '${tiles}/addresses.json' })
map.addLayer({ id: 'addresses', type: 'circle', source: 'addresses', 'source-layer': 'addresses',
  paint: { 'circle-radius': 3, 'circle-color': '#c33' } })`)}</pre>
<h2>With GDAL</h2>
<pre>${esc(`ogrinfo OAPIF:${serverRoot}/ogc addresses -where "divisionCode = '330106001'"
ogr2ogr -f GPKG parcels.gpkg OAPIF:${serverRoot}/ogc parcels -t_srs EPSG:4490`)}</pre>`,
    doc.links,
  )
}

/** The list of collections. */
export function collectionsHtml(
  collections: { id: string; title: string; description: string; links: Link[] }[],
  links: Link[],
): string {
  return page(
    'Feature collections',
    `<table><tr><th>collection</th><th>description</th><th></th></tr>${collections
      .map((c) => {
        const items = c.links.find((l) => l.rel === 'items')
        const self = c.links.find((l) => l.rel === 'self')
        return `<tr><td><a href="${esc(self?.href)}">${esc(c.title)}</a><br><code>${esc(c.id)}</code></td><td>${esc(c.description)}</td><td><a href="${esc(items?.href)}">features</a></td></tr>`
      })
      .join('')}</table>`,
    links,
  )
}

/** One collection: its description, CRSs, extent and links. */
export function collectionHtml(c: {
  id: string
  title: string
  description: string
  crs: string[]
  storageCrs: string
  extent: { spatial: { bbox: number[][] } }
  links: Link[]
}): string {
  return page(
    c.title,
    `<p>${esc(c.description)}</p>
<table><tr><th>id</th><td><code>${esc(c.id)}</code></td></tr>
<tr><th>extent</th><td>${esc(c.extent.spatial.bbox[0].join(', '))}</td></tr>
<tr><th>CRS</th><td>${c.crs.map((x) => `<code>${esc(x)}</code>`).join('<br>')}</td></tr>
<tr><th>storage CRS</th><td><code>${esc(c.storageCrs)}</code></td></tr></table>
${linkList(c.links)}`,
    c.links,
  )
}

type Geometry = { type: string; coordinates: unknown } | null

/** The rings/lines/points of a GeoJSON geometry as lists of [x, y]. */
function parts(g: Geometry): { kind: 'point' | 'line' | 'area'; coords: number[][] }[] {
  if (!g) return []
  const c = g.coordinates as never
  switch (g.type) {
    case 'Point':
      return [{ kind: 'point', coords: [c] }]
    case 'MultiPoint':
      return (c as number[][]).map((p) => ({ kind: 'point', coords: [p] }))
    case 'LineString':
      return [{ kind: 'line', coords: c }]
    case 'MultiLineString':
      return (c as number[][][]).map((l) => ({ kind: 'line', coords: l }))
    case 'Polygon':
      return (c as number[][][]).map((r) => ({ kind: 'area', coords: r }))
    case 'MultiPolygon':
      return (c as number[][][][]).flat().map((r) => ({ kind: 'area', coords: r }))
    default:
      return []
  }
}

/** A small SVG map of the page's features (x right, y up; `latLon` swaps axis order back). */
export function previewSvg(geometries: Geometry[], latLon: boolean, geographic: boolean): string {
  const all = geometries.flatMap(parts).map((p) => ({
    ...p,
    coords: p.coords.map((xy) => (latLon ? [xy[1], xy[0]] : [xy[0], xy[1]])),
  }))
  const pts = all.flatMap((p) => p.coords)
  if (!pts.length) return '<p>No features on this page.</p>'
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity]
  for (const [x, y] of pts) {
    x0 = Math.min(x0, x)
    y0 = Math.min(y0, y)
    x1 = Math.max(x1, x)
    y1 = Math.max(y1, y)
  }
  // Degrees of longitude shrink with latitude: scale x so the map is not stretched.
  const kx = geographic ? Math.cos((((y0 + y1) / 2) * Math.PI) / 180) : 1
  const w = Math.max((x1 - x0) * kx, 1e-9)
  const h = Math.max(y1 - y0, 1e-9)
  const W = 640
  const H = Math.max(120, Math.min(480, Math.round((W * h) / w)))
  const s = Math.min((W - 20) / w, (H - 20) / h)
  const px = (x: number) => (10 + (x - x0) * kx * s).toFixed(1)
  const py = (y: number) => (H - 10 - (y - y0) * s).toFixed(1)
  const shapes = all
    .map((p) =>
      p.kind === 'point'
        ? `<circle cx="${px(p.coords[0][0])}" cy="${py(p.coords[0][1])}" r="2.5" fill="#c33"/>`
        : `<path d="M${p.coords.map(([x, y]) => `${px(x)} ${py(y)}`).join('L')}${p.kind === 'area' ? 'Z' : ''}" fill="${p.kind === 'area' ? '#36c3' : 'none'}" stroke="#36c" stroke-width="1"/>`,
    )
    .join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="map preview">${shapes}</svg>`
}

/** A page of features: the map preview, a table of properties, and the paging links. */
export function itemsHtml(
  title: string,
  body: {
    features: { id: string; geometry: Geometry; properties: Record<string, unknown> }[]
    numberMatched: number
    numberReturned: number
    links: Link[]
  },
  properties: string[],
  itemHref: (id: string) => string,
  crs: { latLon: boolean; geographic: boolean },
): string {
  const nav = body.links.filter((l) => l.rel === 'next' || l.rel === 'prev')
  return page(
    title,
    `<p>${body.numberReturned} of ${body.numberMatched} features.</p>
${previewSvg(
  body.features.map((f) => f.geometry),
  crs.latLon,
  crs.geographic,
)}
<p>${nav.map((l) => `<a href="${esc(l.href)}">${esc(l.title ?? l.rel)}</a>`).join(' · ')}</p>
<table><tr><th>id</th>${properties.map((p) => `<th>${esc(p)}</th>`).join('')}</tr>${body.features
      .map(
        (f) =>
          `<tr><td><a href="${esc(itemHref(f.id))}">${esc(f.id.slice(0, 8))}…</a></td>${properties.map((p) => `<td>${esc(f.properties[p])}</td>`).join('')}</tr>`,
      )
      .join('')}</table>`,
    body.links,
  )
}

/** One feature: the map preview and its properties. */
export function itemHtml(
  title: string,
  f: { id: string; geometry: Geometry; properties: Record<string, unknown>; links: Link[] },
  crs: { latLon: boolean; geographic: boolean },
): string {
  return page(
    title,
    `${previewSvg([f.geometry], crs.latLon, crs.geographic)}
<table><tr><th>id</th><td>${esc(f.id)}</td></tr>${Object.entries(f.properties)
      .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
      .join('')}</table>`,
    f.links,
  )
}
