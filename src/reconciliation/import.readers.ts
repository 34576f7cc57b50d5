import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { RecordInput } from './rules/validate.js'

/**
 * Streaming readers for bulk-import files. Each yields records one at a time with their place in
 * the file, so memory stays flat whatever the file size. A structural problem (no sourceKey
 * column, a line that is not JSON, a file that is not a FeatureCollection) throws ImportFileError;
 * a bad VALUE is left to validation, which rejects that record only.
 */

export const IMPORT_FORMATS = ['csv', 'ndjson', 'geojson'] as const
export type ImportFormat = (typeof IMPORT_FORMATS)[number]

export class ImportFileError extends Error {}

export interface FileRecord {
  /** Where the record starts: a line number (CSV, NDJSON) or a feature number (GeoJSON), 1-based. */
  position: number
  record: RecordInput
}

/** The format named by the file extension (.csv, .ndjson/.jsonl, .geojson/.json); null when unknown. */
export function formatFromFileName(file: string): ImportFormat | null {
  const ext = file.toLowerCase().match(/\.([a-z]+)$/)?.[1]
  if (ext === 'csv') return 'csv'
  if (ext === 'ndjson' || ext === 'jsonl') return 'ndjson'
  if (ext === 'geojson' || ext === 'json') return 'geojson'
  return null
}

/** Records of the file in the given format. */
export function readRecords(file: string, format: ImportFormat): AsyncGenerator<FileRecord> {
  switch (format) {
    case 'csv':
      return readCsv(file)
    case 'ndjson':
      return readNdjson(file)
    case 'geojson':
      return readGeoJson(file)
  }
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180: quoted cells may hold commas, doubled quotes and line breaks)

/** Rows of a CSV text stream with the line each starts on; throws on an unterminated quote. */
export async function* csvRows(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; cells: string[] }> {
  let cells: string[] = []
  let cell = ''
  let quoted = false
  let afterQuote = false
  let line = 1
  let rowLine = 1
  let first = true
  let skipLF = false
  for await (let text of chunks) {
    if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    first = false
    let i = 0
    const n = text.length
    while (i < n) {
      if (quoted) {
        const q = text.indexOf('"', i)
        if (q === -1) {
          const part = text.slice(i)
          for (let k = 0; k < part.length; k++) if (part.charCodeAt(k) === 10) line++
          cell += part
          i = n
          break
        }
        const part = text.slice(i, q)
        for (let k = 0; k < part.length; k++) if (part.charCodeAt(k) === 10) line++
        cell += part
        if (q + 1 < n && text[q + 1] === '"') {
          cell += '"'
          i = q + 2
        } else if (q + 1 === n) {
          // The next chunk decides whether this quote is doubled; look at it with the quote pending.
          quoted = false
          afterQuote = true
          i = n
        } else {
          quoted = false
          afterQuote = true
          i = q + 1
        }
        continue
      }
      const c = text[i]
      if (skipLF) {
        // The \n of a \r\n that the stream split.
        skipLF = false
        if (c === '\n') {
          i++
          continue
        }
      }
      if (afterQuote && c === '"' && i === 0) {
        // A doubled quote split across two chunks.
        cell += '"'
        quoted = true
        afterQuote = false
        i++
        continue
      }
      afterQuote = false
      if (c === ',') {
        cells.push(cell)
        cell = ''
        i++
      } else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') i++
        else if (c === '\r' && i + 1 === n) skipLF = true
        cells.push(cell)
        if (!(cells.length === 1 && cells[0] === '')) yield { line: rowLine, cells }
        cells = []
        cell = ''
        line++
        rowLine = line
        i++
      } else if (c === '"' && cell === '') {
        quoted = true
        i++
      } else {
        // Unquoted run up to the next delimiter.
        let j = i
        while (j < n) {
          const d = text.charCodeAt(j)
          if (d === 44 || d === 10 || d === 13) break
          j++
        }
        cell += text.slice(i, j)
        i = j
      }
    }
  }
  if (quoted) throw new ImportFileError(`line ${rowLine}: a quoted cell is not closed before the end of the file`)
  cells.push(cell)
  if (!(cells.length === 1 && cells[0] === '')) yield { line: rowLine, cells }
}

