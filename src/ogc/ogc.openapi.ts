import { OGC_COLLECTIONS } from './ogc.collections.js'
import { CRS84, SUPPORTED_CRS } from './ogc.crs.js'

/** The OpenAPI 3.0 description of the /ogc routes (the landing page's service-desc). */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const json = (schema: Record<string, unknown>, type = 'application/json') => ({
    content: { [type]: { schema } },
  })
  const error = { description: 'Error', ...json({ $ref: '#/components/schemas/exception' }) }
  const paths: Record<string, unknown> = {
    '/': {
      get: {
        operationId: 'getLandingPage',
        summary: 'Landing page',
        responses: { 200: { description: 'Links to the API', ...json({ type: 'object' }) } },
      },
    },
    '/conformance': {
      get: {
        operationId: 'getConformance',
        summary: 'Conformance classes',
        responses: { 200: { description: 'Conformance classes', ...json({ type: 'object' }) } },
      },
    },
    '/collections': {
      get: {
        operationId: 'getCollections',
        summary: 'Feature collections',
        responses: { 200: { description: 'Collections', ...json({ type: 'object' }) } },
      },
    },
  }
  for (const c of OGC_COLLECTIONS) {
    const properties = Object.fromEntries(
      Object.entries(c.properties).map(([name, p]) => [name, { type: p.type, nullable: true }]),
    )
    paths[`/collections/${c.id}`] = {
      get: {
        operationId: `describe-${c.id}`,
        summary: c.title,
        responses: { 200: { description: c.description, ...json({ type: 'object' }) }, 404: error },
      },
    }
    paths[`/collections/${c.id}/items`] = {
      get: {
        operationId: `get-${c.id}-features`,
        summary: `${c.title}: features`,
        parameters: [
          { $ref: '#/components/parameters/bbox' },
          { $ref: '#/components/parameters/limit' },
          { $ref: '#/components/parameters/offset' },
          { $ref: '#/components/parameters/crs' },
          { $ref: '#/components/parameters/bbox-crs' },
          { $ref: '#/components/parameters/filter' },
          { $ref: '#/components/parameters/filter-lang' },
          { $ref: '#/components/parameters/filter-crs' },
        ],
        responses: {
          200: {
            description: 'GeoJSON FeatureCollection',
            ...json(
              {
                type: 'object',
                properties: {
                  type: { type: 'string' },
                  features: {
                    type: 'array',
                    items: { type: 'object', properties: { properties: { type: 'object', properties } } },
                  },
                },
              },
              'application/geo+json',
            ),
          },
          400: error,
        },
      },
    }
    paths[`/collections/${c.id}/items/{featureId}`] = {
      get: {
        operationId: `get-${c.id}-feature`,
        summary: `${c.title}: one feature`,
        parameters: [
          {
            name: 'featureId',
            in: 'path',
            required: true,
            description: c.naturalKey ? 'The feature id, or its natural code' : 'The feature id',
            schema: { type: 'string' },
          },
          { $ref: '#/components/parameters/crs' },
        ],
        responses: {
          200: { description: 'GeoJSON Feature', ...json({ type: 'object' }, 'application/geo+json') },
          404: error,
        },
      },
    }
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'City foundational data — OGC API – Features',
      version: '1.0.0',
      description: 'Spatial foundational data (UNCONDITIONAL fields only) for GIS tools.',
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      parameters: {
        bbox: {
          name: 'bbox',
          in: 'query',
          required: false,
          style: 'form',
          explode: false,
          schema: { type: 'array', minItems: 4, maxItems: 6, items: { type: 'number' } },
        },
        limit: {
          name: 'limit',
          in: 'query',
          required: false,
          style: 'form',
          explode: false,
          schema: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
        },
        crs: {
          name: 'crs',
          in: 'query',
          required: false,
          description: 'CRS of the answer (Content-Crs says which was used)',
          schema: { type: 'string', format: 'uri', enum: SUPPORTED_CRS.map((c) => c.uri), default: CRS84 },
        },
        'bbox-crs': {
          name: 'bbox-crs',
          in: 'query',
          required: false,
          description: 'CRS of bbox (axis order of that CRS: EPSG:4490 is latitude first)',
          schema: { type: 'string', format: 'uri', enum: SUPPORTED_CRS.map((c) => c.uri), default: CRS84 },
        },
        filter: {
          name: 'filter',
          in: 'query',
          required: false,
          description: 'CQL2 filter on the queryables (/collections/{id}/queryables)',
          schema: { type: 'string' },
        },
        'filter-lang': {
          name: 'filter-lang',
          in: 'query',
          required: false,
          description: 'cql2-text (default) or cql2-json; cql-text is the draft name of cql2-text',
          schema: { type: 'string', enum: ['cql2-text', 'cql2-json', 'cql-text'], default: 'cql2-text' },
        },
        'filter-crs': {
          name: 'filter-crs',
          in: 'query',
          required: false,
          description: 'CRS of the geometries in the filter',
          schema: { type: 'string', format: 'uri', enum: SUPPORTED_CRS.map((c) => c.uri), default: CRS84 },
        },
        offset: {
          name: 'offset',
          in: 'query',
          required: false,
          schema: { type: 'integer', minimum: 0, default: 0 },
        },
      },
      schemas: {
        exception: {
          type: 'object',
          required: ['code'],
          properties: { code: { type: 'string' }, description: { type: 'string' } },
        },
      },
    },
  }
}
