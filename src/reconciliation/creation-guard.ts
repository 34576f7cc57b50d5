import type { EntityTypeName } from '../shared/entity-types.js'
import type { AuthorityRules } from './authority.store.js'
import { ENTITY_SPECS } from './fields.js'
import { ValidationError } from './rules/validate.js'

/**
 * Fields the GraphQL types promise non-null (Address.fullText: String!, AdminDivision.name, …).
 * A new entity must get a golden value for each from the record that founds it, or a public
 * query that meets it would fail for every caller. (An observation's key fields are claimed by
 * whoever reports a figure: its authority is the indicator's owner, decided per indicator.)
 */
export const PROMISED_FIELDS: Partial<Record<EntityTypeName, readonly string[]>> = {
  ADDRESS: ['fullText'],
  ADMIN_DIVISION: ['code', 'name', 'level'],
  PARCEL: ['parcelCode'],
  INDICATOR: ['code', 'name'],
}

/**
 * Why this department's record cannot found a new entity of the type, or null when it can: a
 * promised field is missing (MISSING_FIELD), or the department is neither its authority nor a
 * stand-in, so its value would not become the golden one and the field would stay empty (NOT_AUTHORIZED).
 */
export function creationRefusal(
  entityType: EntityTypeName,
  department: string,
  values: Record<string, unknown>,
  rules: AuthorityRules,
): ValidationError | null {
  const typeName = ENTITY_SPECS[entityType].typeName
  for (const field of PROMISED_FIELDS[entityType] ?? []) {
    if (values[field] === undefined)
      return new ValidationError('MISSING_FIELD', field, `${field} is required to create a new ${typeName}`)
    const rule = rules.ruleFor(entityType, field)
    if (rule && rule.authority !== department && !rule.fallbacks.includes(department))
      return new ValidationError(
        'NOT_AUTHORIZED',
        field,
        `${department} cannot create a new ${typeName}: its ${field} is decided by ${rule.authority}` +
          `${rule.fallbacks.length ? ` (stand-ins: ${rule.fallbacks.join(', ')})` : ''}, so the new ${typeName} would have no ${field}; ` +
          `the ${typeName} must first be submitted by one of them`,
      )
  }
  return null
}
