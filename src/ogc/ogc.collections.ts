import type { Principal } from '../access/principal.js'

/** One OGC API – Features collection: a projection table with a geometry column. */
export interface OgcCollection {
  id: string
  title: string
  description: string
  table: string
  geometryColumn: string
  geometryType: 'Point' | 'Polygon' | 'MultiPolygon'
  /** Column of a natural code that also identifies a feature (`/items/330106`); none for addresses and buildings. */
  naturalKey?: string
  /** GeoJSON property → column. */
  properties: Record<string, { column: string; type: 'string' | 'number' | 'integer' }>
}

// Only spatial data whose every field is UNCONDITIONAL (CONTRACT.md §4) is published here.
export const OGC_COLLECTIONS: OgcCollection[] = [
  {
    id: 'admin-divisions',
    title: 'Administrative divisions',
    description: 'Division boundaries (GB/T 2260 codes) with their level and parent.',
    table: 'admin_divisions',
    geometryColumn: 'geom',
    naturalKey: 'code',
    geometryType: 'MultiPolygon',
    properties: {
      code: { column: 'code', type: 'string' },
      name: { column: 'name', type: 'string' },
      level: { column: 'level', type: 'string' },
      parentCode: { column: 'parent_key', type: 'string' },
      areaSqKm: { column: 'area_sq_km', type: 'number' },
    },
  },
  {
    id: 'addresses',
    title: 'Addresses',
    description: 'Address points with their full text and division code.',
    table: 'addresses',
    geometryColumn: 'location',
    geometryType: 'Point',
    properties: {
      fullText: { column: 'full_text', type: 'string' },
      divisionCode: { column: 'division_key', type: 'string' },
      road: { column: 'road', type: 'string' },
      doorNumber: { column: 'door_number', type: 'string' },
      buildingName: { column: 'building_name', type: 'string' },
      unit: { column: 'unit', type: 'string' },
      room: { column: 'room', type: 'string' },
    },
  },
  {
    id: 'buildings',
    title: 'Buildings',
    description: 'Building footprints with floors, use and parcel.',
    table: 'buildings',
    geometryColumn: 'footprint',
    geometryType: 'Polygon',
    properties: {
      name: { column: 'name', type: 'string' },
      floors: { column: 'floors', type: 'integer' },
      useType: { column: 'use_type', type: 'string' },
      parcelCode: { column: 'parcel_key', type: 'string' },
    },
  },
  {
    id: 'parcels',
    title: 'Parcels',
    description: 'Cadastral parcels with land use and spheroidal area.',
    table: 'parcels',
    geometryColumn: 'geom',
    naturalKey: 'parcel_code',
    geometryType: 'Polygon',
    properties: {
      parcelCode: { column: 'parcel_code', type: 'string' },
      landUse: { column: 'land_use', type: 'string' },
      landUserCreditCode: { column: 'land_user_credit_code', type: 'string' },
      areaSqM: { column: 'area_sq_m', type: 'number' },
    },
  },
]

/**
 * The properties of a collection the caller may see. Today every published field is
 * UNCONDITIONAL, so this is all of them; it is the one place where the access layer's sharing
 * rules (grants, FORBIDDEN fields) are to be enforced for the OGC routes.
 */
export function visibleProperties(_principal: Principal | null, collection: OgcCollection): string[] {
  return Object.keys(collection.properties)
}
