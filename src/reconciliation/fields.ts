import {
  DIVISION_LEVELS,
  EMPLOYMENT_STATUSES,
  GENDERS,
  LEGAL_ENTITY_KINDS,
  LEGAL_ENTITY_STATUSES,
  MARITAL_STATUSES,
  OBSERVATION_STATUSES,
  type EntityTypeName,
} from '../shared/entity-types.js'

/**
 * The field registry: for every entity type, the fields a department may claim, how a value is
 * validated, and where the golden value is projected. Validation, projection, the catalogue and
 * sharing all read this one list.
 */
export type FieldKind =
  | { type: 'string'; maxLength?: number; pattern?: RegExp }
  | { type: 'enum'; values: readonly string[] }
  /** past: a fact that has happened (birth, death, establishment), so not after today. */
  | { type: 'date'; past?: boolean }
  | { type: 'number'; min?: number; max?: number }
  | { type: 'integer'; min?: number; max?: number }
  | { type: 'boolean' }
  /** An ISO 8601 instant, stored as its UTC ISO string. */
  | { type: 'datetime' }
  | { type: 'idNumber' }
  | { type: 'creditCode' }
  | { type: 'divisionCode' }
  | { type: 'period' }
  | { type: 'department' }
  | { type: 'geometry'; geometryTypes: readonly string[] }
  /** A link to another entity by its natural key (or its id); value is the key string. */
  | {
      type: 'reference'
      target: EntityTypeName
      keyKind: 'idNumber' | 'creditCode' | 'divisionCode' | 'addressText' | 'parcelCode' | 'indicatorCode'
    }

export interface FieldSpec {
  name: string
  kind: FieldKind
  /** Projection column (references: the `<col>_key` / `<col>_id` pair's stem). */
  column: string
  /** Attribute names accepted for this field, besides `name` (references: natural-key names). */
  aliases?: string[]
  /** Part of the natural key used for identity resolution. */
  naturalKey?: boolean
  /** A new entity cannot be created without it (persons and legal entities: see canCreateEntity). */
  requiredForNew?: boolean
  /** Human description for the catalogue. */
  label: string
}

export interface EntitySpec {
  entityType: EntityTypeName
  table: string
  /** The GraphQL type name. */
  typeName: string
  fields: FieldSpec[]
  /** Field that receives SourceRecordInput.geometry, if any. */
  geometryField?: string
}

const s = (name: string, column: string, label: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  column,
  label,
  kind: { type: 'string', maxLength: 500 },
  ...extra,
})

