// OGC API – Features Part 2 (CRS by reference). Geometry is stored in WGS 84 (SRID 4326, lon/lat,
// i.e. CRS84); answers can be given in CGCS2000 (China's geodetic datum, EPSG:4490) or Web
// Mercator (EPSG:3857). EPSG:4490 is a geographic CRS whose axis order is latitude, longitude, so
// its coordinates (and bbox values) are swapped; CRS84 keeps GeoJSON's lon/lat.

export interface OgcCrs {
  uri: string
  srid: number
  /** Axis order latitude-first (EPSG geographic CRSs). */
  latLon: boolean
  /** Decimals of GeoJSON output: 7 for degrees (~1 cm), 2 for metres. */
  precision: number
  /** The valid coordinate range of the first/second axis as a caller writes them. */
  range: [[number, number], [number, number]]
}

export const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'
const MERCATOR_MAX = 20037508.342789244

export const SUPPORTED_CRS: OgcCrs[] = [
  {
    uri: CRS84,
    srid: 4326,
    latLon: false,
    precision: 7,
    range: [
      [-180, 180],
      [-90, 90],
    ],
  },
  {
    uri: 'http://www.opengis.net/def/crs/EPSG/0/4326',
    srid: 4326,
    latLon: true,
    precision: 7,
    range: [
      [-90, 90],
      [-180, 180],
    ],
  },
  {
    uri: 'http://www.opengis.net/def/crs/EPSG/0/4490',
    srid: 4490,
    latLon: true,
    precision: 7,
    range: [
      [-90, 90],
      [-180, 180],
    ],
  },
  {
    uri: 'http://www.opengis.net/def/crs/EPSG/0/3857',
    srid: 3857,
    latLon: false,
    precision: 2,
    range: [
      [-MERCATOR_MAX, MERCATOR_MAX],
      [-MERCATOR_MAX * 1.5, MERCATOR_MAX * 1.5],
    ],
  },
]

/** The storage CRS (what the columns hold, SRID 4326 in lon/lat order). */
export const STORAGE_CRS = SUPPORTED_CRS[0]

/**
 * The CRS a parameter names: its OGC URI, a safe CURIE `[EPSG:4490]`, or the short `EPSG:4490` /
 * `OGC:CRS84`; undefined for anything else (the caller answers 400 naming the value).
 */
export function crsByName(raw: string): OgcCrs | undefined {
  const s = raw.trim()
  const direct = SUPPORTED_CRS.find((c) => c.uri === s || c.uri.replace(/^http:/, 'https:') === s)
  if (direct) return direct
  const m = /^\[?(EPSG|OGC):(?:[\d.]+:)?([A-Za-z0-9]+)\]?$/i.exec(s)
  if (!m) return undefined
  const [auth, code] = [m[1].toUpperCase(), m[2].toUpperCase()]
  if (auth === 'OGC' && code === 'CRS84') return STORAGE_CRS
  if (auth === 'EPSG') return SUPPORTED_CRS.find((c) => c.uri.includes('/EPSG/') && String(c.srid) === code)
  return undefined
}
