import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { revokePrincipal } from '../../src/access/keys.js'
import { appendAccessLog, verifyAccessLog } from '../../src/access/access-log.store.js'
import { seedDemoAccess } from '../../src/access/demo.js'
import { invalidateSharingGrants } from '../../src/access/sharing.store.js'
import { withTransaction } from '../../src/db/transaction.js'
import { applySubmission } from '../../src/reconciliation/submission.service.js'
import { creditCodeCheckChar } from '../../src/reconciliation/rules/credit-code.js'
import { idNumberCheckChar } from '../../src/reconciliation/rules/id-number.js'
import type { EntityTypeName } from '../../src/shared/entity-types.js'
import { createTestKey, principalIdOf } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { random } from '../support/ids.js'

let server: TestServer
const opts = {
  matchHigh: 0.9,
  matchLow: 0.7,
  extent: [118.3, 29.1, 120.8, 30.6] as [number, number, number, number],
}
const keys: Record<string, Record<string, string>> = {}

function idNumber(): string {
  const first17 = `330106199${Math.floor(random() * 10)}0${1 + Math.floor(random() * 9)}1${Math.floor(random() * 10)}${String(Math.floor(random() * 1000)).padStart(3, '0')}`
  return first17 + idNumberCheckChar(first17)
}
function creditCode(): string {
  const first17 = `91330106${String(Math.floor(random() * 1e9)).padStart(9, '0')}`
  return first17 + creditCodeCheckChar(first17)
}
async function submit(
  department: string,
  entityType: EntityTypeName,
  records: { sourceKey: string; attributes: Record<string, unknown> }[],
) {
  const r = await withTransaction(server.knex, { operation: 'test', departmentCode: department }, (tx) =>
    applySubmission(tx, { department, entityType, records }, opts),
  )
  expect(r.rejected).toEqual([])
}

// One person employed by one enterprise whose legal representative is the person.
const person = { id: '', idNumber: '', name: '' }
const company = { id: '', creditCode: '', name: '' }
const address = { id: '', fullText: '' }

beforeAll(async () => {
  server = await startTestServer()
  const sfx = uniqueSuffix()
  person.idNumber = idNumber()
  person.name = `测试${sfx}`
  company.creditCode = creditCode()
  company.name = `杭州测试${sfx}有限公司`
  await submit('AMR', 'LEGAL_ENTITY', [
    {
      sourceKey: `le-${sfx}`,
      attributes: {
        creditCode: company.creditCode,
        name: company.name,
        kind: 'ENTERPRISE',
        status: 'ACTIVE',
        legalRepresentativeIdNumber: person.idNumber,
        legalRepresentativeName: person.name,
      },
    },
  ])
  await submit('TAX', 'LEGAL_ENTITY', [
    {
      sourceKey: `tax-${sfx}`,
      attributes: { creditCode: company.creditCode, taxStatus: 'NORMAL', taxCreditRating: 'A' },
    },
  ])
  await submit('PSB', 'PERSON', [
    {
      sourceKey: `p-${sfx}`,
      attributes: {
        idNumber: person.idNumber,
        name: person.name,
        gender: 'FEMALE',
        birthDate: '1990-01-01',
        ethnicity: '汉族',
      },
    },
  ])
  await submit('HRSS', 'PERSON', [
    {
      sourceKey: `h-${sfx}`,
      attributes: {
        idNumber: person.idNumber,
        employmentStatus: 'EMPLOYED',
        employerCreditCode: company.creditCode,
      },
    },
  ])
  await submit('CAB', 'PERSON', [
    { sourceKey: `c-${sfx}`, attributes: { idNumber: person.idNumber, maritalStatus: 'MARRIED' } },
  ])
  await submit('EDU', 'PERSON', [
    { sourceKey: `e-${sfx}`, attributes: { idNumber: person.idNumber, educationLevel: 'BACHELOR' } },
  ])
  await submit('AMR', 'LEGAL_ENTITY', [
    {
      sourceKey: `le-${sfx}`,
      attributes: {
        creditCode: company.creditCode,
        name: company.name,
        kind: 'ENTERPRISE',
        status: 'ACTIVE',
        legalRepresentativeIdNumber: person.idNumber,
        legalRepresentativeName: person.name,
      },
    },
  ])
  address.fullText = `杭州市西湖区访问测试路${sfx}号`
  await submit('CAB', 'ADDRESS', [
    { sourceKey: `a-${sfx}`, attributes: { fullText: address.fullText, road: `访问测试路${sfx}` } },
  ])
  await submit('PSB', 'PERSON', [
    {
      sourceKey: `p-${sfx}`,
      attributes: {
        idNumber: person.idNumber,
        name: person.name,
        gender: 'FEMALE',
        birthDate: '1990-01-01',
        ethnicity: '汉族',
        residenceAddressText: address.fullText,
        householdAddressText: address.fullText,
      },
    },
  ])
  await submit('AMR', 'LEGAL_ENTITY', [
    {
      sourceKey: `le2-${sfx}`,
      attributes: {
        creditCode: company.creditCode,
        registeredCapital: 1000000,
        establishedDate: '2015-06-01',
        businessScope: '软件开发',
        registeredAddressText: address.fullText,
      },
    },
  ])
  await submit('STATS', 'LEGAL_ENTITY', [
    { sourceKey: `st-${sfx}`, attributes: { creditCode: company.creditCode, industryCode: 'I65' } },
  ])
  address.id = (await server.knex('addresses').where('full_text', address.fullText).first()).id
  person.id = (await server.knex('persons').where('id_number', person.idNumber).first()).id
  company.id = (await server.knex('legal_entities').where('credit_code', company.creditCode).first()).id
  await seedDemoAccess(server.knex) // demo grants: HRSS reads idNumber/name/gender/birthDate, TAX the registration fields
  for (const d of ['PSB', 'HRSS', 'AMR', 'TAX', 'EDU']) keys[d] = await createTestKey(server.knex, { department: d })
  for (const r of ['STEWARD', 'ADMIN', 'AUDITOR'] as const) keys[r] = await createTestKey(server.knex, { roles: [r] })
  keys.ANONYMOUS = {}
})

