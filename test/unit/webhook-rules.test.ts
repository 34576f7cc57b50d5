import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  deriveEvents,
  eventFor,
  retryDelay,
  signature,
  urlProblem,
  type ChangeGroup,
} from '../../src/notifications/rules.js'

const group = (over: Partial<ChangeGroup>): ChangeGroup => ({
  position: 7,
  seq: 70,
  entityType: 'PERSON',
  entityId: 'e1',
  operation: 'submitRecords',
  created: false,
  changes: [],
  conflictFields: [],
  occurredAt: new Date('2025-01-01T00:00:00Z'),
  ...over,
})

describe('webhook URL allow-list', () => {
  const allowed = ['https://apps.hrss.example.gov.cn/', 'http://127.0.0.1:4899']
  it('admits URLs under a prefix, at a boundary', () => {
    expect(urlProblem('https://apps.hrss.example.gov.cn/hooks/1', allowed)).toBeNull()
    expect(urlProblem('http://127.0.0.1:4899/x', allowed)).toBeNull()
    expect(urlProblem('http://127.0.0.1:4899', allowed)).toBeNull()
  })
  it('refuses look-alike hosts, other ports, credentials, other schemes and non-URLs', () => {
    for (const url of [
      'https://apps.hrss.example.gov.cn.evil.example/',
      'http://127.0.0.1:48990/',
      'http://127.0.0.1:4899@evil.example/',
      'https://user:pw@apps.hrss.example.gov.cn/',
      'ftp://apps.hrss.example.gov.cn/',
      'file:///etc/passwd',
      'http://169.254.169.254/',
      '/relative',
      '',
    ])
      expect(urlProblem(url, allowed), url).not.toBeNull()
  })
  it('refuses everything when the operator allowed nothing', () => {
    expect(urlProblem('https://apps.hrss.example.gov.cn/', [])).toMatch(/WEBHOOK_ALLOWED_URLS is empty/)
  })
})

describe('events derived from a transaction', () => {
  it('a new entity: ENTITY_CREATED with its fields, no PERSON_MOVED for its first address', () => {
    const g = group({
      created: true,
      changes: [
        { field: 'name', oldValue: null, newValue: 'A' },
        { field: 'residenceAddress', oldValue: null, newValue: 'a1' },
      ],
    })
    expect(deriveEvents(g)).toEqual([{ kind: 'ENTITY_CREATED', fields: ['name', 'residenceAddress'] }])
  })
  it('a death and a move: FIELD_CHANGED, then the semantic kinds', () => {
    const g = group({
      changes: [
        { field: 'deathDate', oldValue: null, newValue: '2025-01-01' },
        { field: 'residenceAddress', oldValue: 'a1', newValue: 'a2' },
      ],
    })
    expect(deriveEvents(g).map((e) => e.kind)).toEqual(['FIELD_CHANGED', 'PERSON_DIED', 'PERSON_MOVED'])
  })
  it('a corrected death date is no second death', () => {
    const g = group({ changes: [{ field: 'deathDate', oldValue: '2025-01-01', newValue: '2025-01-02' }] })
    expect(deriveEvents(g).map((e) => e.kind)).toEqual(['FIELD_CHANGED'])
  })
  it('deregistration of a legal entity, once', () => {
    const le = (oldValue: string | null, newValue: string) =>
      deriveEvents(group({ entityType: 'LEGAL_ENTITY', changes: [{ field: 'status', oldValue, newValue }] })).map(
        (e) => e.kind,
      )
    expect(le('ACTIVE', 'CANCELLED')).toEqual(['FIELD_CHANGED', 'LEGAL_ENTITY_DEREGISTERED'])
    expect(le('CANCELLED', 'DISSOLVED')).toEqual(['FIELD_CHANGED'])
  })
  it('merges and unmerges, and conflicts opened', () => {
    const merged = group({ operation: 'mergeEntities', changes: [{ field: 'name', oldValue: 'A', newValue: null }] })
    expect(deriveEvents(merged).map((e) => e.kind)).toEqual(['ENTITIES_MERGED'])
    const unmerged = group({ operation: 'unmergeEntity', changes: [{ field: 'name', oldValue: null, newValue: 'A' }] })
    expect(deriveEvents(unmerged).map((e) => e.kind)).toEqual(['ENTITY_UNMERGED'])
    const conflicts = group({ seq: 0, conflictFields: ['birthDate', 'birthDate', null] })
    expect(deriveEvents(conflicts)).toEqual([{ kind: 'CONFLICT_OPENED', fields: ['birthDate'], basis: '*' }])
  })
})

describe('what a subscriber receives', () => {
  const g = group({
    changes: [
      { field: 'deathDate', oldValue: null, newValue: '2025-01-01' },
      { field: 'educationLevel', oldValue: null, newValue: 'X' },
    ],
  })
  const [changed, died] = deriveEvents(g)
  const filter = (over: Partial<Parameters<typeof eventFor>[2]> = {}) => ({
    entityTypes: ['PERSON'],
    kinds: ['FIELD_CHANGED', 'PERSON_DIED'],
    fields: null,
    entityIds: null,
    maySee: (_t: string, f: string) => f !== 'deathDate',
    ...over,
  })
  it('only fields it may see; no semantic kind derived from a hidden field', () => {
    expect(eventFor(g, changed, filter())).toEqual({ kind: 'FIELD_CHANGED', fields: ['educationLevel'] })
    expect(eventFor(g, died, filter())).toBeNull()
    expect(eventFor(g, died, filter({ maySee: () => true }))?.kind).toBe('PERSON_DIED')
  })
  it('only what it asked for: entity types, kinds, fields, entities', () => {
    expect(eventFor(g, changed, filter({ entityTypes: ['LEGAL_ENTITY'] }))).toBeNull()
    expect(eventFor(g, changed, filter({ kinds: ['PERSON_DIED'] }))).toBeNull()
    expect(eventFor(g, changed, filter({ fields: ['deathDate'] }))).toBeNull()
    expect(eventFor(g, changed, filter({ entityIds: new Set(['other']) }))).toBeNull()
    expect(eventFor(g, changed, filter({ entityIds: new Set(['e1']) }))).not.toBeNull()
  })
})

describe('retries and signatures', () => {
  it('doubles the delay and stops past the longest one', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 1000, 86_400_000))).toEqual([1000, 2000, 4000, 8000])
    expect(retryDelay(17, 1000, 86_400_000)).toBe(65_536_000)
    expect(retryDelay(18, 1000, 86_400_000)).toBeNull()
  })
  it('signs with HMAC-SHA256 of the exact body', () => {
    const body = '{"id":"x"}'
    expect(signature('k', body)).toBe(`sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`)
    expect(signature('k', `${body} `)).not.toBe(signature('k', body))
  })
})
