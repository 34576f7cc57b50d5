import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import {
  ADMIN,
  asDept,
  errorOf,
  makeCreditCode,
  makeIdNumber,
  personByIdNumber,
  prov,
  RESOLVE,
  STEWARD,
  submit,
  principalIdOf,
} from './scenario.fixtures.js'

// CONTRACT.md §2 rule 6 and the steward's tools: resolveConflict, reportSuspectedError, setAuthorityRule.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

/** A person PSB owns, with HEALTH disagreeing on birthDate: one open VALUE_MISMATCH. */
async function personWithMismatch() {
  const sfx = uniqueSuffix()
  const idNumber = makeIdNumber('1979-05-20')
  await submit(server, 'PSB', 'PERSON', [
    {
      sourceKey: `psb-${sfx}`,
      observedAt: '2024-01-01T00:00:00Z',
      attributes: { idNumber, name: `Steward ${sfx}`, birthDate: '1979-05-20', gender: 'MALE' },
    },
  ])
  const r = await submit(server, 'HEALTH', 'PERSON', [
    {
      sourceKey: `h-${sfx}`,
      observedAt: '2024-02-01T00:00:00Z',
      attributes: { idNumber, birthDate: '1979-05-21' },
    },
  ])
  expect(r.conflictsOpened).toBe(1)
  const person = await personByIdNumber(server, idNumber)
  const conflict = person.conflicts.find(
    (c: { kind: string; status: string }) => c.kind === 'VALUE_MISMATCH' && c.status === 'OPEN',
  )
  return { sfx, idNumber, person, conflictId: conflict.id as string }
}

