// CQL2 (OGC 21-065, Common Query Language) for OGC API – Features Part 3: a parser of the text
// encoding and a reader of the JSON encoding, both giving one small AST. Pure: no SQL here (see
// cql2.sql.ts). npm has no maintained CQL2 parser (geostyler-cql-parser reads the older ECQL), so
// this is a recursive-descent grammar of the subset the service supports: comparison, LIKE, IN,
// BETWEEN, IS NULL, AND/OR/NOT, S_INTERSECTS, S_WITHIN, S_CONTAINS, S_DWITHIN.

export type Literal = string | number | boolean
export interface GeoJsonGeometry {
  type: 'Point' | 'MultiPoint' | 'LineString' | 'MultiLineString' | 'Polygon' | 'MultiPolygon'
  coordinates: unknown
}
export type Operand =
  | { kind: 'property'; name: string; at: string }
  | { kind: 'literal'; value: Literal; at: string }
  | { kind: 'geometry'; geometry: GeoJsonGeometry; at: string }

export type Cql =
  | { op: 'and' | 'or'; args: Cql[] }
  | { op: 'not'; arg: Cql }
  | { op: '=' | '<>' | '<' | '<=' | '>' | '>='; left: Operand; right: Operand }
  | { op: 'like'; left: Operand; pattern: Operand }
  | { op: 'in'; left: Operand; list: Operand[] }
  | { op: 'between'; value: Operand; low: Operand; high: Operand }
  | { op: 'isNull'; arg: Operand }
  | { op: 's_intersects' | 's_within' | 's_contains'; left: Operand; right: Operand }
  | { op: 's_dwithin'; left: Operand; right: Operand; distance: Operand }

/** A malformed filter; `at` names where (text: "position N", 1-based character; JSON: a path such as "args[1]"). */
export class CqlError extends Error {
  constructor(
    message: string,
    readonly at: string,
  ) {
    super(`${message} (at ${at})`)
  }
}

// ---------------------------------------------------------------- text encoding

type Tok =
  | { t: 'num'; v: number; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'id'; v: string; quoted: boolean; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'end'; pos: number }

function tokenize(src: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) {
      i++
      continue
    }
    const pos = i + 1
    if (c === "'") {
      let v = ''
      i++
      for (;;) {
        if (i >= src.length) throw new CqlError('unterminated string', `position ${pos}`)
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            v += "'"
            i += 2
            continue
          }
          i++
          break
        }
        v += src[i++]
      }
      out.push({ t: 'str', v, pos })
    } else if (c === '"') {
      const end = src.indexOf('"', i + 1)
      if (end < 0) throw new CqlError('unterminated quoted identifier', `position ${pos}`)
      out.push({ t: 'id', v: src.slice(i + 1, end), quoted: true, pos })
      i = end + 1
    } else if (/[0-9]/.test(c) || ((c === '-' || c === '+' || c === '.') && /[0-9.]/.test(src[i + 1] ?? ''))) {
      const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(src.slice(i))
      if (!m) throw new CqlError(`unexpected "${c}"`, `position ${pos}`)
      out.push({ t: 'num', v: Number(m[0]), pos })
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.:]*/.exec(src.slice(i)) as RegExpExecArray
      out.push({ t: 'id', v: m[0], quoted: false, pos })
      i += m[0].length
    } else {
      const two = src.slice(i, i + 2)
      if (two === '<>' || two === '<=' || two === '>=') {
        out.push({ t: 'op', v: two, pos })
        i += 2
      } else if ('=<>(),'.includes(c)) {
        out.push({ t: 'op', v: c, pos })
        i++
      } else throw new CqlError(`unexpected "${c}"`, `position ${pos}`)
    }
  }
  out.push({ t: 'end', pos: src.length + 1 })
  return out
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'LIKE', 'IN', 'BETWEEN', 'IS', 'NULL', 'TRUE', 'FALSE'])
const SPATIAL = new Set(['S_INTERSECTS', 'S_WITHIN', 'S_CONTAINS', 'S_DWITHIN'])
const WKT = new Set(['POINT', 'MULTIPOINT', 'LINESTRING', 'MULTILINESTRING', 'POLYGON', 'MULTIPOLYGON', 'BBOX'])
const WKT_TYPE: Record<string, GeoJsonGeometry['type']> = {
  POINT: 'Point',
  MULTIPOINT: 'MultiPoint',
  LINESTRING: 'LineString',
  MULTILINESTRING: 'MultiLineString',
  POLYGON: 'Polygon',
  MULTIPOLYGON: 'MultiPolygon',
}