export const ENTITY_SPECS: Record<EntityTypeName, EntitySpec> = {
  PERSON: {
    entityType: 'PERSON',
    table: 'persons',
    typeName: 'Person',
    fields: [
      {
        name: 'idNumber',
        column: 'id_number',
        kind: { type: 'idNumber' },
        naturalKey: true,
        label: 'Citizen identity number (GB 11643)',
      },
      s('name', 'name', 'Name', { kind: { type: 'string', maxLength: 100 } }),
      { name: 'gender', column: 'gender', kind: { type: 'enum', values: GENDERS }, label: 'Gender' },
      { name: 'birthDate', column: 'birth_date', kind: { type: 'date', past: true }, label: 'Date of birth' },
      s('ethnicity', 'ethnicity', 'Ethnic group', { kind: { type: 'string', maxLength: 50 } }),
      {
        name: 'maritalStatus',
        column: 'marital_status',
        kind: { type: 'enum', values: MARITAL_STATUSES },
        label: 'Marital status',
      },
      s('educationLevel', 'education_level', 'Highest education level', {
        kind: { type: 'string', maxLength: 50 },
      }),
      {
        name: 'employmentStatus',
        column: 'employment_status',
        kind: { type: 'enum', values: EMPLOYMENT_STATUSES },
        label: 'Employment status',
      },
      { name: 'deathDate', column: 'death_date', kind: { type: 'date', past: true }, label: 'Date of death' },
      {
        name: 'householdAddress',
        column: 'household_address',
        kind: { type: 'reference', target: 'ADDRESS', keyKind: 'addressText' },
        aliases: ['householdAddressText', 'householdAddressId'],
        label: 'Household-registration address',
      },
      {
        name: 'residenceAddress',
        column: 'residence_address',
        kind: { type: 'reference', target: 'ADDRESS', keyKind: 'addressText' },
        aliases: ['residenceAddressText', 'residenceAddressId'],
        label: 'Residence address',
      },
      {
        name: 'employer',
        column: 'employer',
        kind: { type: 'reference', target: 'LEGAL_ENTITY', keyKind: 'creditCode' },
        aliases: ['employerCreditCode', 'employerId'],
        label: 'Employer',
      },
    ],
  },
  LEGAL_ENTITY: {
    entityType: 'LEGAL_ENTITY',
    table: 'legal_entities',
    typeName: 'LegalEntity',
    fields: [
      {
        name: 'creditCode',
        column: 'credit_code',
        kind: { type: 'creditCode' },
        naturalKey: true,
        label: 'Unified social credit code (GB 32100)',
      },
      s('name', 'name', 'Registered name'),
      {
        name: 'kind',
        column: 'kind',
        kind: { type: 'enum', values: LEGAL_ENTITY_KINDS },
        label: 'Kind of legal entity',
      },
      {
        name: 'status',
        column: 'status',
        kind: { type: 'enum', values: LEGAL_ENTITY_STATUSES },
        label: 'Registration status',
      },
      {
        name: 'legalRepresentative',
        column: 'legal_representative',
        kind: { type: 'reference', target: 'PERSON', keyKind: 'idNumber' },
        aliases: ['legalRepresentativeIdNumber', 'legalRepresentativeId'],
        label: 'Legal representative',
      },
      s('legalRepresentativeName', 'legal_representative_name', 'Legal representative name', {
        kind: { type: 'string', maxLength: 100 },
      }),
      {
        name: 'registeredCapital',
        column: 'registered_capital',
        kind: { type: 'number', min: 0, max: 1e15 },
        label: 'Registered capital (CNY)',
      },
      {
        name: 'establishedDate',
        column: 'established_date',
        kind: { type: 'date', past: true },
        label: 'Date of establishment',
      },
      s('industryCode', 'industry_code', 'Industry code (GB/T 4754)', {
        kind: { type: 'string', pattern: /^[A-T]?\d{2,4}$/ },
      }),
      s('businessScope', 'business_scope', 'Business scope', { kind: { type: 'string', maxLength: 4000 } }),
      {
        name: 'registeredAddress',
        column: 'registered_address',
        kind: { type: 'reference', target: 'ADDRESS', keyKind: 'addressText' },
        aliases: ['registeredAddressText', 'registeredAddressId'],
        label: 'Registered address',
      },
      s('taxStatus', 'tax_status', 'Tax registration status', { kind: { type: 'string', maxLength: 50 } }),
      {
        name: 'taxCreditRating',
        column: 'tax_credit_rating',
        kind: { type: 'enum', values: ['A', 'B', 'M', 'C', 'D'] },
        label: 'Tax credit rating',
      },
    ],
  },
  ADMIN_DIVISION: {
    entityType: 'ADMIN_DIVISION',
    table: 'admin_divisions',
    typeName: 'AdminDivision',
    geometryField: 'geometry',
    fields: [
      {
        name: 'code',
        column: 'code',
        kind: { type: 'divisionCode' },
        naturalKey: true,
        requiredForNew: true,
        label: 'Division code (GB/T 2260)',
      },
      s('name', 'name', 'Official name'),
      { name: 'level', column: 'level', kind: { type: 'enum', values: DIVISION_LEVELS }, label: 'Level' },
      {
        name: 'parent',
        column: 'parent',
        kind: { type: 'reference', target: 'ADMIN_DIVISION', keyKind: 'divisionCode' },
        aliases: ['parentCode'],
        label: 'Parent division',
      },
      {
        name: 'geometry',
        column: 'geom',
        kind: { type: 'geometry', geometryTypes: ['Polygon', 'MultiPolygon'] },
        label: 'Boundary',
      },
    ],
  },
  ADDRESS: {
    entityType: 'ADDRESS',
    table: 'addresses',
    typeName: 'Address',
    geometryField: 'location',
    fields: [
      // Addresses have no national key: the normalised full text identifies them.
      s('fullText', 'full_text', 'Full address text', { naturalKey: true, requiredForNew: true }),
      {
        name: 'division',
        column: 'division',
        kind: { type: 'reference', target: 'ADMIN_DIVISION', keyKind: 'divisionCode' },
        aliases: ['divisionCode'],
        label: 'Admin division',
      },
      s('road', 'road', 'Road or street', { kind: { type: 'string', maxLength: 100 } }),
      s('doorNumber', 'door_number', 'Door number', { kind: { type: 'string', maxLength: 50 } }),
      s('buildingName', 'building_name', 'Building name', { kind: { type: 'string', maxLength: 100 } }),
      s('unit', 'unit', 'Unit', { kind: { type: 'string', maxLength: 50 } }),
      s('room', 'room', 'Room', { kind: { type: 'string', maxLength: 50 } }),
      {
        name: 'location',
        column: 'location',
        kind: { type: 'geometry', geometryTypes: ['Point'] },
        label: 'Address point',
      },
    ],
  },
  BUILDING: {
    entityType: 'BUILDING',
    table: 'buildings',
    typeName: 'Building',
    geometryField: 'footprint',
    fields: [
      s('name', 'name', 'Building name'),
      {
        name: 'footprint',
        column: 'footprint',
        kind: { type: 'geometry', geometryTypes: ['Polygon'] },
        label: 'Footprint',
      },
      {
        name: 'floors',
        column: 'floors',
        kind: { type: 'integer', min: -10, max: 200 },
        label: 'Floors above ground',
      },
      s('useType', 'use_type', 'Use type', { kind: { type: 'string', maxLength: 50 } }),
      {
        name: 'parcel',
        column: 'parcel',
        kind: { type: 'reference', target: 'PARCEL', keyKind: 'parcelCode' },
        aliases: ['parcelCode'],
        label: 'Parcel',
      },
    ],
  },
  PARCEL: {
    entityType: 'PARCEL',
    table: 'parcels',
    typeName: 'Parcel',
    geometryField: 'geometry',
    fields: [
      s('parcelCode', 'parcel_code', 'Parcel code', {
        kind: { type: 'string', maxLength: 40, pattern: /^[0-9A-Z-]{6,40}$/ },
        naturalKey: true,
        requiredForNew: true,
      }),
      s('landUse', 'land_use', 'Land use', { kind: { type: 'string', maxLength: 50 } }),
      {
        name: 'landUserCreditCode',
        column: 'land_user_credit_code',
        kind: { type: 'creditCode' },
        label: 'Land user: credit code (GB 32100) of the holder of the land-use right',
      },
      {
        name: 'geometry',
        column: 'geom',
        kind: { type: 'geometry', geometryTypes: ['Polygon'] },
        label: 'Boundary',
      },
    ],
  },
  INDICATOR: {
    entityType: 'INDICATOR',
    table: 'indicators',
    typeName: 'Indicator',
    fields: [
      s('code', 'code', 'Indicator code', {
        kind: { type: 'string', maxLength: 40, pattern: /^[A-Za-z0-9_.-]{1,40}$/ },
        naturalKey: true,
        requiredForNew: true,
      }),
      s('name', 'name', 'Indicator name'),
      s('unit', 'unit', 'Unit', { kind: { type: 'string', maxLength: 40 } }),
      s('category', 'category', 'Category', { kind: { type: 'string', maxLength: 100 } }),
      s('subcategory', 'subcategory', 'Subcategory', { kind: { type: 'string', maxLength: 100 } }),
      s('description', 'description', 'Definition', { kind: { type: 'string', maxLength: 4000 } }),
      {
        name: 'owner',
        column: 'owner_code',
        kind: { type: 'department' },
        aliases: ['ownerCode'],
        label: 'Owning department',
      },
    ],
  },
  OBSERVATION: {
    entityType: 'OBSERVATION',
    table: 'observations',
    typeName: 'Observation',
    fields: [
      {
        name: 'indicator',
        column: 'indicator',
        kind: { type: 'reference', target: 'INDICATOR', keyKind: 'indicatorCode' },
        aliases: ['indicatorCode'],
        naturalKey: true,
        requiredForNew: true,
        label: 'Indicator',
      },
      {
        name: 'region',
        column: 'region',
        kind: { type: 'reference', target: 'ADMIN_DIVISION', keyKind: 'divisionCode' },
        aliases: ['regionCode'],
        naturalKey: true,
        requiredForNew: true,
        label: 'Region',
      },
      {
        name: 'period',
        column: 'period',
        kind: { type: 'period' },
        naturalKey: true,
        requiredForNew: true,
        label: 'Period',
      },
      { name: 'value', column: 'value', kind: { type: 'number', min: -1e18, max: 1e18 }, label: 'Value' },
      {
        name: 'status',
        column: 'status',
        kind: { type: 'enum', values: OBSERVATION_STATUSES },
        label: 'Observation status',
      },
    ],
  },
}