describe('resolveConflict', () => {
  it('KEEP_AUTHORITATIVE closes the conflict, is audited, and the same value does not reopen it', async () => {
    const { sfx, idNumber, conflictId } = await personWithMismatch()
    const reason = `PSB register checked ${sfx}`
    const r = await server.gql(RESOLVE, { id: conflictId, decision: 'KEEP_AUTHORITATIVE', reason }, STEWARD)
    expect(r.errors).toBeUndefined()
    expect(r.data.resolveConflict).toMatchObject({
      status: 'RESOLVED',
      decision: 'KEEP_AUTHORITATIVE',
      reason,
      currentValue: '1979-05-20',
    })
    expect(r.data.resolveConflict.resolvedBy.id).toBe(await principalIdOf(server, STEWARD))
    expect(r.data.resolveConflict.resolvedAt).toBeTruthy()

    const tx = await server.knex('transactions').where({ operation: 'resolveConflict', reason }).first()
    expect(tx).toMatchObject({ principal_id: await principalIdOf(server, STEWARD) })
    const dismissed = await server
      .knex('claims as c')
      .join('conflict_candidates as cc', 'cc.claim_id', 'c.id')
      .where('cc.conflict_id', conflictId)
      .select('c.dismissed_txid')
    expect(dismissed.every((d) => Number(d.dismissed_txid) === Number(tx.txid))).toBe(true)

    // HEALTH says the same again in a newer record: nothing reopens.
    const again = await submit(server, 'HEALTH', 'PERSON', [
      {
        sourceKey: `h-${sfx}`,
        observedAt: '2024-03-01T00:00:00Z',
        attributes: { idNumber, birthDate: '1979-05-21' },
      },
    ])
    expect(again.conflictsOpened).toBe(0)
    const person = await personByIdNumber(server, idNumber)
    expect(person.conflicts.filter((c: { status: string }) => c.status === 'OPEN')).toEqual([])
    expect(prov(person, 'birthDate')).toMatchObject({
      value: '1979-05-20',
      status: 'AUTHORITATIVE',
      underInvestigation: false,
    })

    // A different value is a new disagreement.
    const other = await submit(server, 'HEALTH', 'PERSON', [
      {
        sourceKey: `h-${sfx}`,
        observedAt: '2024-04-01T00:00:00Z',
        attributes: { idNumber, birthDate: '1979-06-01' },
      },
    ])
    expect(other.conflictsOpened).toBe(1)
  })

  it('ACCEPT_CANDIDATE sets a STEWARD_OVERRIDE that stands until the authority submits a newer claim', async () => {
    const { sfx, idNumber, conflictId } = await personWithMismatch()
    const r = await server.gql(
      RESOLVE,
      { id: conflictId, decision: 'ACCEPT_CANDIDATE', value: 'HEALTH', reason: 'birth certificate seen' },
      STEWARD,
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.resolveConflict).toMatchObject({
      status: 'RESOLVED',
      decision: 'ACCEPT_CANDIDATE',
      currentValue: '1979-05-21',
    })
    let person = await personByIdNumber(server, idNumber)
    expect(person.birthDate).toBe('1979-05-21')
    expect(prov(person, 'birthDate')).toMatchObject({
      status: 'STEWARD_OVERRIDE',
      source: { code: 'HEALTH' },
      underInvestigation: false,
    })

    // The authority re-sends the very same record: unchanged, the override stands.
    const same = await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `psb-${sfx}`,
        observedAt: '2024-01-01T00:00:00Z',
        attributes: { idNumber, name: `Steward ${sfx}`, birthDate: '1979-05-20', gender: 'MALE' },
      },
    ])
    expect(same.unchanged).toBe(1)
    // Another department's claim does not touch it either.
    await submit(server, 'HEALTH', 'PERSON', [
      {
        sourceKey: `h2-${sfx}`,
        observedAt: '2024-05-01T00:00:00Z',
        attributes: { idNumber, birthDate: '1979-07-07' },
      },
    ])
    person = await personByIdNumber(server, idNumber)
    expect(prov(person, 'birthDate')).toMatchObject({ value: '1979-05-21', status: 'STEWARD_OVERRIDE' })

    // A newer authority claim wins again (rule 1).
    await submit(server, 'PSB', 'PERSON', [
      {
        sourceKey: `psb-${sfx}`,
        observedAt: '2024-06-01T00:00:00Z',
        attributes: { idNumber, name: `Steward ${sfx}`, birthDate: '1979-05-22', gender: 'MALE' },
      },
    ])
    person = await personByIdNumber(server, idNumber)
    expect(prov(person, 'birthDate')).toMatchObject({
      value: '1979-05-22',
      status: 'AUTHORITATIVE',
      source: { code: 'PSB' },
    })
    const history = await server.gql(
      `query($id: ID!) { entity(id: $id) { history(field: "birthDate") { newValue status } } }`,
      { id: person.id },
      STEWARD,
    )
    expect(history.data.entity.history.map((h: { status: string }) => h.status)).toEqual([
      'AUTHORITATIVE',
      'STEWARD_OVERRIDE',
      'AUTHORITATIVE',
    ])
  })

  it('ACCEPT_CANDIDATE takes the only candidate when value is omitted, or names it by value', async () => {
    const a = await personWithMismatch()
    const r = await server.gql(
      RESOLVE,
      { id: a.conflictId, decision: 'ACCEPT_CANDIDATE', reason: 'only one candidate' },
      STEWARD,
    )
    expect(r.data.resolveConflict.currentValue).toBe('1979-05-21')
    const b = await personWithMismatch()
    const wrong = await server.gql(
      RESOLVE,
      { id: b.conflictId, decision: 'ACCEPT_CANDIDATE', value: '1900-01-01', reason: 'x' },
      STEWARD,
    )
    expect(errorOf(wrong)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' })
    const byValue = await server.gql(
      RESOLVE,
      { id: b.conflictId, decision: 'ACCEPT_CANDIDATE', value: '1979-05-21', reason: 'by value' },
      STEWARD,
    )
    expect(byValue.data.resolveConflict.currentValue).toBe('1979-05-21')
  })

  it('SET_VALUE validates the value like a submission and sets an override', async () => {
    const { idNumber, conflictId } = await personWithMismatch()
    const bad = await server.gql(
      RESOLVE,
      { id: conflictId, decision: 'SET_VALUE', value: '1979-02-30', reason: 'typo' },
      STEWARD,
    )
    expect(errorOf(bad)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_DATE', field: 'value' })
    const missing = await server.gql(RESOLVE, { id: conflictId, decision: 'SET_VALUE', reason: 'typo' }, STEWARD)
    expect(errorOf(missing)).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'MISSING_FIELD',
      field: 'value',
    })
    const ok = await server.gql(
      RESOLVE,
      { id: conflictId, decision: 'SET_VALUE', value: '1979-05-19', reason: 'hospital archive' },
      STEWARD,
    )
    expect(ok.errors).toBeUndefined()
    const person = await personByIdNumber(server, idNumber)
    expect(prov(person, 'birthDate')).toMatchObject({
      value: '1979-05-19',
      status: 'STEWARD_OVERRIDE',
      source: null,
    })
  })

  it('refuses with coded errors: no reason, not a steward, unknown id, wrong decision, resolved already', async () => {
    const { conflictId } = await personWithMismatch()
    expect(
      errorOf(await server.gql(RESOLVE, { id: conflictId, decision: 'KEEP_AUTHORITATIVE', reason: '  ' }, STEWARD)),
    ).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'MISSING_FIELD', field: 'reason' })
    expect(
      errorOf(
        await server.gql(
          RESOLVE,
          { id: conflictId, decision: 'KEEP_AUTHORITATIVE', reason: 'x'.repeat(2001) },
          STEWARD,
        ),
      ),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' })
    expect(
      errorOf(
        await server.gql(RESOLVE, { id: conflictId, decision: 'KEEP_AUTHORITATIVE', reason: 'x' }, asDept('PSB')),
      ),
    ).toMatchObject({ code: 'FORBIDDEN' })
    expect(
      errorOf(await server.gql(RESOLVE, { id: conflictId, decision: 'KEEP_AUTHORITATIVE', reason: 'x' })),
    ).toMatchObject({ code: 'UNAUTHENTICATED' })
    expect(
      errorOf(
        await server.gql(
          RESOLVE,
          { id: '00000000-0000-4000-8000-000000000000', decision: 'KEEP_AUTHORITATIVE', reason: 'x' },
          STEWARD,
        ),
      ),
    ).toMatchObject({ code: 'NOT_FOUND' })
    expect(
      errorOf(await server.gql(RESOLVE, { id: 'nope', decision: 'KEEP_AUTHORITATIVE', reason: 'x' }, STEWARD)),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' })
    expect(
      errorOf(await server.gql(RESOLVE, { id: conflictId, decision: 'MERGE', reason: 'x' }, STEWARD)),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'decision' })
    // Nothing was changed by the refusals.
    expect((await server.knex('conflicts').where('id', conflictId).first()).status).toBe('OPEN')
    await server.gql(RESOLVE, { id: conflictId, decision: 'KEEP_AUTHORITATIVE', reason: 'first' }, STEWARD)
    expect(
      errorOf(await server.gql(RESOLVE, { id: conflictId, decision: 'KEEP_AUTHORITATIVE', reason: 'second' }, STEWARD)),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' })
  })
})

