import { describe, expect, it } from 'vitest'
import { checkDataItemDefinition, itemKind, type DataItemDefinition } from '../../src/reconciliation/rules/data-item.js'
import { validateRecord, ValidationError } from '../../src/reconciliation/rules/validate.js'
import { itemFieldSpec } from '../../src/reconciliation/rules/data-item.js'

const ctx = { departments: new Set(['PSB', 'CAB', 'HRSS']), taken: (_t: string, n: string) => n === 'taken' }
const base: DataItemDefinition = {
  entityType: 'PERSON',
  name: 'disabilityLevel',
  title: '残疾等级',
  dataType: 'CODE',
  codeList: [
    { code: '1', label: '一级' },
    { code: '2', label: '二级' },
  ],
  authority: 'CAB',
  sharingClass: 'NONE',
}

function failure(def: Partial<DataItemDefinition> | Record<string, unknown>) {
  try {
    checkDataItemDefinition({ ...base, ...def } as DataItemDefinition, ctx)
  } catch (e) {
    if (e instanceof ValidationError) return { code: e.code, field: e.field }
    throw e
  }
  return null
}

describe('checkDataItemDefinition', () => {
  it('accepts a good definition and normalises it', () => {
    const d = checkDataItemDefinition({ ...base, name: ' disabilityLevel ', fallback: ['HRSS'] }, ctx)
    expect(d).toMatchObject({ name: 'disabilityLevel', fallback: ['HRSS'], pattern: null, min: null })
  })

  it('names the offending field of each malformed definition', () => {
    expect(failure({ dataType: 'COLOUR' })).toEqual({ code: 'INVALID_VALUE', field: 'dataType' })
    expect(failure({ entityType: 'CAT' })).toEqual({ code: 'INVALID_VALUE', field: 'entityType' })
    expect(failure({ dataType: 'STRING', codeList: null, pattern: '(unclosed' })).toEqual({
      code: 'INVALID_VALUE',
      field: 'pattern',
    })
    expect(failure({ authority: 'XYZ' })).toEqual({ code: 'INVALID_VALUE', field: 'authority' })
    expect(failure({ fallback: ['XYZ'] })).toEqual({ code: 'INVALID_VALUE', field: 'fallback' })
    expect(failure({ name: 'taken' })).toEqual({ code: 'INVALID_VALUE', field: 'name' })
    expect(failure({ name: '1abc' })).toEqual({ code: 'INVALID_VALUE', field: 'name' })
    expect(failure({ title: ' ' })).toEqual({ code: 'MISSING_FIELD', field: 'title' })
    expect(failure({ codeList: [] })).toEqual({ code: 'MISSING_FIELD', field: 'codeList' })
    expect(
      failure({
        codeList: [
          { code: 'A', label: 'a' },
          { code: 'A', label: 'b' },
        ],
      }),
    ).toEqual({
      code: 'INVALID_VALUE',
      field: 'codeList',
    })
    expect(failure({ dataType: 'DECIMAL', codeList: null, min: 3, max: 2 })).toEqual({
      code: 'INVALID_VALUE',
      field: 'min',
    })
    expect(failure({ sharingClass: 'SECRET' })).toEqual({ code: 'INVALID_VALUE', field: 'sharingClass' })
  })
})

describe('validation of item values', () => {
  const extended = new Map([
    ['PERSON|disabilityLevel', itemFieldSpec(base)],
    ['PERSON|hasCar', itemFieldSpec({ ...base, name: 'hasCar', dataType: 'BOOLEAN', codeList: null })],
    ['PERSON|benefitSince', itemFieldSpec({ ...base, name: 'benefitSince', dataType: 'DATETIME', codeList: null })],
  ])
  const opts = { extent: [0, 0, 180, 90] as [number, number, number, number], departments: new Set<string>(), extended }
  const run = (attributes: Record<string, unknown>) => validateRecord('PERSON', { sourceKey: 'k', attributes }, opts)

  it('stores good values in canonical form', () => {
    expect(run({ disabilityLevel: '2', hasCar: false, benefitSince: '2024-05-01T08:00:00+08:00' }).values).toEqual({
      disabilityLevel: '2',
      hasCar: false,
      benefitSince: '2024-05-01T00:00:00.000Z',
    })
  })

  it('rejects bad values naming the item, and items of another entity type', () => {
    expect(() => run({ disabilityLevel: '9' })).toThrow(/disabilityLevel must be one of 1, 2/)
    expect(() => run({ hasCar: 'yes' })).toThrow(/hasCar must be true or false/)
    expect(() => run({ benefitSince: 'May' })).toThrow(/benefitSince/)
    expect(() =>
      validateRecord('LEGAL_ENTITY', { sourceKey: 'k', attributes: { disabilityLevel: '1' } }, opts),
    ).toThrow(/has no field "disabilityLevel"/)
  })

  it('maps data types to registry kinds', () => {
    expect(itemKind({ dataType: 'INTEGER', min: 0, max: 9 })).toEqual({ type: 'integer', min: 0, max: 9 })
    expect(itemKind({ dataType: 'CODE', codeList: [{ code: 'A', label: 'a' }] })).toEqual({
      type: 'enum',
      values: ['A'],
    })
  })
})
