import { describe, expect, it } from 'vitest'
import { CATALOGUE_FILE_ITEMS, demoItemValue } from '../../seeds/demo-items.js'
import { DEPARTMENTS } from '../../seeds/reference.js'
import { fieldForAttribute } from '../../src/reconciliation/fields.js'
import { checkDataItemDefinition, itemFieldSpec } from '../../src/reconciliation/rules/data-item.js'
import { validateFieldValue } from '../../src/reconciliation/rules/validate.js'
import { createRng } from '../../src/shared/random.js'

// The demo catalogue (seeds/data/data-items.json) as CONTRACT.md §7 asks: at least 200 extended
// items across the four base catalogues from at least 10 departments, every one a valid
// definition, and the demo's values valid for their item.

const BASE: Record<string, string> = {
  PERSON: 'POPULATION',
  LEGAL_ENTITY: 'LEGAL_ENTITY',
  ADMIN_DIVISION: 'SPATIAL',
  ADDRESS: 'SPATIAL',
  BUILDING: 'SPATIAL',
  PARCEL: 'SPATIAL',
  INDICATOR: 'STATISTICS',
  OBSERVATION: 'STATISTICS',
}

describe('the demo catalogue file', () => {
  it('has at least 200 items across the four base catalogues from at least 10 departments', () => {
    expect(CATALOGUE_FILE_ITEMS.length).toBeGreaterThanOrEqual(200)
    expect(new Set(CATALOGUE_FILE_ITEMS.map((i) => BASE[i.entityType]))).toEqual(
      new Set(['POPULATION', 'LEGAL_ENTITY', 'SPATIAL', 'STATISTICS']),
    )
    expect(new Set(CATALOGUE_FILE_ITEMS.map((i) => i.authority)).size).toBeGreaterThanOrEqual(10)
  })

  it('holds only valid definitions that collide with no core field and no other item', () => {
    const departments = new Set(DEPARTMENTS.map((d) => d.code))
    const seen = new Set<string>()
    for (const item of CATALOGUE_FILE_ITEMS) {
      const key = `${item.entityType}|${item.name}`
      expect(() =>
        checkDataItemDefinition(item, {
          departments,
          taken: (t, n) => !!fieldForAttribute(t, n) || seen.has(`${t}|${n}`),
        }),
      ).not.toThrow()
      seen.add(key)
    }
  })

  it('gives examples and demo values that pass their item validation', () => {
    const rng = createRng('catalogue-test')
    const opts = { extent: [118, 29, 121, 31] as [number, number, number, number], departments: new Set<string>() }
    for (const item of CATALOGUE_FILE_ITEMS) {
      const extended = new Map([[`${item.entityType}|${item.name}`, itemFieldSpec(item)]])
      if (item.dataType === 'STRING') expect(item.examples?.length, item.name).toBeGreaterThan(0)
      for (const example of item.examples ?? [])
        expect(
          () => validateFieldValue(item.entityType, item.name, example, { ...opts, extended }),
          item.name,
        ).not.toThrow()
      for (let i = 0; i < 20; i++) {
        const v = demoItemValue(rng, item)
        expect(
          () => validateFieldValue(item.entityType, item.name, v, { ...opts, extended }),
          `${item.name}=${v}`,
        ).not.toThrow()
      }
    }
  })
})
