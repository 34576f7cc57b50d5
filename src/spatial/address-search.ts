import { normalizeAddressText } from '../reconciliation/fields.js'
import { badInput } from '../shared/errors.js'

/** Longest address query accepted, in characters. */
export const MAX_ADDRESS_QUERY_LENGTH = 200

/**
 * pg_trgm word-similarity threshold for address search. 0.5 keeps "西湖文三路90号" (区 left out,
 * so two components run together) for "西湖区文三路90号" while "莫干山路100号" scores 0; lower
 * thresholds mostly add noise that ranks last anyway.
 */
export const ADDRESS_SEARCH_THRESHOLD = 0.5

/**
 * Normalises a search query exactly as stored addresses are normalised (full-width → half-width,
 * no spaces or punctuation, no 中国/浙江省 prefix), so the SQL search form `address_search_text()`
 * sees both sides alike. Throws BAD_USER_INPUT when nothing searchable is left or the text is too long.
 */
export function normalizeAddressQuery(text: string, field: string): string {
  if (text.length > MAX_ADDRESS_QUERY_LENGTH)
    throw badInput(`${field} is longer than ${MAX_ADDRESS_QUERY_LENGTH} characters`, field)
  const q = normalizeAddressText(text)
  if (!q) throw badInput(`${field} must contain some address text`, field)
  return q
}
