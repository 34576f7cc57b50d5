export const ENTITY_TYPES = [
  'PERSON',
  'LEGAL_ENTITY',
  'ADMIN_DIVISION',
  'ADDRESS',
  'BUILDING',
  'PARCEL',
  'INDICATOR',
  'OBSERVATION',
] as const
export type EntityTypeName = (typeof ENTITY_TYPES)[number]

export const VALUE_STATUSES = ['AUTHORITATIVE', 'PROVISIONAL', 'STEWARD_OVERRIDE'] as const
export type ValueStatusName = (typeof VALUE_STATUSES)[number]

export const SHARING_CLASSES = ['UNCONDITIONAL', 'CONDITIONAL', 'NONE'] as const
export type SharingClassName = (typeof SHARING_CLASSES)[number]

export const GENDERS = ['MALE', 'FEMALE', 'UNKNOWN'] as const
export const MARITAL_STATUSES = ['UNMARRIED', 'MARRIED', 'DIVORCED', 'WIDOWED', 'UNKNOWN'] as const
export const EMPLOYMENT_STATUSES = ['EMPLOYED', 'UNEMPLOYED', 'RETIRED', 'STUDENT', 'OTHER', 'UNKNOWN'] as const
export const LEGAL_ENTITY_KINDS = [
  'ENTERPRISE',
  'INDIVIDUAL_BUSINESS',
  'SOCIAL_ORGANIZATION',
  'PUBLIC_INSTITUTION',
  'GOVERNMENT_AGENCY',
  'OTHER',
] as const
export const LEGAL_ENTITY_STATUSES = ['ACTIVE', 'REVOKED', 'CANCELLED', 'DISSOLVED'] as const
export const DIVISION_LEVELS = ['PROVINCE', 'CITY', 'DISTRICT', 'TOWNSHIP', 'VILLAGE'] as const
export const OBSERVATION_STATUSES = ['PRELIMINARY', 'FINAL', 'REVISED'] as const
export const CONFLICT_KINDS = ['VALUE_MISMATCH', 'POSSIBLE_DUPLICATE', 'ERROR_REPORT'] as const
export const CONFLICT_STATUSES = ['OPEN', 'RESOLVED'] as const
export const CONFLICT_DECISIONS = [
  'KEEP_AUTHORITATIVE',
  'ACCEPT_CANDIDATE',
  'SET_VALUE',
  'MERGE',
  'NOT_DUPLICATE',
] as const
export const ROLES = ['DEPARTMENT_APP', 'STEWARD', 'ADMIN', 'AUDITOR'] as const
export type RoleName = (typeof ROLES)[number]
