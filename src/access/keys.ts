import { createHash, randomBytes, randomUUID, scrypt as scryptCb, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import type { Knex } from 'knex'
import { ROLES, type RoleName } from '../shared/entity-types.js'
import type { Principal } from './principal.js'

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>

/** Characters of a key stored in clear to find its row; the rest is only ever hashed. */
export const KEY_PREFIX_LENGTH = 12
const KEY_LENGTH = 32

export interface DbPrincipalRow {
  id: string
  name: string
  department_code: string | null
  roles: RoleName[]
  key_prefix: string
  key_hash: string
  created_at: Date
  revoked_at: Date | null
}

/** A new random API key: `cfd_` + 32 random bytes, base64url. */
export function generateKey(): string {
  return `cfd_${randomBytes(32).toString('base64url')}`
}

/** The clear prefix under which a key's row is stored and looked up. */
export function keyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX_LENGTH)
}

/** scrypt hash of a key with a fresh 16-byte salt, as `salt$hash` (both base64url). */
export async function hashKey(key: string): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scrypt(key, salt, KEY_LENGTH)
  return `${salt.toString('base64url')}$${hash.toString('base64url')}`
}

/** True when the key matches a stored `salt$hash`; false for a malformed hash. */
export async function verifyKeyHash(key: string, stored: string): Promise<boolean> {
  const [salt, hash] = stored.split('$')
  if (!salt || !hash) return false
  const expected = Buffer.from(hash, 'base64url')
  const actual = await scrypt(key, Buffer.from(salt, 'base64url'), expected.length || KEY_LENGTH)
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}

export interface NewPrincipal {
  name: string
  departmentCode: string | null
  roles: RoleName[]
  /** Only the demo seed passes a fixed key; everyone else gets a random one. */
  key?: string
}

/** Creates a principal and its key; returns the key in clear (shown once, never stored). */
export async function createPrincipal(knex: Knex, input: NewPrincipal): Promise<{ principal: Principal; key: string }> {
  if (!input.name.trim()) throw new Error('name is required')
  if (!input.roles.length || input.roles.some((r) => !(ROLES as readonly string[]).includes(r)))
    throw new Error(`roles must be some of ${ROLES.join(', ')}`)
  if (input.roles.includes('DEPARTMENT_APP') && !input.departmentCode)
    throw new Error('a DEPARTMENT_APP key needs a department')
  for (let attempt = 0; attempt < 5; attempt++) {
    const key = input.key ?? generateKey()
    const row = {
      id: randomUUID(),
      name: input.name.trim(),
      department_code: input.departmentCode,
      roles: input.roles,
      key_prefix: keyPrefix(key),
      key_hash: await hashKey(key),
    }
    const inserted = await knex('principals').insert(row).onConflict('key_prefix').ignore().returning('id')
    if (inserted.length)
      return {
        principal: { id: row.id, name: row.name, departmentCode: row.department_code, roles: row.roles },
        key,
      }
    if (input.key) throw new Error(`a key with prefix ${keyPrefix(key)} exists already`)
  }
  throw new Error('could not find a free key prefix')
}

/** Principals by id (name, department, roles), in the order asked; null for an unknown id. */
export async function principalsById(
  knex: Knex,
  ids: readonly string[],
): Promise<({ id: string; name: string; departmentCode: string | null; roles: string[] } | null)[]> {
  const rows: Pick<DbPrincipalRow, 'id' | 'name' | 'department_code' | 'roles'>[] = await knex('principals')
    .select('id', 'name', 'department_code', 'roles')
    .whereIn('id', ids as string[])
  const byId = new Map(rows.map((r) => [r.id, r]))
  return ids.map((id) => {
    const r = byId.get(id)
    return r ? { id: r.id, name: r.name, departmentCode: r.department_code, roles: r.roles } : null
  })
}

/** Every principal, newest first (no hashes). */
export async function listPrincipals(knex: Knex): Promise<Omit<DbPrincipalRow, 'key_hash'>[]> {
  return knex('principals')
    .select('id', 'name', 'department_code', 'roles', 'key_prefix', 'created_at', 'revoked_at')
    .orderBy('created_at', 'desc')
}

/** Revokes a principal's key; returns false when no such unrevoked principal exists. */
export async function revokePrincipal(knex: Knex, id: string): Promise<boolean> {
  const n = await knex('principals').where({ id }).whereNull('revoked_at').update({ revoked_at: knex.fn.now() })
  keyCache.clear()
  return n > 0
}

// Verified keys, kept briefly so a busy app does not pay scrypt on every request. Keyed by a fast
// hash of the whole key (never the key itself); a revocation in this process clears it at once,
// one in another process (the CLI) takes effect within KEY_CACHE_MS.
const KEY_CACHE_MS = 30_000
const KEY_CACHE_MAX = 10_000
const keyCache = new Map<string, { principal: Principal; until: number }>()
const cacheKeyOf = (key: string) => createHash('sha256').update(key).digest('base64url')

/** Empties the verified-key cache (after a revocation). */
export function clearKeyCache(): void {
  keyCache.clear()
}

// A key whose prefix matches no row is still checked against a hash, so an unknown prefix costs
// the same scrypt as a known one and answer times do not tell which prefixes exist.
let decoyHash: Promise<string> | undefined

/** The principal holding this key, from the cache when fresh; null for an unknown, wrong or revoked key (same work either way). */
export async function principalForKey(knex: Knex, key: string, now = Date.now()): Promise<Principal | null> {
  const cached = cachedPrincipal(key, now)
  if (cached) return cached
  const row: DbPrincipalRow | undefined = await knex('principals')
    .where('key_prefix', keyPrefix(key))
    .whereNull('revoked_at')
    .first()
  const matches = await verifyKeyHash(key, row?.key_hash ?? (await (decoyHash ??= hashKey(generateKey()))))
  if (!row || !matches) return null
  const principal: Principal = {
    id: row.id,
    name: row.name,
    departmentCode: row.department_code,
    roles: row.roles,
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear()
  keyCache.set(cacheKeyOf(key), { principal, until: now + KEY_CACHE_MS })
  return principal
}

/** The principal of a verified key still in the cache, or undefined (the caller then checks the key, and may rate-limit first). */
export function cachedPrincipal(key: string, now = Date.now()): Principal | undefined {
  const hit = keyCache.get(cacheKeyOf(key))
  return hit && hit.until > now ? hit.principal : undefined
}
