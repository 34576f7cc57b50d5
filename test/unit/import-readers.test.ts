import { describe, expect, it } from 'vitest'
import { csvRows, featureTexts, formatFromFileName, ImportFileError } from '../../src/reconciliation/import.readers.js'

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
      const texts = await collect(featureTexts(chunked(fc, [cut, Math.min(fc.length, cut + 7)])))
      expect(texts.map((t) => JSON.parse(t))).toEqual(expected)
    }
  })

  it('refuses what is not a FeatureCollection', async () => {
    await expect(
      collect(featureTexts(chunked('{"type":"Feature","geometry":null,"properties":{}}', []))),
    ).rejects.toThrow(/"type" is "Feature"/)
    await expect(collect(featureTexts(chunked('[1,2]', [])))).rejects.toThrow(ImportFileError)
    await expect(
      collect(featureTexts(chunked('{"type":"FeatureCollection","features":[{"type":"Feature"', []))),
    ).rejects.toThrow(/ends inside/)
    await expect(collect(featureTexts(chunked('{"type":"FeatureCollection"}', [])))).rejects.toThrow(
      /no "features" array/,
    )
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
