import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  csvRows,
  formatFromFileName,
  geoJsonFeatures,
  ImportFileError,
  type ImportFormat,
  readRecords,
} from '../../src/reconciliation/import.readers.js'

/** The text cut into chunks at the given positions, as a stream would deliver it. */
async function* chunked(text: string, cuts: number[]): AsyncGenerator<string> {
  let last = 0
  for (const c of cuts) {
    yield text.slice(last, c)
    last = c
  }
  yield text.slice(last)
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('CSV rows', () => {
  const text = '\ufeffsourceKey,name,note\r\nk1,"Zhang, San","said ""hi""\nand left"\nk2,李四,\n\nk3,"",x'
  const expected = [
    { line: 1, cells: ['sourceKey', 'name', 'note'] },
    { line: 2, cells: ['k1', 'Zhang, San', 'said "hi"\nand left'] },
    { line: 4, cells: ['k2', '李四', ''] },
    { line: 6, cells: ['k3', '', 'x'] },
  ]

  it('handles quotes, doubled quotes, line breaks in cells, CRLF, a BOM and blank lines wherever the stream splits', async () => {
    expect(await collect(csvRows(chunked(text, [])))).toEqual(expected)
    for (let cut = 1; cut < text.length; cut++) expect(await collect(csvRows(chunked(text, [cut])))).toEqual(expected)
  })

  it('refuses a quoted cell that never closes, naming its line', async () => {
    await expect(collect(csvRows(chunked('a,b\n1,"open\n2,3\n', [])))).rejects.toThrow(
      /line 2: a quoted cell is not closed/,
    )
  })
})

describe('GeoJSON features', () => {
  const fc = JSON.stringify(
    {
      type: 'FeatureCollection',
      name: 'with "quotes" and {braces}',
      features: [
        {
          type: 'Feature',
          properties: { sourceKey: 'a', note: 'x}]"' },
          geometry: { type: 'Point', coordinates: [120.1, 30.2] },
        },
        { type: 'Feature', properties: { sourceKey: 'b' }, geometry: null },
      ],
    },
    null,
    1,
  )

  it('yields each feature of the top-level array wherever the stream splits', async () => {
    const expected = (JSON.parse(fc) as { features: unknown[] }).features
    for (let cut = 1; cut < fc.length; cut += 3) {
      expect(await collect(geoJsonFeatures(chunked(fc, [cut, Math.min(fc.length, cut + 7)])))).toEqual(expected)
    }
  })

  it('refuses what is not a FeatureCollection', async () => {
    await expect(
      collect(geoJsonFeatures(chunked('{"type":"Feature","geometry":null,"properties":{}}', []))),
    ).rejects.toThrow(/"type" is "Feature"/)
    await expect(collect(geoJsonFeatures(chunked('[1,2]', [])))).rejects.toThrow(ImportFileError)
    await expect(
      collect(geoJsonFeatures(chunked('{"type":"FeatureCollection","features":[{"type":"Feature"', []))),
    ).rejects.toThrow(/ends inside/)
    await expect(collect(geoJsonFeatures(chunked('{"type":"FeatureCollection"}', [])))).rejects.toThrow(
      /no "features" array/,
    )
  })
})

describe('structural errors of a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'import-readers-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  let n = 0
  const read = (text: string, format: ImportFormat) => {
    const file = join(dir, `f${n++}`)
    writeFileSync(file, text)
    return collect(readRecords(file, format))
  }

  it('reads CSV records with the line they start on, lon/lat as a point and empty cells as absent', async () => {
    expect(await read('\ufeffsourceKey,name,lon,lat\r\nk1,"two\nlines",120.1,30.2\r\n\r\nk2,,,\r\n', 'csv')).toEqual([
      {
        position: 2,
        record: {
          sourceKey: 'k1',
          attributes: { name: 'two\nlines' },
          geometry: { type: 'Point', coordinates: [120.1, 30.2] },
        },
      },
      { position: 5, record: { sourceKey: 'k2', attributes: {} } },
    ])
  })

  it('refuses CSV without a sourceKey column, with a duplicate column, lon without lat, a short row, an open quote or no header', async () => {
    await expect(read('key,name\nk1,a\n', 'csv')).rejects.toThrow(/line 1: the header row has no "sourceKey" column/)
    await expect(read('sourceKey,name,name\nk1,a,b\n', 'csv')).rejects.toThrow(/line 1: column "name" appears twice/)
    await expect(read('sourceKey,lon\nk1,120\n', 'csv')).rejects.toThrow(
      /line 1: "lon" and "lat" columns must come together/,
    )
    await expect(read('sourceKey,name\nk1,"a\nb"\nk2\n', 'csv')).rejects.toThrow(
      /line 4: the row has 1 cells but the header row has 2/,
    )
    await expect(read('sourceKey,name\nk1,a\n\nk2,"open\nk3,b\n', 'csv')).rejects.toThrow(
      /line 4: a quoted cell is not closed/,
    )
    await expect(read('', 'csv')).rejects.toThrow(/the file is empty/)
    await expect(read('', 'csv')).rejects.toThrow(ImportFileError)
  })

  it('reads GeoJSON features as records and refuses elements that are not Feature objects or broken JSON', async () => {
    const fc = (features: string) => `{"type":"FeatureCollection","features":[${features}]}`
    expect(
      await read(
        fc('{"type":"Feature","properties":{"sourceKey":"a","observedAt":"2026-01-01","x":1},"geometry":null}'),
        'geojson',
      ),
    ).toEqual([
      { position: 1, record: { sourceKey: 'a', observedAt: '2026-01-01', attributes: { x: 1 }, geometry: undefined } },
    ])
    await expect(read(fc('{"type":"Feature"},1'), 'geojson')).rejects.toThrow(
      /every element of "features" must be a Feature object/,
    )
    await expect(read(fc('{"type":"Feature"},[1]'), 'geojson')).rejects.toThrow(
      /every element of "features" must be a Feature object/,
    )
    await expect(read(fc('{"type":"Point"}'), 'geojson')).rejects.toThrow(/feature 1: "type" must be "Feature"/)
    await expect(read(fc('{"type":"Feature",}'), 'geojson')).rejects.toThrow(/not valid JSON/)
    await expect(read('', 'geojson')).rejects.toThrow(/the file is empty/)
  })
})

describe('format from file name', () => {
  it('knows csv, ndjson/jsonl and geojson/json, and nothing else', () => {
    expect(['a.CSV', 'b.ndjson', 'c.jsonl', 'd.geojson', 'e.json', 'f.txt', 'g'].map(formatFromFileName)).toEqual([
      'csv',
      'ndjson',
      'ndjson',
      'geojson',
      'geojson',
      null,
      null,
    ])
  })
})