afterAll(async () => {
  await server?.close()
})

const PERSON_FIELDS = ['idNumber', 'name', 'gender', 'birthDate', 'ethnicity', 'employmentStatus'] as const
const PERSON_QUERY = `query ($id: ID!) { person(id: $id) { id ${PERSON_FIELDS.join(' ')} employer { id } } }`
const LE_FIELDS = [
  'creditCode',
  'name',
  'kind',
  'status',
  'legalRepresentativeName',
  'taxStatus',
  'taxCreditRating',
] as const
const LE_QUERY = `query ($id: ID!) { legalEntity(id: $id) { id ${LE_FIELDS.join(' ')} legalRepresentative { id } } }`

describe('field-level sharing matrix', () => {
  // Expected visibility of each Person field per caller: true = value, 'mask' = masked id number, false = null + FORBIDDEN_FIELD.
  const personMatrix: Record<string, Record<string, true | false | 'mask'>> = {
    PSB: {
      idNumber: true,
      name: true,
      gender: true,
      birthDate: true,
      ethnicity: true,
      employmentStatus: false,
      employer: false,
    },
    HRSS: {
      idNumber: true,
      name: true,
      gender: true,
      birthDate: true,
      ethnicity: false,
      employmentStatus: true,
      employer: true,
    },
    EDU: {
      idNumber: 'mask',
      name: false,
      gender: false,
      birthDate: false,
      ethnicity: false,
      employmentStatus: false,
      employer: false,
    },
    STEWARD: {
      idNumber: true,
      name: true,
      gender: true,
      birthDate: true,
      ethnicity: true,
      employmentStatus: true,
      employer: true,
    },
    AUDITOR: {
      idNumber: true,
      name: true,
      gender: true,
      birthDate: true,
      ethnicity: true,
      employmentStatus: true,
      employer: true,
    },
    ADMIN: {
      idNumber: 'mask',
      name: false,
      gender: false,
      birthDate: false,
      ethnicity: false,
      employmentStatus: false,
      employer: false,
    },
  }
  for (const [caller, expected] of Object.entries(personMatrix)) {
    it(`Person fields as ${caller}`, async () => {
      const r = await server.gql(PERSON_QUERY, { id: person.id }, keys[caller])
      const p = r.data!.person
      const forbidden = new Set(
        (r.errors ?? []).filter((e) => e.extensions?.code === 'FORBIDDEN_FIELD').map((e) => e.path!.at(-1)),
      )
      expect(r.errors?.every((e) => e.extensions?.code === 'FORBIDDEN_FIELD') ?? true).toBe(true)
      for (const [field, rule] of Object.entries(expected)) {
        const value = p[field]
        if (rule === true) {
          expect(value, field).not.toBeNull()
          expect(forbidden.has(field), field).toBe(false)
        }
        if (rule === false) {
          expect(value, field).toBeNull()
          expect(forbidden.has(field), field).toBe(true)
        }
        if (rule === 'mask') {
          expect(value).toBe(`${person.idNumber.slice(0, 6)}********${person.idNumber.slice(-4)}`)
          expect(forbidden.has(field)).toBe(false)
        }
      }
      if (expected.idNumber === true) expect(p.idNumber).toBe(person.idNumber)
      if (expected.name === true) expect(p.name).toBe(person.name)
    })
  }
  it('Person queries as anonymous → UNAUTHENTICATED', async () => {
    const r = await server.gql(PERSON_QUERY, { id: person.id })
    expect(r.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED')
    expect(r.data?.person ?? null).toBeNull()
  })

  const leMatrix: Record<string, Record<string, boolean>> = {
    AMR: {
      creditCode: true,
      name: true,
      kind: true,
      legalRepresentativeName: true,
      taxStatus: false,
      taxCreditRating: false,
      legalRepresentative: true,
    },
    TAX: { creditCode: true, name: true, taxStatus: true, taxCreditRating: true, legalRepresentative: true },
    EDU: {
      creditCode: true,
      name: true,
      kind: true,
      taxStatus: false,
      taxCreditRating: false,
      legalRepresentative: false,
    },
    STEWARD: { creditCode: true, taxStatus: true, taxCreditRating: true, legalRepresentative: true },
    AUDITOR: { creditCode: true, taxStatus: true, legalRepresentative: true },
    ADMIN: { creditCode: true, name: true, taxStatus: false, legalRepresentative: false },
  }
  for (const [caller, expected] of Object.entries(leMatrix)) {
    it(`LegalEntity fields as ${caller}`, async () => {
      keys.AMR ??= await createTestKey(server.knex, { department: 'AMR' })
      const r = await server.gql(LE_QUERY, { id: company.id }, keys[caller])
      const e = r.data!.legalEntity
      const forbidden = new Set((r.errors ?? []).map((x) => x.path!.at(-1)))
      for (const [field, visible] of Object.entries(expected)) {
        if (visible) {
          expect(e[field], field).not.toBeNull()
          expect(forbidden.has(field), field).toBe(false)
        } else {
          expect(e[field], field).toBeNull()
          expect(forbidden.has(field), field).toBe(true)
        }
      }
    })
  }
  it('LegalEntity queries as anonymous → UNAUTHENTICATED; spatial data stays public', async () => {
    const r = await server.gql(LE_QUERY, { id: company.id })
    expect(r.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED')
    const spatial = await server.gql(
      '{ adminDivisions(level: PROVINCE) { code name level } catalog { code entityType } }',
    )
    expect(spatial.errors).toBeUndefined()
    expect(spatial.data!.catalog.map((c: { code: string }) => c.code)).toContain('CFD-POP-PERSON')
  })

  it('spatial fields are public, but who lives at an address is person data', async () => {
    const q = `query ($id: ID!) { address(id: $id) { fullText road residents { totalCount nodes { id } } } }`
    const expectations: [string, boolean][] = [
      ['ANONYMOUS', false],
      ['EDU', false],
      ['ADMIN', false],
      ['PSB', true],
      ['STEWARD', true],
      ['AUDITOR', true],
    ]
    for (const [caller, seesResidents] of expectations) {
      const r = await server.gql(q, { id: address.id }, keys[caller])
      expect(r.data!.address.fullText, caller).toBe(address.fullText)
      expect(r.data!.address.road, caller).toBe(`访问测试路${address.fullText.match(/路(.+)号/)![1]}`)
      if (seesResidents) {
        expect(r.data!.address.residents.nodes, caller).toEqual([{ id: person.id }])
        expect(r.errors, caller).toBeUndefined()
      } else {
        expect(r.data!.address.residents.nodes, caller).toEqual([])
        expect(
          r.errors!.map((e) => [e.path!.join('.'), e.extensions!.code]),
          caller,
        ).toEqual([['address.residents', 'FORBIDDEN_FIELD']])
      }
    }
  })

  it('a nested link does not bypass sharing: person → employer → legal representative', async () => {
    const q = `query ($id: ID!) { person(id: $id) { idNumber employer { name taxStatus legalRepresentative { name employmentStatus } } } }`
    const hrss = await server.gql(q, { id: person.id }, keys.HRSS)
    expect(hrss.data!.person.employer.name).toBe(company.name)
    expect(hrss.data!.person.employer.taxStatus).toBeNull()
    // HRSS may not see LegalEntity.legalRepresentative (AMR's, CONDITIONAL, no grant).
    expect(hrss.data!.person.employer.legalRepresentative).toBeNull()
    expect(hrss.errors!.map((e) => e.path!.join('.'))).toEqual(
      expect.arrayContaining(['person.employer.taxStatus', 'person.employer.legalRepresentative']),
    )
    const tax = await server.gql(
      `query ($id: ID!) { legalEntity(id: $id) { legalRepresentative { idNumber name employmentStatus } } }`,
      { id: company.id },
      keys.TAX,
    )
    expect(tax.data!.legalEntity.legalRepresentative.idNumber).toMatch(/^\d{6}\*{8}\d{3}[\dX]$/)
    expect(tax.data!.legalEntity.legalRepresentative.name).toBeNull()
    expect(tax.errors!.map((e) => e.path!.join('.'))).toEqual(
      expect.arrayContaining([
        'legalEntity.legalRepresentative.name',
        'legalEntity.legalRepresentative.employmentStatus',
      ]),
    )
  })

  it('provenance and history of a hidden field carry no value', async () => {
    const q = `query ($id: ID!) { person(id: $id) { provenance { field value } history { field newValue } sourceRecords { attributes } } }`
    // AMR holds no grant on person fields and submitted nothing about this person.
    const amr = await server.gql(q, { id: person.id }, keys.AMR)
    const text = JSON.stringify(amr.data)
    expect(text).not.toContain(person.name)
    expect(text).not.toContain(person.idNumber)
    expect(text).not.toContain('EMPLOYED')
    const steward = await server.gql(q, { id: person.id }, keys.STEWARD)
    expect(JSON.stringify(steward.data)).toContain(person.name)
  })

  it('conflict values of a hidden field are blanked, except the caller’s own claim', async () => {
    await submit('HEALTH', 'PERSON', [
      {
        sourceKey: `health-${person.idNumber}`,
        attributes: { idNumber: person.idNumber, birthDate: '1990-01-02' },
      },
    ])
    keys.HEALTH ??= await createTestKey(server.knex, { department: 'HEALTH' })
    const q = `query ($id: ID!) { person(id: $id) { conflicts(status: OPEN) { field currentValue candidates { value department { code } } } } }`
    const conflictOf = async (caller: string) =>
      (await server.gql(q, { id: person.id }, keys[caller])).data!.person.conflicts.find(
        (c: any) => c.field === 'birthDate',
      )
    expect(await conflictOf('PSB')).toEqual({
      field: 'birthDate',
      currentValue: '1990-01-01',
      candidates: [{ value: '1990-01-02', department: { code: 'HEALTH' } }],
    })
    expect(await conflictOf('EDU')).toEqual({
      field: 'birthDate',
      currentValue: null,
      candidates: [{ value: null, department: { code: 'HEALTH' } }],
    })
    expect(await conflictOf('HEALTH')).toEqual({
      field: 'birthDate',
      currentValue: null,
      candidates: [{ value: '1990-01-02', department: { code: 'HEALTH' } }],
    })
  })

  it('filtering on a field the caller may not see is refused', async () => {
    for (const filter of [
      { gender: 'FEMALE' },
      { nameContains: '测试' },
      { employmentStatus: 'EMPLOYED' },
      { birthDateFrom: '1990-01-01' },
      { employerId: company.id },
    ]) {
      const r = await server.gql(
        'query ($f: PersonFilter) { persons(filter: $f) { totalCount } }',
        { f: filter },
        keys.EDU,
      )
      expect(r.errors?.[0].extensions?.code, JSON.stringify(filter)).toBe('FORBIDDEN_FIELD')
      expect(r.data?.persons ?? null).toBeNull()
    }
    const psb = await server.gql(
      'query ($f: PersonFilter) { persons(filter: $f) { totalCount } }',
      { f: { nameContains: person.name } },
      keys.PSB,
    )
    expect(psb.data!.persons.totalCount).toBe(1)
    const taxFilter = await server.gql(
      'query ($f: LegalEntityFilter) { legalEntities(filter: $f) { totalCount } }',
      { f: { legalRepresentativeId: person.id } },
      keys.EDU,
    )
    expect(taxFilter.errors?.[0].extensions?.code).toBe('FORBIDDEN_FIELD')
  })

  it('employees (non-null connection) is empty with FORBIDDEN_FIELD for a department without the grant', async () => {
    const q = `query ($id: ID!) { legalEntity(id: $id) { name employees { totalCount nodes { id } } } }`
    const edu = await server.gql(q, { id: company.id }, keys.EDU)
    expect(edu.data!.legalEntity.name).toBe(company.name)
    expect(edu.data!.legalEntity.employees.nodes).toEqual([])
    expect(edu.errors!.find((e) => e.path!.join('.') === 'legalEntity.employees')?.extensions?.code).toBe(
      'FORBIDDEN_FIELD',
    )
    const hrss = await server.gql(q, { id: company.id }, keys.HRSS)
    expect(hrss.data!.legalEntity.employees.nodes).toEqual([{ id: person.id }])
  })
})

describe('full matrix: every contract field of Person and LegalEntity × every kind of caller', () => {
  // The oracle, written from CONTRACT §1 and §4 (not from the code): who owns each field, its
  // sharing class, and the demo grants.
  const PERSON_OWNER: Record<string, string> = {
    idNumber: 'PSB',
    name: 'PSB',
    gender: 'PSB',
    birthDate: 'PSB',
    ethnicity: 'PSB',
    householdAddress: 'PSB',
    residenceAddress: 'PSB',
    deathDate: 'PSB',
    maritalStatus: 'CAB',
    employmentStatus: 'HRSS',
    employer: 'HRSS',
    educationLevel: 'EDU',
  }
  const LE_FIELDS: Record<string, { owner: string; conditional: boolean }> = {
    creditCode: { owner: 'AMR', conditional: false },
    name: { owner: 'AMR', conditional: false },
    kind: { owner: 'AMR', conditional: false },
    status: { owner: 'AMR', conditional: false },
    legalRepresentativeName: { owner: 'AMR', conditional: false },
    registeredCapital: { owner: 'AMR', conditional: false },
    establishedDate: { owner: 'AMR', conditional: false },
    industryCode: { owner: 'STATS', conditional: false },
    businessScope: { owner: 'AMR', conditional: false },
    registeredAddress: { owner: 'AMR', conditional: false },
    taxStatus: { owner: 'TAX', conditional: true },
    taxCreditRating: { owner: 'TAX', conditional: true },
    legalRepresentative: { owner: 'AMR', conditional: true },
    employees: { owner: 'HRSS', conditional: true },
  }
  const GRANTS: Record<string, string[]> = {
    HRSS: ['PERSON.idNumber', 'PERSON.name', 'PERSON.gender', 'PERSON.birthDate'],
    TAX: Object.keys(LE_FIELDS)
      .filter((f) => LE_FIELDS[f].owner !== 'TAX')
      .map((f) => `LEGAL_ENTITY.${f}`),
  }
  const CALLERS = ['PSB', 'HRSS', 'CAB', 'EDU', 'AMR', 'TAX', 'STATS', 'STEWARD', 'AUDITOR', 'ADMIN', 'ANONYMOUS']
  const conditionalVisible = (caller: string, owner: string, grant: string) =>
    caller === owner || caller === 'STEWARD' || caller === 'AUDITOR' || (GRANTS[caller] ?? []).includes(grant)
  const shape = (field: string) =>
    ['householdAddress', 'residenceAddress', 'registeredAddress'].includes(field)
      ? `${field} { id }`
      : field === 'employer' || field === 'legalRepresentative'
        ? `${field} { id }`
        : field === 'employees'
          ? 'employees { nodes { id } }'
          : field

  for (const caller of CALLERS) {
    it(`Person and LegalEntity as ${caller}`, async () => {
      for (const c of ['CAB', 'STATS']) keys[c] ??= await createTestKey(server.knex, { department: c })
      const pq = `query ($id: ID!) { person(id: $id) { ${Object.keys(PERSON_OWNER).map(shape).join(' ')} representativeOf { id } } }`
      const pr = await server.gql(pq, { id: person.id }, keys[caller])
      const lq = `query ($id: ID!) { legalEntity(id: $id) { ${Object.keys(LE_FIELDS).map(shape).join(' ')} } }`
      const lr = await server.gql(lq, { id: company.id }, keys[caller])
      if (caller === 'ANONYMOUS') {
        expect(pr.errors![0].extensions!.code).toBe('UNAUTHENTICATED')
        expect(lr.errors![0].extensions!.code).toBe('UNAUTHENTICATED')
        return
      }
      const hidden = (r: any, _root: string) =>
        new Set(
          (r.errors ?? []).map((e: any) => {
            expect(e.extensions.code).toBe('FORBIDDEN_FIELD')
            return e.path.slice(1).join('.')
          }),
        )
      const ph = hidden(pr, 'person')
      for (const [field, owner] of Object.entries(PERSON_OWNER)) {
        const visible = conditionalVisible(caller, owner, `PERSON.${field}`)
        const value = pr.data!.person[field]
        if (field === 'idNumber') {
          expect(value, `${caller} idNumber`).toBe(
            visible ? person.idNumber : `${person.idNumber.slice(0, 6)}********${person.idNumber.slice(-4)}`,
          )
          expect(ph.has(field)).toBe(false)
          continue
        }
        expect(ph.has(field), `${caller} Person.${field}`).toBe(!visible)
        if (!visible) expect(value, `${caller} Person.${field}`).toBeNull()
        else if (field !== 'deathDate') expect(value, `${caller} Person.${field}`).not.toBeNull()
      }
      // representativeOf shows LegalEntity.legalRepresentative (CONDITIONAL, AMR).
      const repVisible = conditionalVisible(caller, 'AMR', 'LEGAL_ENTITY.legalRepresentative')
      expect(ph.has('representativeOf'), `${caller} Person.representativeOf`).toBe(!repVisible)
      expect(pr.data!.person.representativeOf, `${caller} Person.representativeOf`).toEqual(
        repVisible ? [{ id: company.id }] : [],
      )

      const lh = hidden(lr, 'legalEntity')
      for (const [field, rule] of Object.entries(LE_FIELDS)) {
        const visible = !rule.conditional || conditionalVisible(caller, rule.owner, `LEGAL_ENTITY.${field}`)
        const value = lr.data!.legalEntity[field]
        expect(lh.has(field), `${caller} LegalEntity.${field}`).toBe(!visible)
        if (field === 'employees')
          expect(value.nodes, `${caller} employees`).toEqual(visible ? [{ id: person.id }] : [])
        else if (visible) expect(value, `${caller} LegalEntity.${field}`).not.toBeNull()
        else expect(value, `${caller} LegalEntity.${field}`).toBeNull()
      }
    })
  }
})

describe('catalogue and change feed', () => {
  it('lists every entity type from the registry and the rules', async () => {
    const r = await server.gql(
      '{ catalog { code entityType baseCatalogue provider { code } recordCount updatedAt fields { field dataType authority { code } sharingClass } } }',
      undefined,
      keys.EDU,
    )
    const byType = Object.fromEntries(r.data!.catalog.map((c: any) => [c.entityType, c]))
    expect(Object.keys(byType).sort()).toEqual([
      'ADDRESS',
      'ADMIN_DIVISION',
      'BUILDING',
      'INDICATOR',
      'LEGAL_ENTITY',
      'OBSERVATION',
      'PARCEL',
      'PERSON',
    ])
    const p = byType.PERSON
    expect(p).toMatchObject({
      code: 'CFD-POP-PERSON',
      baseCatalogue: 'POPULATION',
      provider: { code: 'PSB' },
    })
    expect(p.recordCount).toBeGreaterThanOrEqual(1)
    expect(p.updatedAt).not.toBeNull()
    expect(p.fields.find((f: any) => f.field === 'employer')).toEqual({
      field: 'employer',
      dataType: 'reference(LEGAL_ENTITY)',
      authority: { code: 'HRSS' },
      sharingClass: 'CONDITIONAL',
    })
    expect(byType.LEGAL_ENTITY.fields.find((f: any) => f.field === 'taxStatus').sharingClass).toBe('CONDITIONAL')
    expect(byType.LEGAL_ENTITY.provider.code).toBe('AMR')
    expect(byType.ADDRESS.baseCatalogue).toBe('SPATIAL')
  })

  it('the change feed blanks values of fields the caller may not see', async () => {
    // Start the feed just before this person's first change (the database is shared with other tests).
    const first = await server.knex('field_history').where('entity_id', person.id).min({ id: 'id' }).first()
    const after = Buffer.from(JSON.stringify([Number(first!.id) - 1])).toString('base64url') // a change-feed cursor
    const q = `{ changes(after: "${after}", entityTypes: [PERSON], first: 100) { nodes { entityId field newValue } } }`
    const mine = (r: any) => r.data!.changes.nodes.filter((c: any) => c.entityId === person.id)
    const edu = mine(await server.gql(q, undefined, keys.EDU))
    expect(edu.find((c: any) => c.field === 'name').newValue).toBeNull()
    expect(edu.find((c: any) => c.field === 'idNumber').newValue).toMatch(/\*{8}/)
    const psb = mine(await server.gql(q, undefined, keys.PSB))
    expect(psb.find((c: any) => c.field === 'name').newValue).toBe(person.name)
    expect(psb.find((c: any) => c.field === 'employmentStatus').newValue).toBeNull()
  })
})

describe('keys', () => {
  it('missing, forged and revoked keys', async () => {
    const forged = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer cfd_forgedforgedforgedforged' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    })
    expect(forged.status).toBe(401)
    expect(((await forged.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED')
    const basic = await server.gql('{ me { id } }', undefined, { authorization: 'Basic abc' })
    expect(basic.errors![0].extensions!.code).toBe('UNAUTHENTICATED')
    const k = await createTestKey(server.knex, { department: 'EDU' })
    expect((await server.gql('{ me { id roles department { code } } }', undefined, k)).data!.me.department.code).toBe(
      'EDU',
    )
    await revokePrincipal(server.knex, await principalIdOf(server.knex, k))
    expect((await server.gql('{ me { id } }', undefined, k)).errors![0].extensions!.code).toBe('UNAUTHENTICATED')
    const anon = await server.gql('{ me { id roles } }')
    expect(anon.data!.me.roles).toEqual([])
    // The server is still up for others.
    expect((await server.gql('{ me { id } }', undefined, keys.PSB)).data!.me.id).toBeTruthy()
  })

  it('keys are stored hashed, and the demo keys are the literal strings', async () => {
    const rows = await server.knex('principals').select('key_prefix', 'key_hash')
    for (const r of rows) expect(r.key_hash).toMatch(/^[\w-]+\$[\w-]+$/)
    const r = await server.gql('{ me { roles department { code } } }', undefined, {
      authorization: 'Bearer demo-psb',
    })
    expect(r.data!.me.department.code).toBe('PSB')
  })

  it('a department app submits only as its own department; anonymous may not submit', async () => {
    const m = `mutation ($i: SubmitRecordsInput!) { submitRecords(input: $i) { accepted rejected { code } } }`
    const input = {
      entityType: 'PERSON',
      department: 'PSB',
      records: [{ sourceKey: `x-${uniqueSuffix()}`, attributes: { idNumber: idNumber(), name: '某人' } }],
    }
    const edu = await server.gql(m, { i: input }, keys.EDU)
    expect(edu.data!.submitRecords.rejected[0].code).toBe('NOT_AUTHORIZED')
    const anon = await server.gql(m, { i: input })
    expect(anon.errors![0].extensions!.code).toBe('UNAUTHENTICATED')
  })
})

describe('sharing requests', () => {
  it('request → admin approves → the department sees the field; expiry takes it away', async () => {
    const q = `query ($id: ID!) { person(id: $id) { ethnicity } }`
    const edu = await createTestKey(server.knex, { department: 'EDU' })
    expect((await server.gql(q, { id: person.id }, edu)).data!.person.ethnicity).toBeNull()
    const req = await server.gql(
      `mutation { requestSharing(input: { entityType: PERSON, fields: ["ethnicity"], purpose: "school statistics" }) { id status department { code } } }`,
      undefined,
      edu,
    )
    expect(req.data!.requestSharing.status).toBe('PENDING')
    const id = req.data!.requestSharing.id
    const byApp = await server.gql(
      `mutation ($id: ID!) { decideSharingRequest(id: $id, approve: true) { status } }`,
      { id },
      edu,
    )
    expect(byApp.errors![0].extensions!.code).toBe('FORBIDDEN')
    const ok = await server.gql(
      `mutation ($id: ID!) { decideSharingRequest(id: $id, approve: true, reason: "ok") { status } }`,
      { id },
      keys.ADMIN,
    )
    expect(ok.data!.decideSharingRequest.status).toBe('APPROVED')
    expect((await server.gql(q, { id: person.id }, edu)).data!.person.ethnicity).toBe('汉族')
    const again = await server.gql(
      `mutation ($id: ID!) { decideSharingRequest(id: $id, approve: false) { status } }`,
      { id },
      keys.ADMIN,
    )
    expect(again.errors![0].extensions!.code).toBe('BAD_USER_INPUT')
    // Expire it (as if time passed): the field is hidden again.
    await server
      .knex('sharing_grants')
      .where({ id })
      .update({ expires_at: new Date(Date.now() - 1000) })
    // Changed behind the service: its read cache would see it within READ_CACHE_MAX_AGE_MS; now at once.
    invalidateSharingGrants()
    expect((await server.gql(q, { id: person.id }, edu)).data!.person.ethnicity).toBeNull()
    const own = await server.gql('{ sharingGrants { id department { code } } }', undefined, edu)
    expect(own.data!.sharingGrants.every((g: { department: { code: string } }) => g.department.code === 'EDU')).toBe(
      true,
    )
    expect(
      (await server.gql('{ sharingGrants(department: "PSB") { id } }', undefined, edu)).errors![0].extensions!.code,
    ).toBe('FORBIDDEN')
    const all = await server.gql('{ sharingGrants { department { code } } }', undefined, keys.AUDITOR)
    expect(
      new Set(all.data!.sharingGrants.map((g: { department: { code: string } }) => g.department.code)).has('HRSS'),
    ).toBe(true)
  })
})

describe('sharing requests: bad input', () => {
  const REQUEST = `mutation ($i: SharingRequestInput!) { requestSharing(input: $i) { id status } }`
  const ok = { entityType: 'PERSON', fields: ['ethnicity'], purpose: 'statistics' }
  it('each gets its coded error', async () => {
    const cases: [Record<string, string>, Record<string, unknown>, Record<string, unknown>][] = [
      [
        keys.EDU,
        { ...ok, fields: ['shoeSize'] },
        { code: 'BAD_USER_INPUT', reason: 'UNKNOWN_FIELD', field: 'input.fields' },
      ],
      [keys.EDU, { ...ok, fields: [] }, { code: 'BAD_USER_INPUT', field: 'input.fields' }],
      [keys.EDU, { ...ok, purpose: '  ' }, { code: 'BAD_USER_INPUT', field: 'input.purpose' }],
      [
        keys.EDU,
        { ...ok, expiresAt: '2001-01-01T00:00:00Z' },
        { code: 'BAD_USER_INPUT', reason: 'INVALID_DATE', field: 'input.expiresAt' },
      ],
      [keys.STEWARD, ok, { code: 'FORBIDDEN' }],
      [keys.ANONYMOUS, ok, { code: 'UNAUTHENTICATED' }],
    ]
    for (const [who, input, expected] of cases) {
      const r = await server.gql(REQUEST, { i: input }, who)
      expect(r.errors?.[0].extensions, JSON.stringify(input)).toMatchObject(expected)
    }
    const decide = `mutation ($id: ID!) { decideSharingRequest(id: $id, approve: true) { status } }`
    expect((await server.gql(decide, { id: 'not-a-uuid' }, keys.ADMIN)).errors![0].extensions!.code).toBe(
      'BAD_USER_INPUT',
    )
    expect(
      (await server.gql(decide, { id: '00000000-0000-4000-8000-000000000000' }, keys.ADMIN)).errors![0].extensions!
        .code,
    ).toBe('NOT_FOUND')
    expect((await server.gql('{ sharingGrants { id } }')).errors![0].extensions!.code).toBe('UNAUTHENTICATED')
  })
})

describe('access log', () => {
  it('records who read a person, shows it to AUDITOR and STEWARD, and verifies', async () => {
    await server.gql(
      `query ReadForTest($id: ID!) { person(id: $id) { name gender } }`,
      { id: person.id },
      { ...keys.HRSS, 'x-purpose': 'benefit check 42' },
    )
    const q = `query ($id: ID!) { accessLog(personId: $id, first: 1) { totalCount nodes { purpose fields operationName principal { id } } pageInfo { hasNextPage } } }`
    const r = await server.gql(q, { id: person.id }, keys.AUDITOR)
    const entry = r.data!.accessLog.nodes[0]
    expect(entry).toMatchObject({
      purpose: 'benefit check 42',
      operationName: 'ReadForTest',
      principal: { id: await principalIdOf(server.knex, keys.HRSS) },
    })
    expect(entry.fields).toEqual(['gender', 'name'])
    expect(r.data!.accessLog.totalCount).toBeGreaterThan(1)
    expect(r.data!.accessLog.pageInfo.hasNextPage).toBe(true)
    const page = `query ($id: ID!, $after: String) { accessLog(personId: $id, first: 500, after: $after) { nodes { purpose } pageInfo { endCursor hasNextPage } } }`
    const p1 = await server.gql(
      `query ($id: ID!) { accessLog(personId: $id, first: 1) { pageInfo { endCursor } } }`,
      { id: person.id },
      keys.STEWARD,
    )
    const rest = await server.gql(page, { id: person.id, after: p1.data!.accessLog.pageInfo.endCursor }, keys.STEWARD)
    expect(rest.data!.accessLog.nodes.length).toBe(r.data!.accessLog.totalCount - 1)
    expect(rest.data!.accessLog.nodes.map((n: { purpose: string }) => n.purpose)).not.toContain('benefit check 42')
    expect((await server.gql(q, { id: person.id }, keys.PSB)).errors![0].extensions!.code).toBe('FORBIDDEN')
    expect(await verifyAccessLog(server.knex)).toMatchObject({ ok: true })
  })

  it('is append-only, and a row changed behind the trigger is found', async () => {
    await appendAccessLog(server.knex, {
      at: new Date(),
      principalId: 'test',
      purpose: 'tamper test',
      operationName: null,
      personIds: [person.id],
      fields: ['name'],
    })
    const last = await server.knex('access_log').orderBy('id', 'desc').first()
    await expect(server.knex('access_log').where('id', last.id).update({ purpose: 'x' })).rejects.toThrow(/append-only/)
    await expect(server.knex('access_log').where('id', last.id).del()).rejects.toThrow(/append-only/)
    await expect(server.knex.raw('TRUNCATE access_log')).rejects.toThrow(/append-only/)
    expect(await server.knex('access_log').where('id', last.id).first()).toMatchObject({
      hash: last.hash,
      purpose: last.purpose,
    })
    await server.knex.raw('ALTER TABLE access_log DISABLE TRIGGER access_log_append_only')
    try {
      await server.knex('access_log').where('id', last.id).update({ purpose: 'tampered' })
      const verdict = await verifyAccessLog(server.knex)
      expect(verdict).toMatchObject({ ok: false, brokenId: Number(last.id) })
    } finally {
      await server.knex('access_log').where('id', last.id).update({ purpose: last.purpose })
      await server.knex.raw('ALTER TABLE access_log ENABLE TRIGGER access_log_append_only')
    }
    expect(await verifyAccessLog(server.knex)).toMatchObject({ ok: true })
  })
})
