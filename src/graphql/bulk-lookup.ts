import type DataLoader from 'dataloader'
import type { EntityObject } from '../reconciliation/entity.store.js'
import { badInput } from '../shared/errors.js'

/** Most keys one bulk lookup answers (CONTRACT.md §4). */
export const MAX_BULK_KEYS = 1000

export interface BulkLookupSpec {
  /** Argument name, for errors. */
  argument: string
  /** What a key is, for errors ("ID numbers"). */
  noun: string
  /** True when the normalised key passes its check character. */
  isValid: (key: string) => boolean
  /** Entity ids holding each valid key. */
  idsByKey: (keys: string[]) => Promise<Map<string, string>>
  loader: DataLoader<string, EntityObject | null>
}

/**
 * Answers each key in order: FOUND with its entity, NOT_FOUND, or INVALID (fails its check);
 * keys are trimmed and upper-cased before checking. Throws BAD_USER_INPUT over 1,000 keys.
 */
export async function bulkLookup(
  keys: string[],
  spec: BulkLookupSpec,
): Promise<{ key: string; status: 'FOUND' | 'NOT_FOUND' | 'INVALID'; entity: EntityObject | null }[]> {
  if (keys.length > MAX_BULK_KEYS) throw badInput(`at most ${MAX_BULK_KEYS} ${spec.noun} per call`, spec.argument)
  const normalised = keys.map((k) => k.trim().toUpperCase())
  const valid = normalised.map(spec.isValid)
  const ids = await spec.idsByKey(normalised.filter((_, i) => valid[i]))
  const found = await spec.loader.loadMany([...new Set(ids.values())])
  const byId = new Map(found.filter((e): e is EntityObject => !!e && !(e instanceof Error)).map((e) => [e.id, e]))
  return keys.map((key, i) => {
    if (!valid[i]) return { key, status: 'INVALID', entity: null }
    const entity = byId.get(ids.get(normalised[i]) ?? '') ?? null
    return { key, status: entity ? 'FOUND' : 'NOT_FOUND', entity }
  })
}
