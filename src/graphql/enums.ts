import { registerEnumType } from 'type-graphql'
import * as E from '../shared/entity-types.js'

const asEnum = <T extends readonly string[]>(values: T) =>
  Object.fromEntries(values.map((v) => [v, v])) as { [K in T[number]]: K }

export const EntityType = asEnum(E.ENTITY_TYPES)
export const SharingClass = asEnum(E.SHARING_CLASSES)
export const Role = asEnum(E.ROLES)
export const ValueStatus = asEnum(E.VALUE_STATUSES)
export const Gender = asEnum(E.GENDERS)
export const MaritalStatus = asEnum(E.MARITAL_STATUSES)
export const EmploymentStatus = asEnum(E.EMPLOYMENT_STATUSES)
export const LookupStatus = asEnum(['FOUND', 'NOT_FOUND', 'INVALID'] as const)
export const LegalEntityKind = asEnum(E.LEGAL_ENTITY_KINDS)
export const LegalEntityStatus = asEnum(E.LEGAL_ENTITY_STATUSES)
export const DivisionLevel = asEnum(E.DIVISION_LEVELS)
export const ObservationStatus = asEnum(E.OBSERVATION_STATUSES)
export const ConflictKind = asEnum(E.CONFLICT_KINDS)
export const ConflictStatus = asEnum(E.CONFLICT_STATUSES)
export const ConflictDecision = asEnum(E.CONFLICT_DECISIONS)
export const SharingRequestStatus = asEnum(['PENDING', 'APPROVED', 'REJECTED'] as const)

registerEnumType(EntityType, { name: 'EntityType' })
registerEnumType(SharingClass, { name: 'SharingClass' })
registerEnumType(Role, { name: 'Role' })
registerEnumType(ValueStatus, {
  name: 'ValueStatus',
  description: 'How the value shown for a field was chosen.',
})
registerEnumType(Gender, { name: 'Gender' })
registerEnumType(MaritalStatus, { name: 'MaritalStatus' })
registerEnumType(EmploymentStatus, { name: 'EmploymentStatus' })
registerEnumType(LookupStatus, { name: 'LookupStatus' })
registerEnumType(LegalEntityKind, { name: 'LegalEntityKind' })
registerEnumType(LegalEntityStatus, { name: 'LegalEntityStatus' })
registerEnumType(DivisionLevel, { name: 'DivisionLevel' })
registerEnumType(ObservationStatus, { name: 'ObservationStatus' })
registerEnumType(ConflictKind, { name: 'ConflictKind' })
registerEnumType(ConflictStatus, { name: 'ConflictStatus' })
registerEnumType(ConflictDecision, { name: 'ConflictDecision' })
registerEnumType(SharingRequestStatus, { name: 'SharingRequestStatus' })
