import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { creditCodeCheckChar } from '../../src/reconciliation/rules/credit-code.js'
import { idNumberCheckChar } from '../../src/reconciliation/rules/id-number.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { asDept, makeCreditCode, makeIdNumber, SUBMIT, submit, type RecordIn } from './scenario.fixtures.js'

// CONTRACT.md §3: every validation code, each from a bad record in a batch that also holds a
// good one (which must still be accepted), and each bad record quarantined with its code.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

/** An ID number with a correct check character over any 17 digits (to isolate the other checks). */
const withCheck = (first17: string) => first17 + idNumberCheckChar(first17)!

async function rejects(
  department: string,
  entityType: string,
  bad: Omit<RecordIn, 'sourceKey'> & { sourceKey?: string },
  good: RecordIn,
  code: string,
  field: string,
) {
  const batchKey = `v-${uniqueSuffix()}`
  const sourceKey = bad.sourceKey === undefined ? `bad-${batchKey}` : bad.sourceKey
  const r = await submit(server, department, entityType, [{ ...bad, sourceKey } as RecordIn, good], batchKey)
  expect(r.rejected).toHaveLength(1)
  expect(r.rejected[0]).toMatchObject({ index: 0, code, field })
  expect(r.rejected[0].message.length).toBeGreaterThan(0)
  expect(r.accepted).toBe(1)
  const q = await server.knex('quarantined_records').where({ batch_key: batchKey, department_code: department })
  expect(q.map((x) => [x.code, x.field, x.record_index])).toEqual([[code, field, 0]])
}

const goodPerson = (): RecordIn => ({
  sourceKey: `g-${uniqueSuffix()}`,
  attributes: { idNumber: makeIdNumber('1975-05-05'), name: `Good ${uniqueSuffix()}` },
})
const goodEntity = (): RecordIn => ({
  sourceKey: `g-${uniqueSuffix()}`,
  attributes: { creditCode: makeCreditCode(), name: `Good Co ${uniqueSuffix()}` },
})