const CSV_RESERVED = new Set(['sourceKey', 'observedAt', 'geometry', 'lon', 'lat'])

async function* readCsv(file: string): AsyncGenerator<FileRecord> {
  let header: string[] | null = null
  let cols: {
    sourceKey: number
    observedAt: number
    geometry: number
    lon: number
    lat: number
    attributes: [number, string][]
  }
  for await (const { line, cells } of csvRows(createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }))) {
    if (!header) {
      header = cells.map((c) => c.trim())
      const at = (name: string) => header!.indexOf(name)
      if (at('sourceKey') === -1)
        throw new ImportFileError(
          `line ${line}: the header row has no "sourceKey" column (columns: ${header.join(', ')})`,
        )
      const dup = header.find((h, i) => header!.indexOf(h) !== i)
      if (dup) throw new ImportFileError(`line ${line}: column "${dup}" appears twice in the header row`)
      if ((at('lon') === -1) !== (at('lat') === -1))
        throw new ImportFileError(`line ${line}: "lon" and "lat" columns must come together`)
      cols = {
        sourceKey: at('sourceKey'),
        observedAt: at('observedAt'),
        geometry: at('geometry'),
        lon: at('lon'),
        lat: at('lat'),
        attributes: header
          .map((h, i) => [i, h] as [number, string])
          .filter(([, h]) => !CSV_RESERVED.has(h) && h !== ''),
      }
      continue
    }
    if (cells.length !== header.length)
      throw new ImportFileError(
        `line ${line}: the row has ${cells.length} cells but the header row has ${header.length}`,
      )
    // An empty cell claims nothing (the attribute is absent, not null).
    const attributes: Record<string, unknown> = {}
    for (const [i, name] of cols!.attributes) if (cells[i] !== '') attributes[name] = cells[i]
    const record: RecordInput = { sourceKey: cells[cols!.sourceKey], attributes }
    if (cols!.observedAt !== -1 && cells[cols!.observedAt] !== '') record.observedAt = cells[cols!.observedAt]
    if (cols!.geometry !== -1 && cells[cols!.geometry] !== '') {
      const text = cells[cols!.geometry]
      // Text that is not JSON is passed on as is: validation rejects it as INVALID_GEOMETRY.
      try {
        record.geometry = JSON.parse(text)
      } catch {
        record.geometry = text
      }
    } else if (cols!.lon !== -1 && (cells[cols!.lon] !== '' || cells[cols!.lat] !== '')) {
      record.geometry = { type: 'Point', coordinates: [Number(cells[cols!.lon]), Number(cells[cols!.lat])] }
    }
    yield { position: line, record }
  }
  if (!header) throw new ImportFileError('the file is empty: a CSV import needs a header row with a "sourceKey" column')
}

// ---------------------------------------------------------------------------------------------
// NDJSON: one {sourceKey, observedAt?, attributes, geometry?} object per line