const REPORT = `mutation($entityId: ID!, $field: String!, $suggestedValue: JSON, $note: String!) {
  reportSuspectedError(entityId: $entityId, field: $field, suggestedValue: $suggestedValue, note: $note) {
    id kind status field authority { code } reportedBy { code } suggestedValue note } }`

describe('reportSuspectedError', () => {
  it("opens an ERROR_REPORT in the owner's inbox, marks the field under investigation, and can be accepted", async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1990-09-09')
    await submit(server, 'PSB', 'PERSON', [
      { sourceKey: `psb-${sfx}`, attributes: { idNumber, name: `Reported ${sfx}`, birthDate: '1990-09-09' } },
    ])
    let person = await personByIdNumber(server, idNumber)
    const r = await server.gql(
      REPORT,
      {
        entityId: person.id,
        field: 'name',
        suggestedValue: `Reported Fixed ${sfx}`,
        note: 'school roll spells it otherwise',
      },
      asDept('EDU'),
    )
    expect(r.errors).toBeUndefined()
    expect(r.data.reportSuspectedError).toMatchObject({
      kind: 'ERROR_REPORT',
      status: 'OPEN',
      field: 'name',
      authority: { code: 'PSB' },
      reportedBy: { code: 'EDU' },
      suggestedValue: `Reported Fixed ${sfx}`,
    })
    const reportId = r.data.reportSuspectedError.id
    person = await personByIdNumber(server, idNumber)
    expect(prov(person, 'name').underInvestigation).toBe(true)
    expect(prov(person, 'gender')?.underInvestigation ?? false).toBe(false)

    const inbox = await server.gql(
      `query { conflicts(filter: { department: "PSB", kind: ERROR_REPORT, status: OPEN }, first: 500) { nodes { id } } }`,
      {},
      asDept('PSB'),
    )
    expect(inbox.data.conflicts.nodes.map((n: { id: string }) => n.id)).toContain(reportId)
    const notHrss = await server.gql(
      `query { conflicts(filter: { department: "HRSS", kind: ERROR_REPORT }, first: 500) { nodes { id } } }`,
      {},
      asDept('HRSS'),
    )
    expect(notHrss.data.conflicts.nodes.map((n: { id: string }) => n.id)).not.toContain(reportId)

    const accepted = await server.gql(
      RESOLVE,
      { id: reportId, decision: 'ACCEPT_CANDIDATE', reason: 'PSB confirmed the typo' },
      STEWARD,
    )
    expect(accepted.errors).toBeUndefined()
    person = await personByIdNumber(server, idNumber)
    expect(person.name).toBe(`Reported Fixed ${sfx}`)
    expect(prov(person, 'name')).toMatchObject({ status: 'STEWARD_OVERRIDE', underInvestigation: false })
  })

  it('answers coded errors for an unknown field, a bad suggestion, an unknown entity and a missing note', async () => {
    const sfx = uniqueSuffix()
    const idNumber = makeIdNumber('1991-01-01')
    await submit(server, 'PSB', 'PERSON', [{ sourceKey: `psb-${sfx}`, attributes: { idNumber, name: `R ${sfx}` } }])
    const { id } = await personByIdNumber(server, idNumber)
    expect(
      errorOf(await server.gql(REPORT, { entityId: id, field: 'shoeSize', note: 'x' }, asDept('EDU'))),
    ).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'UNKNOWN_FIELD', field: 'field' })
    expect(
      errorOf(
        await server.gql(
          REPORT,
          { entityId: id, field: 'gender', suggestedValue: 'SOMETIMES', note: 'x' },
          asDept('EDU'),
        ),
      ),
    ).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE', field: 'suggestedValue' })
    expect(
      errorOf(
        await server.gql(
          REPORT,
          { entityId: id, field: 'birthDate', suggestedValue: '1991-13-01', note: 'x' },
          asDept('EDU'),
        ),
      ),
    ).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_DATE', field: 'suggestedValue' })
    expect(
      errorOf(
        await server.gql(
          REPORT,
          { entityId: '00000000-0000-4000-8000-000000000000', field: 'name', note: 'x' },
          asDept('EDU'),
        ),
      ),
    ).toMatchObject({ code: 'NOT_FOUND' })
    expect(errorOf(await server.gql(REPORT, { entityId: id, field: 'name', note: '' }, asDept('EDU')))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'note',
    })
    expect(errorOf(await server.gql(REPORT, { entityId: id, field: 'name', note: 'x' }))).toMatchObject({
      code: 'UNAUTHENTICATED',
    })
    expect(await server.knex('conflicts').where({ entity_id: id }).count({ n: '*' }).first()).toMatchObject({
      n: 0,
    })
  })
})

