import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { makeIdNumber, personByIdNumber, prov, SUBMIT, asDept } from './scenario.fixtures.js'

// Departments do not take turns: many parallel HTTP submissions about one person must lose
// nothing (on a real PostGIS they run on separate connections at the same moment).

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

const post = (department: string, records: unknown[]) =>
  server.gql(SUBMIT, { input: { entityType: 'PERSON', records } }, asDept(department))

describe('concurrent submissions', () => {
  it('parallel records naming one new person create exactly one entity', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1992-02-02')
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post('PSB', [{ sourceKey: `p${i}-${sfx}`, attributes: { idNumber, name: `Racer ${sfx}` } }]),
      ),
    )
    expect(results.every((r) => !r.errors && r.data.submitRecords.accepted === 1)).toBe(true)
    expect(results.filter((r) => r.data.submitRecords.created === 1)).toHaveLength(1)
    const entities = await server
      .knex('source_records')
      .where('department_code', 'PSB')
      .whereLike('source_key', `%-${sfx}`)
      .distinct('entity_id')
    expect(entities).toHaveLength(1)
  })

  it('two departments at the same moment: every claim kept, golden correct, one open conflict', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1993-03-03')
    await post('PSB', [
      {
        sourceKey: `p-${sfx}`,
        observedAt: '2024-01-01T00:00:00Z',
        attributes: { idNumber, name: `Busy ${sfx}`, birthDate: '1993-03-03' },
      },
    ])
    const calls = [
      // PSB moves the name forward in time while HEALTH disagrees on the birth date and HRSS reports employment.
      ...Array.from({ length: 8 }, (_, i) =>
        post('PSB', [
          {
            sourceKey: `p-${sfx}`,
            observedAt: `2024-02-0${i + 1}T00:00:00Z`,
            attributes: { idNumber, name: `Busy ${i} ${sfx}`, birthDate: '1993-03-03' },
          },
        ]),
      ),
      ...Array.from({ length: 8 }, (_, i) =>
        post('HEALTH', [
          { sourceKey: `h${i}-${sfx}`, attributes: { idNumber, birthDate: `1993-03-${String(10 + i)}` } },
        ]),
      ),
      ...Array.from({ length: 8 }, (_, i) =>
        post('HRSS', [
          {
            sourceKey: `r${i}-${sfx}`,
            observedAt: `2024-03-0${i + 1}T00:00:00Z`,
            attributes: { idNumber, employmentStatus: i === 7 ? 'RETIRED' : 'EMPLOYED' },
          },
        ]),
      ),
    ]
    const results = await Promise.all(calls)
    expect(results.map((r) => r.errors ?? r.data.submitRecords.rejected)).toEqual(results.map(() => []))

    const person = await personByIdNumber(server, idNumber)
    // Every department's every record is there, linked to this person, with its current claims.
    const records = await server
      .knex('source_records')
      .where('entity_id', person.id)
      .select('department_code', 'source_key')
    expect(records.filter((r) => r.department_code === 'HEALTH')).toHaveLength(8)
    expect(records.filter((r) => r.department_code === 'HRSS')).toHaveLength(8)
    const current = await server
      .knex('claims')
      .where({ entity_id: person.id })
      .whereNull('superseded_txid')
      .select('department_code', 'field', 'value')
    expect(
      current
        .filter((c) => c.department_code === 'HEALTH' && c.field === 'birthDate')
        .map((c) => c.value)
        .sort(),
    ).toEqual(Array.from({ length: 8 }, (_, i) => `1993-03-${10 + i}`))
    expect(current.filter((c) => c.department_code === 'HRSS' && c.field === 'employmentStatus')).toHaveLength(8)

    // Golden values follow the rules whatever the arrival order.
    expect(person.name).toBe(`Busy 7 ${sfx}`)
    expect(prov(person, 'birthDate')).toMatchObject({
      value: '1993-03-03',
      status: 'AUTHORITATIVE',
      underInvestigation: true,
    })
    expect(person.employmentStatus).toBe('RETIRED')
    const open = person.conflicts.filter((c: { status: string }) => c.status === 'OPEN')
    expect(open).toHaveLength(1)
    expect(open[0]).toMatchObject({ kind: 'VALUE_MISMATCH', field: 'birthDate' })
    // HEALTH counts once as a department: its latest claim is the candidate standing for it.
    expect(open[0].candidates.every((c: { department: { code: string } }) => c.department.code === 'HEALTH')).toBe(true)
  })
})