async function* readNdjson(file: string): AsyncGenerator<FileRecord> {
  const lines = createInterface({
    input: createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }),
    crlfDelay: Infinity,
  })
  let n = 0
  for await (let text of lines) {
    n++
    if (n === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    if (!text.trim()) continue
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (e) {
      throw new ImportFileError(`line ${n}: not valid JSON (${(e as Error).message})`)
    }
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new ImportFileError(`line ${n}: expected a JSON object {sourceKey, observedAt?, attributes, geometry?}`)
    const v = value as Record<string, unknown>
    yield {
      position: n,
      record: {
        sourceKey: v.sourceKey,
        observedAt: v.observedAt,
        attributes: v.attributes,
        geometry: v.geometry,
      },
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GeoJSON FeatureCollection, stream-parsed: each element of the top-level "features" array is cut
// out of the text as it arrives and parsed on its own, so only one feature is in memory at a time.

/** Features of a FeatureCollection text stream, in order; throws ImportFileError when it is not one. */
export async function* featureTexts(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let depth = 0
  let inString = false
  let escaped = false
  let stringStart = -1
  let partialString = ''
  let expectKey = false
  let lastKey: string | null = null
  let pendingKey: string | null = null
  let topType: string | null = null
  let inFeatures = false
  let sawFeatures = false
  let featureParts: string[] = []
  let featureStart = -1
  let started = false
  for await (const text of chunks) {
    if (featureStart !== -1) featureStart = 0
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (inString) {
        if (escaped) escaped = false
        else if (c === 92) escaped = true
        else if (c === 34) {
          inString = false
          if (depth === 1) {
            const s = partialString + text.slice(stringStart, i)
            if (expectKey) {
              pendingKey = s
              expectKey = false
            } else if (lastKey === 'type') {
              topType = s
            }
          }
          partialString = ''
        }
        continue
      }
      if (c === 32 || c === 10 || c === 13 || c === 9) continue
      if (!started) {
        if (c !== 123)
          throw new ImportFileError('not a GeoJSON FeatureCollection: the file does not start with a JSON object')
        started = true
      }
      if (c === 34) {
        inString = true
        stringStart = i + 1
        partialString = ''
      } else if (c === 123 || c === 91) {
        depth++
        if (depth === 1) expectKey = true
        if (depth === 2 && c === 91 && lastKey === 'features') {
          inFeatures = true
          sawFeatures = true
        } else if (depth === 3 && inFeatures && c === 123) {
          featureStart = i
          featureParts = []
        }
      } else if (c === 125 || c === 93) {
        if (depth === 3 && inFeatures && featureStart !== -1) {
          featureParts.push(text.slice(featureStart, i + 1))
          featureStart = -1
          yield featureParts.join('')
          featureParts = []
        }
        if (depth === 2 && inFeatures) inFeatures = false
        depth--
        if (depth < 0) throw new ImportFileError('not valid JSON: unbalanced brackets')
      } else if (c === 58 && depth === 1) {
        lastKey = pendingKey
      } else if (c === 44 && depth === 1) {
        expectKey = true
        lastKey = null
      } else if (depth === 2 && inFeatures && c !== 44) {
        throw new ImportFileError(
          'not a GeoJSON FeatureCollection: every element of "features" must be a Feature object',
        )
      }
    }
    if (inString && stringStart !== -1 && depth === 1) {
      partialString += text.slice(stringStart)
      stringStart = 0
    } else if (inString) {
      stringStart = 0
    }
    if (featureStart !== -1) featureParts.push(text.slice(featureStart))
  }
  if (!started) throw new ImportFileError('the file is empty: a GeoJSON import needs a FeatureCollection')
  if (depth !== 0 || inString)
    throw new ImportFileError('not valid JSON: the file ends inside an object, array or string')
  if (topType !== 'FeatureCollection')
    throw new ImportFileError(
      `not a GeoJSON FeatureCollection: "type" is ${topType === null ? 'missing' : `"${topType}"`}`,
    )
  if (!sawFeatures) throw new ImportFileError('not a GeoJSON FeatureCollection: there is no "features" array')
}

async function* readGeoJson(file: string): AsyncGenerator<FileRecord> {
  let n = 0
  for await (const text of featureTexts(createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }))) {
    n++
    let feature: unknown
    try {
      feature = JSON.parse(text)
    } catch (e) {
      throw new ImportFileError(`feature ${n}: not valid JSON (${(e as Error).message})`)
    }
    const f = feature as { type?: unknown; properties?: unknown; geometry?: unknown }
    if (f.type !== 'Feature') throw new ImportFileError(`feature ${n}: "type" must be "Feature"`)
    const props = (
      f.properties && typeof f.properties === 'object' && !Array.isArray(f.properties) ? f.properties : {}
    ) as Record<string, unknown>
    const { sourceKey, observedAt, ...attributes } = props
    yield { position: n, record: { sourceKey, observedAt, attributes, geometry: f.geometry ?? undefined } }
  }
}
