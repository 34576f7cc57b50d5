import { describe, expect, it } from 'vitest'
import { CqlError, parseCql2Json, parseCql2Text } from '../../src/ogc/cql2.js'

const prop = (name: string) => expect.objectContaining({ kind: 'property', name })
const lit = (value: unknown) => expect.objectContaining({ kind: 'literal', value })
/** The AST without source locations (text and JSON name them differently). */
const withoutAt = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(withoutAt)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => k !== 'at')
            .map(([k, x]) => [k, withoutAt(x)]),
        )
      : v

describe('CQL2 text', () => {
  it('precedence: NOT binds tighter than AND, AND tighter than OR; parentheses override', () => {
    expect(parseCql2Text("a = 1 OR b = 'x' AND NOT c IS NULL")).toEqual({
      op: 'or',
      args: [
        { op: '=', left: prop('a'), right: lit(1) },
        {
          op: 'and',
          args: [
            { op: '=', left: prop('b'), right: lit('x') },
            { op: 'not', arg: { op: 'isNull', arg: prop('c') } },
          ],
        },
      ],
    })
    expect(parseCql2Text('(a = 1 OR b = 2) AND c = 3')).toMatchObject({ op: 'and', args: [{ op: 'or' }, { op: '=' }] })
  })

  it('LIKE, NOT LIKE, IN, NOT IN, BETWEEN, IS NOT NULL, comparison operators, quoted identifiers and escaped quotes', () => {
    expect(parseCql2Text("name LIKE '西湖%'")).toEqual({ op: 'like', left: prop('name'), pattern: lit('西湖%') })
    expect(parseCql2Text("name NOT LIKE 'a_'")).toMatchObject({ op: 'not', arg: { op: 'like' } })
    expect(parseCql2Text("level IN ('DISTRICT', 'TOWNSHIP')")).toEqual({
      op: 'in',
      left: prop('level'),
      list: [lit('DISTRICT'), lit('TOWNSHIP')],
    })
    expect(parseCql2Text('floors NOT IN (1, 2)')).toMatchObject({ op: 'not', arg: { op: 'in' } })
    expect(parseCql2Text('floors BETWEEN 3 AND 10.5')).toEqual({
      op: 'between',
      value: prop('floors'),
      low: lit(3),
      high: lit(10.5),
    })
    expect(parseCql2Text('unit IS NOT NULL')).toMatchObject({ op: 'not', arg: { op: 'isNull' } })
    for (const op of ['=', '<>', '<', '<=', '>', '>='])
      expect(parseCql2Text(`floors ${op} -2`)).toEqual({ op, left: prop('floors'), right: lit(-2) })
    expect(parseCql2Text(`"fullText" = 'it''s'`)).toEqual({ op: '=', left: prop('fullText'), right: lit("it's") })
    expect(parseCql2Text('flag = TRUE')).toMatchObject({ right: lit(true) })
  })

  it('spatial functions with WKT and BBOX literals', () => {
    expect(parseCql2Text('S_INTERSECTS(geometry, POINT(120.1 30.2))')).toMatchObject({
      op: 's_intersects',
      left: prop('geometry'),
      right: { kind: 'geometry', geometry: { type: 'Point', coordinates: [120.1, 30.2] } },
    })
    expect(parseCql2Text('s_within(geometry, POLYGON((0 0, 1 0, 1 1, 0 0)))')).toMatchObject({
      op: 's_within',
      right: {
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [1, 0],
              [1, 1],
              [0, 0],
            ],
          ],
        },
      },
    })
    expect(parseCql2Text('S_INTERSECTS(geometry, BBOX(0, 1, 2, 3))')).toMatchObject({
      right: { geometry: { type: 'Polygon' } },
    })
    expect(parseCql2Text('S_DWITHIN(geometry, POINT(1 2), 500)')).toMatchObject({ op: 's_dwithin', distance: lit(500) })
    expect(parseCql2Text('S_INTERSECTS(geometry, MULTIPOINT((1 2), (3 4)))')).toMatchObject({
      right: {
        geometry: {
          type: 'MultiPoint',
          coordinates: [
            [1, 2],
            [3, 4],
          ],
        },
      },
    })
    expect(parseCql2Text('S_INTERSECTS(geometry, MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0))))')).toMatchObject({
      right: { geometry: { type: 'MultiPolygon' } },
    })
  })

  it('a malformed filter names the character position where it went wrong', () => {
    const at = (src: string) => {
      try {
        parseCql2Text(src)
      } catch (e) {
        expect(e).toBeInstanceOf(CqlError)
        return (e as CqlError).at
      }
      throw new Error(`parsed: ${src}`)
    }
    expect(at("name = 'abc")).toBe('position 8')
    expect(at('name == 1')).toBe('position 7')
    expect(at('floors BETWEEN 1 OR 3')).toBe('position 18')
    expect(at('floors > ')).toBe('position 10')
    expect(at('(a = 1')).toBe('position 7')
    expect(at('a = 1 b = 2')).toBe('position 7')
    expect(at('S_INTERSECTS(geometry, POINT(1))')).toBe('position 31')
    expect(at('a ; DROP TABLE x')).toBe('position 3')
    expect(at('')).toBe('position 1')
    expect(at('AND = 1')).toBe('position 1')
  })
})

describe('CQL2 JSON', () => {
  it('reads the same AST as the text form', () => {
    expect(
      withoutAt(
        parseCql2Json(
          JSON.stringify({
            op: 'and',
            args: [
              { op: 'like', args: [{ property: 'name' }, '西湖%'] },
              { op: 'in', args: [{ property: 'level' }, ['DISTRICT']] },
              { op: 'between', args: [{ property: 'floors' }, 1, 3] },
              { op: 'not', args: [{ op: 'isNull', args: [{ property: 'unit' }] }] },
              { op: 's_intersects', args: [{ property: 'geometry' }, { type: 'Point', coordinates: [1, 2] }] },
              { op: 's_intersects', args: [{ property: 'geometry' }, { bbox: [0, 0, 1, 1] }] },
            ],
          }),
        ),
      ),
    ).toEqual(
      withoutAt(
        parseCql2Text(
          "name LIKE '西湖%' AND level IN ('DISTRICT') AND floors BETWEEN 1 AND 3 AND NOT unit IS NULL AND S_INTERSECTS(geometry, POINT(1 2)) AND S_INTERSECTS(geometry, BBOX(0,0,1,1))",
        ),
      ),
    )
  })

  it('malformed JSON filters name the JSON path or the character', () => {
    const at = (src: string) => {
      try {
        parseCql2Json(src)
      } catch (e) {
        return (e as CqlError).at
      }
      throw new Error(`parsed: ${src}`)
    }
    expect(at('{"op": "=", "args": [1]}')).toBe('$')
    expect(at('{"op": "and", "args": [{"op": "=", "args": [{"property": "a"}, 1]}, {"op": "nope", "args": []}]}')).toBe(
      '$.args[1]',
    )
    expect(at('{"op": "=", "args": [{"prop": "a"}, 1]}')).toBe('$.args[0]')
    expect(at('{"op": "in", "args": [{"property": "a"}, []]}')).toBe('$.args[1]')
    expect(at('{"op": ')).toMatch(/^position \d+$/)
  })
})
