import { describe, expect, it } from 'vitest'
import { CROSS_CHECK_TYPES } from '../../seeds/cross-check-types.js'
import { prepareSubjects } from '../../src/cross-check/cross-check.service.js'
import {
  type CrossCheckTypeDefinition,
  ruleFields,
  ruleSql,
  sql,
  validateTypeDefinition,
} from '../../src/cross-check/predicates.js'
import { makeCreditCode, makeIdNumber } from '../integration/scenario.fixtures.js'

const base: CrossCheckTypeDefinition = {
  code: 'TEST_TYPE',
  name: 't',
  description: 't',
  subjectType: 'PERSON',
  ownerCode: 'HRSS',
  rules: [{ code: 'R', description: 'r', predicate: { kind: 'DATE_ON_OR_BEFORE_AS_OF', field: 'deathDate' } }],
}

describe('cross-check rule library', () => {
  it('the demo types are sound', () => {
    for (const t of CROSS_CHECK_TYPES) expect(validateTypeDefinition(t)).toEqual([])
  })

  it('names what is wrong with a type definition', () => {
    const bad = (p: unknown) =>
      validateTypeDefinition({ ...base, rules: [{ code: 'R', description: 'r', predicate: p as never }] })
    expect(bad({ kind: 'DATE_ON_OR_BEFORE_AS_OF', field: 'name' })).toEqual(['rule R: PERSON.name is not a date'])
    expect(bad({ kind: 'VALUE_OBSERVED_SINCE', field: 'salary', equals: 'x' })).toEqual([
      'rule R: PERSON.salary is not a field',
    ])
    expect(bad({ kind: 'HOLDS_PARCEL', via: 'landUse' })).toEqual(['rule R: PARCEL.landUse does not name a PERSON'])
    expect(
      bad({ kind: 'RELATED_IN_STATE', entityType: 'LEGAL_ENTITY', via: 'name', field: 'status', equals: 'ACTIVE' }),
    ).toEqual(['rule R: LEGAL_ENTITY.name does not name a PERSON'])
    expect(bad({ kind: 'ADDRESS_OUTSIDE_DIVISION', field: 'employer', divisionPrefix: '3301' })).toEqual([
      'rule R: PERSON.employer is not an address reference',
    ])
    expect(bad({ kind: 'CHANGED_SINCE', fields: [] })).toEqual(['rule R: CHANGED_SINCE needs fields'])
    expect(bad({ kind: 'TELEPATHY' })).toEqual(['rule R: unknown predicate kind TELEPATHY'])
    expect(validateTypeDefinition({ ...base, code: 'lower', rules: [...base.rules, ...base.rules] })).toEqual([
      'type code lower is not SCREAMING_SNAKE',
      'rule R appears twice',
    ])
  })

  it('lists the fields each rule reads', () => {
    const [benefit, tax] = CROSS_CHECK_TYPES
    expect(benefit.rules.map((r) => ruleFields(benefit.subjectType, r.predicate))).toEqual([
      ['PERSON.employmentStatus'],
      ['LEGAL_ENTITY.legalRepresentative', 'LEGAL_ENTITY.status'],
      ['PERSON.deathDate'],
      ['PERSON.householdAddress', 'ADDRESS.division'],
    ])
    expect(ruleFields(tax.subjectType, tax.rules[0].predicate)).toEqual([
      'PARCEL.landUserCreditCode',
      'LEGAL_ENTITY.taxStatus',
    ])
  })

  it('compiles every rule to SQL whose values are all bindings', () => {
    const slice = {
      checkId: '00000000-0000-0000-0000-000000000001',
      from: 0,
      to: 10,
      asOf: new Date('2024-12-31T00:00:00Z'),
    }
    for (const t of CROSS_CHECK_TYPES)
      for (const r of t.rules) {
        const q = ruleSql(t.subjectType, r, slice)
        expect(q.text.split('?').length - 1).toBe(q.bindings.length)
        expect(q.text).not.toContain(slice.checkId)
        expect(q.text).not.toContain('EMPLOYED')
        expect(q.bindings).toContain(slice.checkId)
        expect(q.bindings).toContain(r.code)
      }
  })

  it('sql`` splices fragments with their bindings in order', () => {
    const inner = sql`b = ${2}`
    expect(sql`a = ${1} AND ${inner} AND c = ${3}`).toEqual({ text: 'a = ? AND b = ? AND c = ?', bindings: [1, 2, 3] })
  })
})

describe('subjects', () => {
  const benefit = { code: 'EMPLOYMENT_WHILE_ON_BENEFIT', subject_type: 'PERSON' as const }
  it('normalises keys and marks invalid ones (counted, never compared)', () => {
    const id = makeIdNumber()
    const bad = `${id.slice(0, 17)}${id[17] === '0' ? '1' : '0'}`
    expect(
      prepareSubjects(benefit, [{ key: ` ${id.toLowerCase()} `, ref: 'r', since: '2024-01-01' }, { key: bad }]),
    ).toEqual([
      { key: id, ref: 'r', since: '2024-01-01', status: 'PENDING' },
      { key: bad, ref: null, since: null, status: 'INVALID' },
    ])
  })
  it('refuses a subject of the other type and a malformed since, naming it', () => {
    expect(() => prepareSubjects(benefit, [{ key: makeIdNumber() }, { key: makeCreditCode() }])).toThrow(/credit code/)
    try {
      prepareSubjects(benefit, [{ key: makeIdNumber(), since: '2024-02-30' }])
    } catch (e) {
      expect((e as { extensions: unknown }).extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        reason: 'INVALID_DATE',
        field: 'input.subjects[0].since',
      })
      return
    }
    throw new Error('no error')
  })
})