const SET_RULE = `mutation($input: AuthorityRuleInput!) { setAuthorityRule(input: $input) {
  entityType field entityKind authority { code } fallbacks { code } sharingClass } }`

describe('setAuthorityRule', () => {
  it('changes the authority of a field and re-decides the golden values at once', async () => {
    const sfx = uniqueSuffix()
    const creditCode = makeCreditCode()
    await submit(server, 'AMR', 'LEGAL_ENTITY', [
      {
        sourceKey: `amr-${sfx}`,
        attributes: { creditCode, name: `Rule Co ${sfx}`, businessScope: 'AMR scope' },
      },
    ])
    await submit(server, 'TAX', 'LEGAL_ENTITY', [
      { sourceKey: `tax-${sfx}`, attributes: { creditCode, businessScope: 'TAX scope' } },
    ])
    const read = async () =>
      (
        await server.gql(
          `query($c: String!) { legalEntity(creditCode: $c) { businessScope provenance(fields: ["businessScope"]) { status source { code } } } }`,
          { c: creditCode },
          STEWARD,
        )
      ).data.legalEntity
    expect(await read()).toMatchObject({
      businessScope: 'AMR scope',
      provenance: [{ status: 'AUTHORITATIVE', source: { code: 'AMR' } }],
    })
    try {
      const r = await server.gql(
        SET_RULE,
        {
          input: { entityType: 'LEGAL_ENTITY', field: 'businessScope', authority: 'TAX', fallbacks: ['AMR'] },
        },
        ADMIN,
      )
      expect(r.errors).toBeUndefined()
      expect(r.data.setAuthorityRule).toMatchObject({
        entityType: 'LEGAL_ENTITY',
        field: 'businessScope',
        entityKind: null,
        authority: { code: 'TAX' },
        fallbacks: [{ code: 'AMR' }],
        sharingClass: 'UNCONDITIONAL',
      })
      expect(await read()).toMatchObject({
        businessScope: 'TAX scope',
        provenance: [{ status: 'AUTHORITATIVE', source: { code: 'TAX' } }],
      })
    } finally {
      await server.gql(
        SET_RULE,
        { input: { entityType: 'LEGAL_ENTITY', field: 'businessScope', authority: 'AMR', fallbacks: [] } },
        ADMIN,
      )
    }
    expect(await read()).toMatchObject({
      businessScope: 'AMR scope',
      provenance: [{ status: 'AUTHORITATIVE', source: { code: 'AMR' } }],
    })
  })

  it('is ADMIN-only and validates every part of the rule', async () => {
    const input = { entityType: 'PERSON', field: 'educationLevel', authority: 'EDU', fallbacks: [] }
    expect(errorOf(await server.gql(SET_RULE, { input }, STEWARD))).toMatchObject({ code: 'FORBIDDEN' })
    expect(errorOf(await server.gql(SET_RULE, { input }))).toMatchObject({ code: 'UNAUTHENTICATED' })
    expect(errorOf(await server.gql(SET_RULE, { input: { ...input, field: 'shoeSize' } }, ADMIN))).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'UNKNOWN_FIELD',
      field: 'input.field',
    })
    expect(errorOf(await server.gql(SET_RULE, { input: { ...input, authority: 'NOPE' } }, ADMIN))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.authority',
    })
    expect(errorOf(await server.gql(SET_RULE, { input: { ...input, fallbacks: ['NOPE'] } }, ADMIN))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.fallbacks',
    })
    expect(
      errorOf(await server.gql(SET_RULE, { input: { ...input, fallbacks: ['PSB', 'PSB'] } }, ADMIN)),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.fallbacks' })
    expect(errorOf(await server.gql(SET_RULE, { input: { ...input, fallbacks: ['EDU'] } }, ADMIN))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.fallbacks',
    })
    expect(
      errorOf(await server.gql(SET_RULE, { input: { ...input, entityKind: 'SOCIAL_ORGANIZATION' } }, ADMIN)),
    ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.entityKind' })
    // The rule-only field of legal entities is accepted; the stored rule is unchanged in substance.
    const ok = await server.gql(
      SET_RULE,
      {
        input: {
          entityType: 'LEGAL_ENTITY',
          field: 'employees',
          authority: 'HRSS',
          fallbacks: [],
          sharingClass: 'CONDITIONAL',
        },
      },
      ADMIN,
    )
    expect(ok.data.setAuthorityRule).toMatchObject({
      field: 'employees',
      authority: { code: 'HRSS' },
      sharingClass: 'CONDITIONAL',
    })
    const edu = await server
      .knex('authority_rules')
      .where({ entity_type: 'PERSON', field: 'educationLevel', entity_kind: '' })
      .first()
    expect(edu.authority).toBe('EDU')
  })
})