describe('validation codes', () => {
  it('INVALID_ID_NUMBER: bad check character, Feb 30, unknown province', async () => {
    const valid = makeIdNumber('1985-03-14')
    const badCheck = valid.slice(0, 17) + (valid[17] === '0' ? '1' : '0')
    await rejects(
      'PSB',
      'PERSON',
      { attributes: { idNumber: badCheck, name: 'x' } },
      goodPerson(),
      'INVALID_ID_NUMBER',
      'idNumber',
    )
    await rejects(
      'PSB',
      'PERSON',
      { attributes: { idNumber: withCheck('33010619850230123'), name: 'x' } },
      goodPerson(),
      'INVALID_ID_NUMBER',
      'idNumber',
    )
    await rejects(
      'PSB',
      'PERSON',
      { attributes: { idNumber: withCheck('99010619850314123'), name: 'x' } },
      goodPerson(),
      'INVALID_ID_NUMBER',
      'idNumber',
    )
    // A reference by ID number is checked the same way.
    await rejects(
      'AMR',
      'LEGAL_ENTITY',
      { attributes: { creditCode: makeCreditCode(), name: 'x', legalRepresentativeIdNumber: badCheck } },
      goodEntity(),
      'INVALID_ID_NUMBER',
      'legalRepresentativeIdNumber',
    )
  })

  it('INVALID_CREDIT_CODE: bad check character, also in a reference', async () => {
    const valid = makeCreditCode()
    const bad = valid.slice(0, 17) + (valid[17] === '0' ? '1' : '0')
    expect(creditCodeCheckChar(bad.slice(0, 17))).not.toBe(bad[17])
    await rejects(
      'AMR',
      'LEGAL_ENTITY',
      { attributes: { creditCode: bad, name: 'x' } },
      goodEntity(),
      'INVALID_CREDIT_CODE',
      'creditCode',
    )
    const existing = makeIdNumber()
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `p-${uniqueSuffix()}`,
        attributes: { idNumber: existing, name: `Worker ${uniqueSuffix()}` },
      },
    ])
    await rejects(
      'HRSS',
      'PERSON',
      { attributes: { idNumber: existing, employerCreditCode: bad } },
      { sourceKey: `g-${uniqueSuffix()}`, attributes: { idNumber: existing, employmentStatus: 'EMPLOYED' } },
      'INVALID_CREDIT_CODE',
      'employerCreditCode',
    )
  })

  it('INVALID_DIVISION_CODE', async () => {
    const good: RecordIn = {
      sourceKey: `g-${uniqueSuffix()}`,
      attributes: { code: '330106', name: '西湖区' },
    }
    await rejects(
      'CAB',
      'ADMIN_DIVISION',
      { attributes: { code: '33010', name: 'x' } },
      good,
      'INVALID_DIVISION_CODE',
      'code',
    )
    await rejects(
      'CAB',
      'ADDRESS',
      { attributes: { fullText: `杭州市某路${uniqueSuffix()}号`, divisionCode: 'abc' } },
      { sourceKey: `g-${uniqueSuffix()}`, attributes: { fullText: `杭州市好路${uniqueSuffix()}号` } },
      'INVALID_DIVISION_CODE',
      'divisionCode',
    )
  })

  it('INVALID_GEOMETRY: self-intersecting, wrong type, outside the extent, not GeoJSON', async () => {
    const square = (x: number, y: number, d = 0.001) => ({
      type: 'Polygon',
      coordinates: [
        [
          [x, y],
          [x + d, y],
          [x + d, y + d],
          [x, y + d],
          [x, y],
        ],
      ],
    })
    const good = (): RecordIn => ({
      sourceKey: `g-${uniqueSuffix()}`,
      attributes: { parcelCode: `P-${uniqueSuffix().toUpperCase()}` },
      geometry: square(120.1, 30.2),
    })
    const bowtie = {
      type: 'Polygon',
      coordinates: [
        [
          [120.1, 30.2],
          [120.11, 30.21],
          [120.11, 30.2],
          [120.1, 30.21],
          [120.1, 30.2],
        ],
      ],
    }
    await rejects(
      'NRP',
      'PARCEL',
      { attributes: { parcelCode: `P-${uniqueSuffix().toUpperCase()}` }, geometry: bowtie },
      good(),
      'INVALID_GEOMETRY',
      'geometry',
    )
    await rejects(
      'NRP',
      'PARCEL',
      {
        attributes: { parcelCode: `P-${uniqueSuffix().toUpperCase()}` },
        geometry: { type: 'Point', coordinates: [120.1, 30.2] },
      },
      good(),
      'INVALID_GEOMETRY',
      'geometry',
    )
    await rejects(
      'NRP',
      'PARCEL',
      { attributes: { parcelCode: `P-${uniqueSuffix().toUpperCase()}` }, geometry: square(2.35, 48.85) },
      good(),
      'INVALID_GEOMETRY',
      'geometry',
    )
    await rejects(
      'NRP',
      'PARCEL',
      {
        attributes: { parcelCode: `P-${uniqueSuffix().toUpperCase()}` },
        geometry: { type: 'Polygon', coordinates: 'nope' },
      },
      good(),
      'INVALID_GEOMETRY',
      'geometry',
    )
  })

  it('INVALID_DATE: a date that does not exist, an unreadable observedAt', async () => {
    await rejects(
      'PSB',
      'PERSON',
      { attributes: { idNumber: makeIdNumber(), name: 'x', birthDate: '1985-02-30' } },
      goodPerson(),
      'INVALID_DATE',
      'birthDate',
    )
    await rejects(
      'AMR',
      'LEGAL_ENTITY',
      { attributes: { creditCode: makeCreditCode(), name: 'x', establishedDate: '2023-13-01' } },
      goodEntity(),
      'INVALID_DATE',
      'establishedDate',
    )
    // observedAt is a DateTime argument: an unreadable one refuses the request itself, coded.
    const r = await server.gql(
      SUBMIT,
      { input: { entityType: 'PERSON', records: [{ ...goodPerson(), observedAt: 'yesterday' }] } },
      asDept('PSB'),
    )
    expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT')
  })

  it('INVALID_VALUE: enum outside its values, number out of range', async () => {
    await rejects(
      'PSB',
      'PERSON',
      { attributes: { idNumber: makeIdNumber(), name: 'x', gender: 'SOMETIMES' } },
      goodPerson(),
      'INVALID_VALUE',
      'gender',
    )
    await rejects(
      'AMR',
      'LEGAL_ENTITY',
      { attributes: { creditCode: makeCreditCode(), name: 'x', registeredCapital: -5 } },
      goodEntity(),
      'INVALID_VALUE',
      'registeredCapital',
    )
  })

  it('UNKNOWN_FIELD and MISSING_FIELD', async () => {
    await rejects(
      'PSB',
      'PERSON',
      { attributes: { idNumber: makeIdNumber(), name: 'x', shoeSize: 42 } },
      goodPerson(),
      'UNKNOWN_FIELD',
      'shoeSize',
    )
    // A new person needs its ID number or at least a name; gender and birth date alone identify nobody.
    await rejects(
      'PSB',
      'PERSON',
      { attributes: { gender: 'MALE', birthDate: '1990-01-01' } },
      goodPerson(),
      'MISSING_FIELD',
      'name',
    )
    await rejects(
      'PSB',
      'PERSON',
      { sourceKey: '', attributes: { idNumber: makeIdNumber(), name: 'x' } },
      goodPerson(),
      'MISSING_FIELD',
      'sourceKey',
    )
    await rejects(
      'CAB',
      'ADMIN_DIVISION',
      { attributes: { name: 'no code' } },
      { sourceKey: `g-${uniqueSuffix()}`, attributes: { code: '330106', name: '西湖区' } },
      'MISSING_FIELD',
      'code',
    )
  })

  it('NOT_AUTHORIZED: a department app submits only as its own department', async () => {
    const record = goodPerson()
    const r = await server.gql(
      SUBMIT,
      { input: { entityType: 'PERSON', department: 'PSB', records: [record] } },
      asDept('EDU'),
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.submitRecords).toMatchObject({ accepted: 0, created: 0 })
    expect(r.data.submitRecords.rejected).toEqual([
      expect.objectContaining({ index: 0, code: 'NOT_AUTHORIZED', field: 'department' }),
    ])
    expect(await server.knex('source_records').where({ source_key: record.sourceKey })).toEqual([])
  })
})
