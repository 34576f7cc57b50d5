import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { pipeline } from 'node:stream'
import { getManyValues, isMany, none } from 'stream-chain/defs.js'
import { CsvError, type Options as CsvOptions, parse as parseCsv } from 'csv-parse'
import Assembler from 'stream-json/assembler.js'
import { jsonParser, type Token } from 'stream-json/parser.js'
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
// CSV (RFC 4180: quoted cells may hold commas, doubled quotes and line breaks), parsed by csv-parse

/** Line breaks inside a record's cells: the record starts this many lines before the one it ends on. */
function lineBreaks(cells: string[]): number {
  let n = 0
  for (const c of cells) if (c.includes('\n') || c.includes('\r')) n += c.match(/\r\n|\r|\n/g)!.length
  return n
}

/** A CSV row with the line it starts on (1-based). */
type CsvRow = { line: number; cells: string[] }

/**
 * Rows of a CSV byte or text stream with the line each starts on (1-based). Blank lines are
 * skipped, a BOM is dropped, \n, \r\n and \r all end a row, and a stray quote inside an unquoted
 * cell is kept as text; throws ImportFileError on an unterminated quote (naming the line its row
 * starts on) or any other malformed quoting.
 */
export async function* csvRows(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<CsvRow> {
  let lastEnd = 0
  let lastEmpty = 0
  const options: CsvOptions<CsvRow, string[]> = {
    bom: true,
    relax_column_count: true, // the reader reports a cell-count mismatch itself, with its own message
    relax_quotes: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    // Called as each record is parsed, with the line it ends on, before any error in a later row.
    // Cheaper than `info: true` (half the parse time in bench/import-readers.ts), same numbers.
    on_record: (cells, context) => {
      lastEnd = context.lines
      lastEmpty = context.empty_lines
      return { line: context.lines - lineBreaks(cells), cells }
    },
  }
  // parse()'s stream overloads take Options<string[]> only; on_record's return is what it yields.
  const parser = parseCsv(options as unknown as CsvOptions)
  // Errors of the source or the parser reject the loop below; nothing else needs the callback.
  pipeline(chunks, parser, () => {})
  try {
    yield* parser as AsyncIterable<CsvRow>
  } catch (e) {
    if (!(e instanceof CsvError)) throw e
    // The row in error starts after the last good record and the blank lines skipped since.
    const ctx = e as CsvError & { empty_lines?: number; lines?: number }
    const line = lastEnd + 1 + Math.max(0, (ctx.empty_lines ?? lastEmpty) - lastEmpty)
    if (e.code === 'CSV_QUOTE_NOT_CLOSED')
      throw new ImportFileError(`line ${line}: a quoted cell is not closed before the end of the file`)
    throw new ImportFileError(`line ${ctx.lines ?? line}: not valid CSV (${e.message})`)
  }
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
  for await (const { line, cells } of csvRows(createReadStream(file, { highWaterMark: 1 << 20 }))) {
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
// GeoJSON FeatureCollection, stream-parsed by stream-json: the tokens of each element of the
// top-level "features" array are assembled into that feature alone, handed on and dropped, so
// only one feature is in memory at a time.

/** Features of a FeatureCollection text stream, in order; throws ImportFileError when it is not one. */
export async function* geoJsonFeatures(chunks: AsyncIterable<string>): AsyncGenerator<unknown> {
  // stream-json's tokenizer as a plain function (text in, all of its tokens out at once; `none` at
  // the end flushes it): the core of its Node stream, without a stream hop or await per token. Packed values only: keys,
  // strings and numbers arrive whole, one token each.
  const parse = jsonParser({ streamValues: false })
  let depth = 0
  let started = false
  let key: string | null = null
  let topType: string | null = null
  let inFeatures = false
  let sawFeatures = false
  let feature: Assembler | null = null
  const notAFeature = () =>
    new ImportFileError('not a GeoJSON FeatureCollection: every element of "features" must be a Feature object')
  /** Tokens of one chunk (or of the end of the input, for `none`); throws ImportFileError on bad JSON. */
  const tokensOf = (text: string | typeof none): Token[] => {
    let out: ReturnType<typeof parse>
    try {
      // A flushable takes `none` as well as text, though its type names only the text.
      out = parse(text as string)
    } catch (e) {
      // Lazily called: by the end, every earlier token has been seen, so `started` is up to date.
      if (text === none && !started)
        throw new ImportFileError('the file is empty: a GeoJSON import needs a FeatureCollection')
      if (text === none) throw new ImportFileError('not valid JSON: the file ends inside an object, array or string')
      throw new ImportFileError(`not valid JSON (${(e as Error).message})`)
    }
    return out === none ? [] : isMany(out) ? getManyValues(out) : [out as Token]
  }
  async function* all(): AsyncGenerator<Token[]> {
    for await (const text of chunks) yield tokensOf(text)
    yield tokensOf(none)
  }
  for await (const batch of all()) {
    for (const token of batch) {
      if (!started) {
        if (token.name !== 'startObject')
          throw new ImportFileError('not a GeoJSON FeatureCollection: the file does not start with a JSON object')
        started = true
      }
      if (feature) {
        feature.consume(token)
        if (feature.done) {
          yield feature.current
          feature = null
        }
        continue
      }
      switch (token.name) {
        case 'startObject':
        case 'startArray':
          depth++
          if (depth === 3 && inFeatures) {
            if (token.name !== 'startObject') throw notAFeature()
            feature = new Assembler()
            feature.consume(token)
            depth--
          } else if (depth === 2 && token.name === 'startArray' && key === 'features') {
            inFeatures = true
            sawFeatures = true
          }
          break
        case 'endObject':
        case 'endArray':
          if (depth === 2 && inFeatures) inFeatures = false
          depth--
          break
        case 'keyValue':
          if (depth === 1) key = token.value
          break
        default:
          if (depth === 1 && key === 'type') topType = 'value' in token ? String(token.value) : null
          if (depth === 2 && inFeatures) throw notAFeature()
      }
    }
  }
  if (!started) throw new ImportFileError('the file is empty: a GeoJSON import needs a FeatureCollection')
  if (depth !== 0 || feature)
    throw new ImportFileError('not valid JSON: the file ends inside an object, array or string')
  if (topType !== 'FeatureCollection')
    throw new ImportFileError(
      `not a GeoJSON FeatureCollection: "type" is ${topType === null ? 'missing' : `"${topType}"`}`,
    )
  if (!sawFeatures) throw new ImportFileError('not a GeoJSON FeatureCollection: there is no "features" array')
}

async function* readGeoJson(file: string): AsyncGenerator<FileRecord> {
  let n = 0
  for await (const feature of geoJsonFeatures(createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }))) {
    n++
    const f = feature as { type?: unknown; properties?: unknown; geometry?: unknown }
    if (f.type !== 'Feature') throw new ImportFileError(`feature ${n}: "type" must be "Feature"`)
    const props = (
      f.properties && typeof f.properties === 'object' && !Array.isArray(f.properties) ? f.properties : {}
    ) as Record<string, unknown>
    const { sourceKey, observedAt, ...attributes } = props
    yield { position: n, record: { sourceKey, observedAt, attributes, geometry: f.geometry ?? undefined } }
  }
}