class TextParser {
  private i = 0
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i]
  }
  private next(): Tok {
    return this.toks[this.i++]
  }
  private at(t: Tok = this.peek()): string {
    return `position ${t.pos}`
  }
  private describe(t: Tok): string {
    return t.t === 'end' ? 'the end of the filter' : `"${'v' in t ? t.v : ''}"`
  }
  private isWord(w: string, t: Tok = this.peek()): boolean {
    return t.t === 'id' && !t.quoted && t.v.toUpperCase() === w
  }
  private isOp(v: string, t: Tok = this.peek()): boolean {
    return t.t === 'op' && t.v === v
  }
  private expectOp(v: string): void {
    const t = this.next()
    if (!this.isOp(v, t)) throw new CqlError(`expected "${v}" but found ${this.describe(t)}`, this.at(t))
  }
  private expectWord(w: string): void {
    const t = this.next()
    if (!this.isWord(w, t)) throw new CqlError(`expected ${w} but found ${this.describe(t)}`, this.at(t))
  }

  parse(): Cql {
    const e = this.or()
    const t = this.peek()
    if (t.t !== 'end') throw new CqlError(`unexpected ${this.describe(t)}`, this.at(t))
    return e
  }

  private or(): Cql {
    const args = [this.and()]
    while (this.isWord('OR')) {
      this.next()
      args.push(this.and())
    }
    return args.length === 1 ? args[0] : { op: 'or', args }
  }

  private and(): Cql {
    const args = [this.not()]
    while (this.isWord('AND')) {
      this.next()
      args.push(this.not())
    }
    return args.length === 1 ? args[0] : { op: 'and', args }
  }

  private not(): Cql {
    if (this.isWord('NOT')) {
      this.next()
      return { op: 'not', arg: this.not() }
    }
    return this.predicate()
  }

  private predicate(): Cql {
    const t = this.peek()
    if (this.isOp('(')) {
      this.next()
      const e = this.or()
      this.expectOp(')')
      return e
    }
    if (t.t === 'id' && !t.quoted && SPATIAL.has(t.v.toUpperCase())) return this.spatial()
    const left = this.scalar()
    const negate = this.isWord('NOT')
    if (negate) this.next()
    const k = this.peek()
    let p: Cql
    if (this.isWord('LIKE', k)) {
      this.next()
      p = { op: 'like', left, pattern: this.scalar() }
    } else if (this.isWord('IN', k)) {
      this.next()
      this.expectOp('(')
      const list = [this.scalar()]
      while (this.isOp(',')) {
        this.next()
        list.push(this.scalar())
      }
      this.expectOp(')')
      p = { op: 'in', left, list }
    } else if (this.isWord('BETWEEN', k)) {
      this.next()
      const low = this.scalar()
      this.expectWord('AND')
      p = { op: 'between', value: left, low, high: this.scalar() }
    } else if (!negate && this.isWord('IS', k)) {
      this.next()
      const not = this.isWord('NOT')
      if (not) this.next()
      this.expectWord('NULL')
      p = { op: 'isNull', arg: left }
      return not ? { op: 'not', arg: p } : p
    } else if (!negate && k.t === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(k.v)) {
      this.next()
      return { op: k.v as '=', left, right: this.scalar() }
    } else
      throw new CqlError(
        `expected a comparison (=, <>, <, <=, >, >=, LIKE, IN, BETWEEN, IS NULL) but found ${this.describe(k)}`,
        this.at(k),
      )
    return negate ? { op: 'not', arg: p } : p
  }

  private spatial(): Cql {
    const fn = (this.next() as { v: string }).v.toLowerCase() as 's_intersects' | 's_dwithin'
    this.expectOp('(')
    const left = this.spatialOperand()
    this.expectOp(',')
    const right = this.spatialOperand()
    if (fn === 's_dwithin') {
      this.expectOp(',')
      const distance = this.scalar()
      this.expectOp(')')
      return { op: fn, left, right, distance }
    }
    this.expectOp(')')
    return { op: fn, left, right }
  }

  private spatialOperand(): Operand {
    const t = this.peek()
    if (t.t === 'id' && !t.quoted && WKT.has(t.v.toUpperCase())) return this.wkt()
    return this.scalar()
  }

  private number(): number {
    const t = this.next()
    if (t.t !== 'num') throw new CqlError(`expected a number but found ${this.describe(t)}`, this.at(t))
    return t.v
  }

  private position(): number[] {
    const p = [this.number(), this.number()]
    if (this.peek().t === 'num') p.push(this.number())
    return p
  }

  /** ( a b, c d, … ) */
  private positions(): number[][] {
    this.expectOp('(')
    const list = [this.position()]
    while (this.isOp(',')) {
      this.next()
      list.push(this.position())
    }
    this.expectOp(')')
    return list
  }

  /** ( (…), (…) ) of depth levels. */
  private nested(depth: number): unknown[] {
    if (depth === 1) return this.positions()
    this.expectOp('(')
    const list = [this.nested(depth - 1)]
    while (this.isOp(',')) {
      this.next()
      list.push(this.nested(depth - 1))
    }
    this.expectOp(')')
    return list
  }

  private wkt(): Operand {
    const t = this.next() as { v: string; pos: number }
    const at = `position ${t.pos}`
    const word = t.v.toUpperCase()
    if (word === 'BBOX') {
      this.expectOp('(')
      const v = [this.number()]
      while (this.isOp(',')) {
        this.next()
        v.push(this.number())
      }
      this.expectOp(')')
      return { kind: 'geometry', geometry: bboxPolygon(v, at), at }
    }
    const type = WKT_TYPE[word]
    let coordinates: unknown
    if (type === 'Point') {
      this.expectOp('(')
      coordinates = this.position()
      this.expectOp(')')
    } else if (type === 'MultiPoint') {
      // Both MULTIPOINT(1 2, 3 4) and MULTIPOINT((1 2), (3 4)).
      this.expectOp('(')
      const pts: number[][] = []
      do {
        if (this.isOp(',')) this.next()
        if (this.isOp('(')) {
          this.next()
          pts.push(this.position())
          this.expectOp(')')
        } else pts.push(this.position())
      } while (this.isOp(','))
      this.expectOp(')')
      coordinates = pts
    } else {
      const depth = { LineString: 1, MultiLineString: 2, Polygon: 2, MultiPolygon: 3 }[type as 'Polygon']
      coordinates = this.nested(depth)
    }
    return { kind: 'geometry', geometry: { type, coordinates }, at }
  }

  private scalar(): Operand {
    const t = this.next()
    const at = this.at(t)
    if (t.t === 'num') return { kind: 'literal', value: t.v, at }
    if (t.t === 'str') return { kind: 'literal', value: t.v, at }
    if (t.t === 'id') {
      const upper = t.v.toUpperCase()
      if (!t.quoted && (upper === 'TRUE' || upper === 'FALSE')) return { kind: 'literal', value: upper === 'TRUE', at }
      if (!t.quoted && KEYWORDS.has(upper)) throw new CqlError(`expected a property or a value but found ${upper}`, at)
      return { kind: 'property', name: t.v, at }
    }
    throw new CqlError(`expected a property or a value but found ${this.describe(t)}`, at)
  }
}

