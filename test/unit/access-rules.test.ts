import { describe, expect, it } from 'vitest'
import { chainHash } from '../../src/access/access-log.store.js'
import { hashKey, keyPrefix, verifyKeyHash, generateKey } from '../../src/access/keys.js'
import { RateLimiter } from '../../src/access/rate-limit.js'
import { maySee } from '../../src/access/visibility.js'
import type { AuthorityRule } from '../../src/reconciliation/authority.store.js'

const rule = (sharingClass: AuthorityRule['sharingClass'], authority = 'PSB'): AuthorityRule => ({
  entityType: 'PERSON',
  field: 'name',
  entityKind: '',
  authority,
  fallbacks: [],
  sharingClass,
})
const app = (dept: string) => ({
  id: dept,
  name: dept,
  departmentCode: dept,
  roles: ['DEPARTMENT_APP' as const],
})
const role = (r: 'STEWARD' | 'ADMIN' | 'AUDITOR') => ({ id: r, name: r, departmentCode: null, roles: [r] })
const anonymous = { id: 'anonymous', name: 'Anonymous', departmentCode: null, roles: [] }
const none = new Set<string>()

describe('maySee (CONTRACT §4)', () => {
  it('UNCONDITIONAL: any authenticated caller; anonymous only for spatial and statistics types', () => {
    expect(maySee(app('EDU'), 'LEGAL_ENTITY', 'name', rule('UNCONDITIONAL', 'AMR'), none)).toBe(true)
    expect(maySee(anonymous, 'LEGAL_ENTITY', 'name', rule('UNCONDITIONAL', 'AMR'), none)).toBe(false)
    expect(maySee(anonymous, 'ADDRESS', 'road', rule('UNCONDITIONAL', 'CAB'), none)).toBe(true)
    expect(maySee(anonymous, 'ADDRESS', 'road', rule('CONDITIONAL', 'CAB'), none)).toBe(false)
  })
  it('CONDITIONAL: owner, STEWARD, AUDITOR, or a grant; not ADMIN', () => {
    const r = rule('CONDITIONAL')
    expect(maySee(app('PSB'), 'PERSON', 'name', r, none)).toBe(true)
    expect(maySee(app('EDU'), 'PERSON', 'name', r, none)).toBe(false)
    expect(maySee(app('EDU'), 'PERSON', 'name', r, new Set(['PERSON|name']))).toBe(true)
    expect(maySee(app('EDU'), 'PERSON', 'name', r, new Set(['PERSON|gender']))).toBe(false)
    expect(maySee(role('STEWARD'), 'PERSON', 'name', r, none)).toBe(true)
    expect(maySee(role('AUDITOR'), 'PERSON', 'name', r, none)).toBe(true)
    expect(maySee(role('ADMIN'), 'PERSON', 'name', r, none)).toBe(false)
  })
  it('NONE: owner and STEWARD only, grants do not open it', () => {
    const r = rule('NONE')
    expect(maySee(app('PSB'), 'PERSON', 'name', r, none)).toBe(true)
    expect(maySee(role('STEWARD'), 'PERSON', 'name', r, none)).toBe(true)
    expect(maySee(role('AUDITOR'), 'PERSON', 'name', r, none)).toBe(false)
    expect(maySee(app('EDU'), 'PERSON', 'name', r, new Set(['PERSON|name']))).toBe(false)
  })
  it('a field without a rule is treated as NONE', () => {
    expect(maySee(app('EDU'), 'PERSON', 'secret', undefined, new Set(['PERSON|secret']))).toBe(false)
    expect(maySee(role('STEWARD'), 'PERSON', 'secret', undefined, none)).toBe(true)
  })
})

describe('API keys', () => {
  it('are random, and verify only against their own hash', async () => {
    const a = generateKey()
    const b = generateKey()
    expect(a).toMatch(/^cfd_[A-Za-z0-9_-]{43}$/)
    expect(a).not.toBe(b)
    expect(keyPrefix(a)).toHaveLength(12)
    const stored = await hashKey(a)
    expect(stored).not.toContain(a)
    expect(await verifyKeyHash(a, stored)).toBe(true)
    expect(await verifyKeyHash(b, stored)).toBe(false)
    expect(await verifyKeyHash(a, 'garbage')).toBe(false)
    expect(await hashKey(a)).not.toBe(stored) // per-key salt
  })
})

describe('RateLimiter', () => {
  it('allows a burst, then asks to wait, and refills over time', () => {
    const l = new RateLimiter(3, 1)
    const t = 1_000_000
    expect([l.take('k', t), l.take('k', t), l.take('k', t)]).toEqual([0, 0, 0])
    expect(l.take('k', t)).toBe(1)
    expect(l.take('other', t)).toBe(0)
    expect(l.take('k', t + 1500)).toBe(0)
  })
})

describe('access-log chain hash', () => {
  it('depends on the previous hash and on every part of the row', () => {
    const e = {
      at: new Date('2026-01-01T00:00:00Z'),
      principalId: 'p',
      purpose: 'x',
      operationName: null,
      personIds: ['b', 'a'],
      fields: ['name'],
    }
    const h = chainHash('', e)
    expect(chainHash('', { ...e, personIds: ['a', 'b'] })).toBe(h) // order-independent sets
    expect(chainHash('x', e)).not.toBe(h)
    expect(chainHash('', { ...e, purpose: 'y' })).not.toBe(h)
    expect(chainHash('', { ...e, fields: ['name', 'gender'] })).not.toBe(h)
    expect(chainHash('', { ...e, at: new Date('2026-01-01T00:00:00.001Z') })).not.toBe(h)
  })
})