/** The spec of one field, or undefined when the entity type has no such field. */
export function fieldSpec(entityType: EntityTypeName, field: string): FieldSpec | undefined {
  return ENTITY_SPECS[entityType].fields.find((f) => f.name === field)
}

/**
 * Whether a record that matched no entity carries enough to found one: every required field, and
 * for persons and legal entities their natural key or at least a name. Returns the missing field, or null.
 */
export function missingForNewEntity(entityType: EntityTypeName, values: Record<string, unknown>): string | null {
  const spec = ENTITY_SPECS[entityType]
  const required = spec.fields.find((f) => f.requiredForNew && values[f.name] === undefined)
  if (required) return required.name
  if (entityType === 'PERSON' && values.idNumber === undefined && values.name === undefined) return 'name'
  if (entityType === 'LEGAL_ENTITY' && values.creditCode === undefined && values.name === undefined) return 'name'
  return null
}

/**
 * Whether a rule's field is a catalogue-defined (extended) item rather than a typed field of the
 * registry or a rule-only connection (LEGAL_ENTITY.employees).
 */
export function isExtendedField(entityType: EntityTypeName, field: string): boolean {
  return !fieldSpec(entityType, field) && !(entityType === 'LEGAL_ENTITY' && field === 'employees')
}

/** Maps an attribute name (field name or alias) to its field; undefined for unknown names. */
export function fieldForAttribute(entityType: EntityTypeName, attribute: string): FieldSpec | undefined {
  return ENTITY_SPECS[entityType].fields.find((f) => f.name === attribute || f.aliases?.includes(attribute))
}

/** Normalises a Chinese address for matching: full-width → half-width, no spaces, no 中国/省 prefix noise. */
export function normalizeAddressText(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\s+/g, '')
    .replace(/^中国/, '')
    .replace(/^浙江省?/, '')
    .replace(/[，,。．.]/g, '')
    .toUpperCase()
}