function bboxPolygon(v: number[], at: string): GeoJsonGeometry {
  if (v.length !== 4 && v.length !== 6) throw new CqlError('BBOX needs 4 (or 6) numbers', at)
  const [x0, y0, x1, y1] = v.length === 4 ? v : [v[0], v[1], v[3], v[4]]
  if (x0 > x1 || y0 > y1) throw new CqlError('BBOX minimum must not exceed its maximum', at)
  return {
    type: 'Polygon',
    coordinates: [
      [
        [x0, y0],
        [x1, y0],
        [x1, y1],
        [x0, y1],
        [x0, y0],
      ],
    ],
  }
}

/** Parses a CQL2 text filter; throws CqlError naming the 1-based character position. */
export function parseCql2Text(src: string): Cql {
  if (!src.trim()) throw new CqlError('the filter is empty', 'position 1')
  return new TextParser(tokenize(src)).parse()
}

// ---------------------------------------------------------------- JSON encoding

const GEOMETRY_TYPES = new Set(['Point', 'MultiPoint', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon'])

function jsonOperand(v: unknown, at: string): Operand {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { kind: 'literal', value: v, at }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>
    if (typeof o.property === 'string') return { kind: 'property', name: o.property, at }
    if (Array.isArray(o.bbox)) {
      if (!o.bbox.every((n) => typeof n === 'number')) throw new CqlError('bbox must be numbers', at)
      return { kind: 'geometry', geometry: bboxPolygon(o.bbox as number[], at), at }
    }
    if (typeof o.type === 'string' && GEOMETRY_TYPES.has(o.type) && Array.isArray(o.coordinates))
      return { kind: 'geometry', geometry: { type: o.type as 'Point', coordinates: o.coordinates }, at }
  }
  throw new CqlError('expected a property ({"property": …}), a value, a GeoJSON geometry or a bbox', at)
}

function jsonExpr(v: unknown, at: string): Cql {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CqlError('expected an object {"op", "args"}', at)
  const { op, args } = v as { op?: unknown; args?: unknown }
  if (typeof op !== 'string') throw new CqlError('"op" is missing', at)
  if (!Array.isArray(args)) throw new CqlError('"args" must be an array', at)
  const arity = (n: number) => {
    if (args.length !== n) throw new CqlError(`"${op}" takes ${n} arguments, got ${args.length}`, at)
  }
  const a = (i: number) => jsonOperand(args[i], `${at}.args[${i}]`)
  switch (op) {
    case 'and':
    case 'or':
      if (args.length < 2) throw new CqlError(`"${op}" takes at least 2 arguments`, at)
      return { op, args: args.map((x, i) => jsonExpr(x, `${at}.args[${i}]`)) }
    case 'not':
      arity(1)
      return { op, arg: jsonExpr(args[0], `${at}.args[0]`) }
    case '=':
    case '<>':
    case '<':
    case '<=':
    case '>':
    case '>=':
      arity(2)
      return { op, left: a(0), right: a(1) }
    case 'like':
      arity(2)
      return { op, left: a(0), pattern: a(1) }
    case 'in': {
      arity(2)
      if (!Array.isArray(args[1]) || !args[1].length) throw new CqlError('"in" takes a non-empty list', `${at}.args[1]`)
      return { op, left: a(0), list: args[1].map((x, i) => jsonOperand(x, `${at}.args[1][${i}]`)) }
    }
    case 'between':
      arity(3)
      return { op, value: a(0), low: a(1), high: a(2) }
    case 'isNull':
      arity(1)
      return { op, arg: a(0) }
    case 's_intersects':
    case 's_within':
    case 's_contains':
      arity(2)
      return { op, left: a(0), right: a(1) }
    case 's_dwithin':
      arity(3)
      return { op, left: a(0), right: a(1), distance: a(2) }
    default:
      throw new CqlError(`unsupported operator "${op}"`, at)
  }
}

/** Parses a CQL2 JSON filter (a string); throws CqlError naming the JSON path (or the character of a syntax error). */
export function parseCql2Json(src: string): Cql {
  let v: unknown
  try {
    v = JSON.parse(src)
  } catch (e) {
    const m = /position (\d+)/.exec(String((e as Error).message))
    throw new CqlError('the filter is not valid JSON', m ? `position ${Number(m[1]) + 1}` : 'position 1')
  }
  return jsonExpr(v, '$')
}
