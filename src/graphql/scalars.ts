import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql'
import { DateResolver, DateTimeResolver, JSONResolver } from 'graphql-scalars'

export const DateTimeScalar = DateTimeResolver
export const DateScalar = DateResolver
export const JSONScalar = JSONResolver

function literalToValue(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToValue(f.value)]))
    case Kind.LIST:
      return ast.values.map(literalToValue)
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value)
    case Kind.STRING:
    case Kind.ENUM:
      return ast.value
    case Kind.BOOLEAN:
      return ast.value
    default:
      return null
  }
}

function parseGeoJson(value: unknown): Record<string, unknown> {
  const v =
    typeof value === 'string'
      ? (() => {
          try {
            return JSON.parse(value)
          } catch {
            return null
          }
        })()
      : value
  if (!v || typeof v !== 'object' || Array.isArray(v) || typeof (v as { type?: unknown }).type !== 'string')
    throw new GraphQLError('GeoJSON must be an RFC 7946 geometry object with a "type"', {
      extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_GEOMETRY' },
    })
  return v as Record<string, unknown>
}

/** RFC 7946 GeoJSON geometry, WGS 84 lon/lat. Detailed checks happen where the geometry is used. */
export const GeoJSONScalar = new GraphQLScalarType({
  name: 'GeoJSON',
  description: 'RFC 7946 GeoJSON geometry object, WGS 84 longitude/latitude.',
  serialize: (v) => (typeof v === 'string' ? JSON.parse(v) : v),
  parseValue: parseGeoJson,
  parseLiteral: (ast) => parseGeoJson(literalToValue(ast)),
})
