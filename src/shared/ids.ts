import { badInput } from './errors.js'

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Checks an entity id argument and lower-cases it; throws BAD_USER_INPUT naming the field when it is not a UUID. */
export function checkId(id: string, field = 'id'): string {
  if (!UUID.test(id)) throw badInput(`${field} is not an id`, field)
  return id.toLowerCase()
}
