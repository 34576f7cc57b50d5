/**
 * Import parsing speed: the hand-written CSV and GeoJSON readers the import used before csv-parse and
 * stream-json (copied below, kept only here for this comparison) against the current ones, on the
 * same generated files in the same run. Times parsing alone (file → rows / feature objects), no
 * validation and no database.
 *
 *   npx tsx bench/import-readers.ts [rows=100000] [rounds=3]
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { csvRows, geoJsonFeatures, ImportFileError } from '../src/reconciliation/import.readers.js'
import { createRng } from '../src/shared/random.js'

const rows = Number(process.argv[2] ?? 100_000)
const rounds = Number(process.argv[3] ?? 3)
const rng = createRng('bench-import-readers')

// ---------------------------------------------------------------------------------------------
// The previous readers, verbatim

/** Rows of a CSV text stream with the line each starts on; throws on an unterminated quote. */
async function* oldCsvRows(chunks: AsyncIterable<string>): AsyncGenerator<{ line: number; cells: string[] }> {
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

/** Features of a FeatureCollection text stream, in order; throws ImportFileError when it is not one. */
async function* oldFeatureTexts(chunks: AsyncIterable<string>): AsyncGenerator<string> {
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

// ---------------------------------------------------------------------------------------------

function generate(dir: string): { csv: string; geojson: string } {
  const names = ['张三', '李四', 'Zhang, San', 'said "hi"', "O'Brien", '王五']
  const csvLines = ['sourceKey,name,note,lon,lat']
  const features: string[] = []
  for (let i = 0; i < rows; i++) {
    const name = rng.pick(names)
    const note = rng.chance(0.1) ? 'two\nlines' : `n${rng.int(0, 1e6)}`
    const lon = rng.float(120.0, 120.3).toFixed(6)
    const lat = rng.float(30.1, 30.4).toFixed(6)
    const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
    csvLines.push(`k${i},${q(name)},${q(note)},${lon},${lat}`)
    features.push(
      JSON.stringify({
        type: 'Feature',
        properties: { sourceKey: `k${i}`, name, note },
        geometry: { type: 'Point', coordinates: [Number(lon), Number(lat)] },
      }),
    )
  }
  const csv = join(dir, 'rows.csv')
  const geojson = join(dir, 'features.geojson')
  writeFileSync(csv, `${csvLines.join('\r\n')}\r\n`)
  writeFileSync(geojson, `{"type":"FeatureCollection","features":[\n${features.join(',\n')}\n]}\n`)
  return { csv, geojson }
}

async function time(run: () => Promise<number>): Promise<{ ms: number; n: number }> {
  const t0 = performance.now()
  const n = await run()
  return { ms: performance.now() - t0, n }
}

async function count<T>(it: AsyncIterable<T>): Promise<number> {
  let n = 0
  for await (const _ of it) n++
  return n
}

const dir = mkdtempSync(join(tmpdir(), 'bench-import-readers-'))
try {
  const { csv, geojson } = generate(dir)
  const text = (f: string) => createReadStream(f, { encoding: 'utf8', highWaterMark: 1 << 20 })
  const bytes = (f: string) => createReadStream(f, { highWaterMark: 1 << 20 })
  const cases: [string, () => Promise<number>][] = [
    ['CSV      old (hand-written)', () => count(oldCsvRows(text(csv)))],
    ['CSV      new (csv-parse)', () => count(csvRows(bytes(csv)))],
    [
      'GeoJSON  old (hand-written + JSON.parse)',
      async () => {
        let n = 0
        for await (const t of oldFeatureTexts(text(geojson))) if (JSON.parse(t)) n++
        return n
      },
    ],
    ['GeoJSON  new (stream-json)', () => count(geoJsonFeatures(text(geojson)))],
  ]
  const best = new Map<string, number>()
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of cases) {
      const { ms, n } = await time(run)
      if (n !== (name.startsWith('CSV') ? rows + 1 : rows)) throw new Error(`${name}: ${n} items`)
      best.set(name, Math.min(best.get(name) ?? Infinity, ms))
    }
  }
  console.log(`${rows} rows, best of ${rounds} rounds, node ${process.version}`)
  for (const [name, ms] of best)
    console.log(
      `${name.padEnd(42)} ${ms.toFixed(0).padStart(7)} ms  ${((rows / ms) * 1000).toFixed(0).padStart(8)} rows/s`,
    )
  const ratio = (a: string, b: string) => (best.get(b)! / best.get(a)!).toFixed(2)
  console.log(`CSV new/old time: ${ratio('CSV      old (hand-written)', 'CSV      new (csv-parse)')}x`)
  console.log(
    `GeoJSON new/old time: ${ratio('GeoJSON  old (hand-written + JSON.parse)', 'GeoJSON  new (stream-json)')}x`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
