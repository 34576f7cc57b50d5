import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RecomputeChunk, setAuthorityRule } from '../../src/reconciliation/authority.service.js'
import { createTestKey } from '../access-helpers.js'
import { startTestServer, uniqueSuffix, type TestServer } from '../helpers.js'
import { ADMIN, asDept, errorOf, makeIdNumber, RESOLVE, STEWARD, submit } from './scenario.fixtures.js'

// CONTRACT.md §7: an item defined as data (defineDataItem) takes submissions at once and gets
// everything a core field has: validation, claims, golden value, statuses, conflicts, steward
// decisions, history and asOf, change feed, error reports, sharing, access log, catalogue.

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
})

const DEFINE = `mutation($input: DataItemInput!) { defineDataItem(input: $input) {
  code entityType name title dataType codeList { code label } authority { code } fallback { code } sharingClass core valueCount createdAt } }`

const ITEMS = `query($n: String!, $names: [String!], $asOf: DateTime) { person(idNumber: $n) { id
  items(names: $names, asOf: $asOf) { item { code name } value status source { code } observedAt recordedAt underInvestigation } } }`

/** Defines an item as ADMIN; throws on a GraphQL error. */
async function define(input: Record<string, unknown>) {
  const r = await server.gql(DEFINE, { input }, ADMIN)
  if (r.errors) throw new Error(JSON.stringify(r.errors))
  return r.data.defineDataItem
}

/** A CODE item owned by CAB with HRSS standing in, conditional (the minimum-living-allowance status). */
async function allowanceItem() {
  const name = `allowance${uniqueSuffix()}`
  const item = await define({
    entityType: 'PERSON',
    name,
    title: '最低生活保障状态',
    description: 'Whether the person receives the minimum living allowance (低保)',
    dataType: 'CODE',
    codeList: [
      { code: 'RECEIVING', label: '享受中' },
      { code: 'SUSPENDED', label: '暂停' },
      { code: 'NONE', label: '未享受' },
    ],
    authority: 'CAB',
    fallback: ['HRSS'],
    sharingClass: 'CONDITIONAL',
  })
  return { name, item }
}

async function newPerson(sfx: string) {
  const idNumber = makeIdNumber('1970-04-04')
  const r = await submit(server, 'PSB', 'PERSON', [
    { sourceKey: `psb-${sfx}`, attributes: { idNumber, name: `条目${sfx}`, birthDate: '1970-04-04' } },
  ])
  expect(r.created).toBe(1)
  return idNumber
}

const ITEMS_BY_ID = `query($id: ID!, $names: [String!]) { person(id: $id) { id
  items(names: $names) { item { code name } value status source { code } underInvestigation } } }`

async function itemsOf(idNumber: string, names?: string[], headers: Record<string, string> = STEWARD, asOf?: string) {
  return server.gql(ITEMS, { n: idNumber, names, asOf }, headers)
}

describe('defineDataItem', () => {
  it('defines an item that departments can submit at once, with no restart', async () => {
    const { name, item } = await allowanceItem()
    expect(item).toMatchObject({
      code: `PERSON.${name}`,
      dataType: 'CODE',
      authority: { code: 'CAB' },
      fallback: [{ code: 'HRSS' }],
      sharingClass: 'CONDITIONAL',
      core: false,
      valueCount: 0,
    })
    const sfx = uniqueSuffix()
    const idNumber = await newPerson(sfx)
    const r = await submit(server, 'CAB', 'PERSON', [
      { sourceKey: `cab-${sfx}`, observedAt: '2024-06-01T00:00:00Z', attributes: { idNumber, [name]: 'RECEIVING' } },
    ])
    expect(r).toMatchObject({ accepted: 1, updated: 1, rejected: [] })
    const got = await itemsOf(idNumber, [name])
    expect(got.errors).toBeUndefined()
    expect(got.data.person.items).toEqual([
      {
        item: { code: `PERSON.${name}`, name },
        value: 'RECEIVING',
        status: 'AUTHORITATIVE',
        source: { code: 'CAB' },
        observedAt: '2024-06-01T00:00:00.000Z',
        recordedAt: expect.any(String),
        underInvestigation: false,
      },
    ])
    const listed = await server.gql(`query($c: ID!) { dataItem(code: $c) { valueCount core } }`, {
      c: `PERSON.${name}`,
    })
    expect(listed.data.dataItem).toEqual({ valueCount: 1, core: false })
  })

  it('is for ADMIN only', async () => {
    const input = {
      entityType: 'PERSON',
      name: `x${uniqueSuffix()}`,
      title: 'x',
      dataType: 'STRING',
      authority: 'PSB',
      sharingClass: 'NONE',
    }
    expect(errorOf(await server.gql(DEFINE, { input }, STEWARD)).code).toBe('FORBIDDEN')
    expect(errorOf(await server.gql(DEFINE, { input }, asDept('PSB'))).code).toBe('FORBIDDEN')
    expect(errorOf(await server.gql(DEFINE, { input })).code).toBe('UNAUTHENTICATED')
  })

  it('refuses malformed definitions with a coded error naming the input field', async () => {
    const base = {
      entityType: 'PERSON',
      title: 't',
      dataType: 'STRING',
      authority: 'PSB',
      sharingClass: 'CONDITIONAL',
    }
    const fail = async (input: Record<string, unknown>) =>
      errorOf(await server.gql(DEFINE, { input: { ...base, name: `bad${uniqueSuffix()}`, ...input } }, ADMIN))
    expect(await fail({ pattern: '([a-z' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'INVALID_VALUE',
      field: 'input.pattern',
    })
    expect(await fail({ authority: 'NOPE' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.authority' })
    expect(await fail({ fallback: ['PSB'] })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.fallback' })
    expect(await fail({ name: 'birthDate' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' })
    expect(await fail({ name: 'Has Space' })).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' })
    expect(await fail({ dataType: 'CODE' })).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'MISSING_FIELD',
      field: 'input.codeList',
    })
    expect(await fail({ dataType: 'INTEGER', min: 5, max: 1 })).toMatchObject({ field: 'input.min' })
    expect(await fail({ min: 1 })).toMatchObject({ field: 'input.min' })
    // An unknown data type is refused by the schema (DataItemType is an enum) before any resolver.
    const unknownType = await server.gql(
      DEFINE,
      { input: { ...base, name: `t${uniqueSuffix()}`, dataType: 'COLOUR' } },
      ADMIN,
    )
    expect(unknownType.errors![0].extensions!.code).toBe('BAD_USER_INPUT')
    expect(unknownType.errors![0].message).toMatch(/DataItemType/)
    // The same name twice: the second is refused, the first stands.
    const { name } = await allowanceItem()
    const dup = errorOf(await server.gql(DEFINE, { input: { ...base, name } }, ADMIN))
    expect(dup).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE', field: 'input.name' })
    expect(dup.message).toMatch(/already defined/)
    const still = await server.gql(`query($c: ID!) { dataItem(code: $c) { dataType } }`, { c: `PERSON.${name}` })
    expect(still.data.dataItem.dataType).toBe('CODE')
  })
  it('of two concurrent definitions of one name, takes one and refuses the other with a coded error', async () => {
    const input = {
      entityType: 'PERSON',
      name: `race${uniqueSuffix()}`,
      title: 'race',
      dataType: 'BOOLEAN',
      authority: 'PSB',
      sharingClass: 'NONE',
    }
    const both = await Promise.all([server.gql(DEFINE, { input }, ADMIN), server.gql(DEFINE, { input }, ADMIN)])
    expect(both.filter((r) => !r.errors).length).toBe(1)
    expect(errorOf(both.find((r) => r.errors)!)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.name' })
  })
})

describe('submissions of an item', () => {
  it('reject an undefined item (UNKNOWN_FIELD) and a bad value (INVALID_VALUE naming the item)', async () => {
    const { name } = await allowanceItem()
    const countName = `vehicles${uniqueSuffix()}`
    await define({
      entityType: 'PERSON',
      name: countName,
      title: '机动车数量',
      dataType: 'INTEGER',
      min: 0,
      max: 50,
      authority: 'CAB',
      sharingClass: 'CONDITIONAL',
    })
    const plate = `plate${uniqueSuffix()}`
    await define({
      entityType: 'PERSON',
      name: plate,
      title: '号牌',
      dataType: 'STRING',
      pattern: '^浙A[0-9A-Z]{5}$',
      authority: 'CAB',
      sharingClass: 'CONDITIONAL',
    })
    const sfx = uniqueSuffix()
    const idNumber = await newPerson(sfx)
    const r = await submit(server, 'CAB', 'PERSON', [
      { sourceKey: `a-${sfx}`, attributes: { idNumber, notAnItem: 1 } },
      { sourceKey: `b-${sfx}`, attributes: { idNumber, [name]: 'MAYBE' } },
      { sourceKey: `c-${sfx}`, attributes: { idNumber, [countName]: 51 } },
      { sourceKey: `d-${sfx}`, attributes: { idNumber, [plate]: '沪A12345' } },
      { sourceKey: `e-${sfx}`, attributes: { idNumber, [countName]: 2, [plate]: '浙A1B2C3' } },
    ])
    expect(r.rejected.map((x) => [x.index, x.code, x.field])).toEqual([
      [0, 'UNKNOWN_FIELD', 'notAnItem'],
      [1, 'INVALID_VALUE', name],
      [2, 'INVALID_VALUE', countName],
      [3, 'INVALID_VALUE', plate],
    ])
    expect(r.rejected[1].message).toContain(name)
    expect(r.accepted).toBe(1)
    // Quarantined like any rejected record.
    const q = await server
      .knex('quarantined_records')
      .where({ source_key: `b-${sfx}` })
      .first()
    expect(q).toMatchObject({ code: 'INVALID_VALUE', field: name })
    const got = await itemsOf(idNumber, [countName, plate])
    expect(got.data.person.items.map((i: any) => [i.item.name, i.value, i.status])).toEqual([
      [countName, 2, 'AUTHORITATIVE'],
      [plate, '浙A1B2C3', 'AUTHORITATIVE'],
    ])
  })

  it('follow one datum, one source: provisional, authoritative, mismatch, steward decision, history and asOf', async () => {
    const { name } = await allowanceItem()
    const sfx = uniqueSuffix()
    const idNumber = await newPerson(sfx)
    // HRSS stands in while CAB has said nothing.
    await submit(server, 'HRSS', 'PERSON', [
      { sourceKey: `hrss-${sfx}`, observedAt: '2024-01-01T00:00:00Z', attributes: { idNumber, [name]: 'NONE' } },
    ])
    let items = (await itemsOf(idNumber, [name])).data.person.items
    expect(items[0]).toMatchObject({ value: 'NONE', status: 'PROVISIONAL', source: { code: 'HRSS' } })
    const beforeCab = new Date().toISOString()
    // EDU is not in the fallback list: never sets the value.
    await submit(server, 'EDU', 'PERSON', [{ sourceKey: `edu-${sfx}`, attributes: { idNumber, [name]: 'SUSPENDED' } }])
    expect((await itemsOf(idNumber, [name])).data.person.items[0].value).toBe('NONE')
    // The authority speaks, and disagrees: its value wins and a VALUE_MISMATCH opens on the item.
    const r = await submit(server, 'CAB', 'PERSON', [
      { sourceKey: `cab-${sfx}`, observedAt: '2024-03-01T00:00:00Z', attributes: { idNumber, [name]: 'RECEIVING' } },
    ])
    expect(r.conflictsOpened).toBe(1)
    items = (await itemsOf(idNumber, [name])).data.person.items
    expect(items[0]).toMatchObject({
      value: 'RECEIVING',
      status: 'AUTHORITATIVE',
      source: { code: 'CAB' },
      underInvestigation: true,
    })
    const person = (
      await server.gql(
        `query($n: String!) { person(idNumber: $n) { id history(field: "${name}") { oldValue newValue status }
          conflicts { id kind status field authority { code } candidates { department { code } value } } } }`,
        { n: idNumber },
        STEWARD,
      )
    ).data.person
    expect(person.history).toEqual([
      { oldValue: null, newValue: 'NONE', status: 'PROVISIONAL' },
      { oldValue: 'NONE', newValue: 'RECEIVING', status: 'AUTHORITATIVE' },
    ])
    const conflict = person.conflicts.find((c: any) => c.field === name)
    expect(conflict).toMatchObject({ kind: 'VALUE_MISMATCH', status: 'OPEN', authority: { code: 'CAB' } })
    expect(conflict.candidates.map((c: any) => [c.department.code, c.value]).sort()).toEqual([
      ['EDU', 'SUSPENDED'],
      ['HRSS', 'NONE'],
    ])
    // asOf before CAB's claim: the provisional value.
    const then = (await itemsOf(idNumber, [name], STEWARD, beforeCab)).data.person.items
    expect(then.map((i: any) => [i.value, i.status])).toEqual([['NONE', 'PROVISIONAL']])
    // A steward's SET_VALUE is validated as the item: an unknown code is refused, a known one stands.
    const bad = await server.gql(
      RESOLVE,
      { id: conflict.id, decision: 'SET_VALUE', value: 'MAYBE', reason: 'x' },
      STEWARD,
    )
    expect(errorOf(bad)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE' })
    const ok = await server.gql(
      RESOLVE,
      { id: conflict.id, decision: 'SET_VALUE', value: 'SUSPENDED', reason: 'file checked' },
      STEWARD,
    )
    expect(ok.errors).toBeUndefined()
    items = (await itemsOf(idNumber, [name])).data.person.items
    expect(items[0]).toMatchObject({ value: 'SUSPENDED', status: 'STEWARD_OVERRIDE', underInvestigation: false })
    // The change feed carries the item's changes.
    const first = await server
      .knex('field_history')
      .where({ entity_id: person.id, field: name })
      .min({ id: 'id' })
      .first()
    const after = Buffer.from(JSON.stringify([Number(first!.id) - 1])).toString('base64url')
    const feed = await server.gql(
      `{ changes(after: "${after}", entityTypes: [PERSON], first: 100) { nodes { entityId field newValue } } }`,
      undefined,
      STEWARD,
    )
    expect(
      feed.data.changes.nodes
        .filter((c: any) => c.entityId === person.id && c.field === name)
        .map((c: any) => c.newValue),
    ).toEqual(['NONE', 'RECEIVING', 'SUSPENDED'])
  })

  it('takes error reports and authority rule changes like a core field', async () => {
    const { name } = await allowanceItem()
    const sfx = uniqueSuffix()
    const idNumber = await newPerson(sfx)
    await submit(server, 'CAB', 'PERSON', [{ sourceKey: `cab-${sfx}`, attributes: { idNumber, [name]: 'RECEIVING' } }])
    await submit(server, 'HRSS', 'PERSON', [{ sourceKey: `hrss-${sfx}`, attributes: { idNumber, [name]: 'NONE' } }])
    const { id } = (await itemsOf(idNumber, [name])).data.person
    const report = await server.gql(
      `mutation($e: ID!, $f: String!, $v: JSON) { reportSuspectedError(entityId: $e, field: $f, suggestedValue: $v, note: "ended in May") {
        kind field authority { code } suggestedValue } }`,
      { e: id, f: name, v: 'SUSPENDED' },
      asDept('EDU'),
    )
    expect(report.data.reportSuspectedError).toMatchObject({
      kind: 'ERROR_REPORT',
      field: name,
      authority: { code: 'CAB' },
      suggestedValue: 'SUSPENDED',
    })
    const badReport = await server.gql(
      `mutation($e: ID!, $f: String!, $v: JSON) { reportSuspectedError(entityId: $e, field: $f, suggestedValue: $v, note: "n") { id } }`,
      { e: id, f: name, v: 'MAYBE' },
      asDept('EDU'),
    )
    expect(errorOf(badReport)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'INVALID_VALUE' })
    // HRSS becomes the owner: its value is golden at once.
    const rule = await server.gql(
      `mutation($input: AuthorityRuleInput!) { setAuthorityRule(input: $input) { field authority { code } } }`,
      { input: { entityType: 'PERSON', field: name, authority: 'HRSS', fallbacks: ['CAB'] } },
      ADMIN,
    )
    expect(rule.errors).toBeUndefined()
    const items = (await itemsOf(idNumber, [name])).data.person.items
    expect(items[0]).toMatchObject({ value: 'NONE', status: 'AUTHORITATIVE', source: { code: 'HRSS' } })
  })
})

describe('sharing of items', () => {
  it('hides a conditional item until a grant is approved, and logs who read it', async () => {
    const { name } = await allowanceItem()
    const sfx = uniqueSuffix()
    const idNumber = await newPerson(sfx)
    await submit(server, 'CAB', 'PERSON', [{ sourceKey: `cab-${sfx}`, attributes: { idNumber, [name]: 'RECEIVING' } }])
    const edu = await createTestKey(server.knex, { department: 'EDU' })
    // EDU may not look persons up by ID number: it reads the person by id.
    const id = (await itemsOf(idNumber, [name])).data.person.id as string
    const byId = (names: string[] | undefined, headers: Record<string, string>) =>
      server.gql(ITEMS_BY_ID, { id, names }, headers)
    // Without names the list is what EDU may see; by name, FORBIDDEN_FIELD says why it is missing.
    const all = await byId(undefined, edu)
    expect(all.errors).toBeUndefined()
    expect(all.data.person.items.map((i: any) => i.item.name)).not.toContain(name)
    const named = await byId([name], edu)
    expect(named.data.person.items).toEqual([])
    expect(named.errors!.map((e) => e.extensions!.code)).toEqual(['FORBIDDEN_FIELD'])
    expect(named.errors![0].path).toEqual(['person', 'items'])
    // The source record does not reveal it either.
    const records = await server.gql(
      `query($id: ID!) { person(id: $id) { sourceRecords { department { code } attributes } } }`,
      { id },
      edu,
    )
    const cab = records.data.person.sourceRecords.find((r: any) => r.department.code === 'CAB')
    expect(cab.attributes[name]).toBeUndefined()
    // Unknown item names are an input error.
    expect(errorOf(await byId(['nothingLikeThis'], edu))).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'UNKNOWN_FIELD',
    })
    // A grant for the item opens it.
    const req = await server.gql(
      `mutation($f: [String!]!) { requestSharing(input: { entityType: PERSON, fields: $f, purpose: "school meal subsidy" }) { id } }`,
      { f: [name] },
      edu,
    )
    expect(req.errors).toBeUndefined()
    await server.gql(
      `mutation ($id: ID!) { decideSharingRequest(id: $id, approve: true, reason: "ok") { status } }`,
      { id: req.data.requestSharing.id },
      ADMIN,
    )
    const purpose = `meal subsidy ${sfx}`
    const granted = await byId([name], { ...edu, 'x-purpose': purpose })
    expect(granted.errors).toBeUndefined()
    expect(granted.data.person.items.map((i: any) => i.value)).toEqual(['RECEIVING'])
    const log = await server.knex('access_log').where({ purpose }).first()
    expect(log.fields).toContain(name)
    expect(log.person_ids).toContain(id)
  })
})

describe('the catalogue', () => {
  it('lists core fields and extended items, filtered, and catalog shows the items', async () => {
    const { name } = await allowanceItem()
    const core = await server.gql(
      '{ dataItems(entityType: PERSON, core: true) { code name dataType core authority { code } sharingClass } }',
    )
    expect(core.data.dataItems.every((i: any) => i.core)).toBe(true)
    expect(core.data.dataItems.find((i: any) => i.name === 'idNumber')).toEqual({
      code: 'PERSON.idNumber',
      name: 'idNumber',
      dataType: 'STRING',
      core: true,
      authority: { code: 'PSB' },
      sharingClass: 'CONDITIONAL',
    })
    expect(core.data.dataItems.find((i: any) => i.name === 'gender').dataType).toBe('CODE')
    const cab = await server.gql('{ dataItems(department: "CAB", core: false) { name authority { code } } }')
    expect(cab.data.dataItems.map((i: any) => i.name)).toContain(name)
    expect(cab.data.dataItems.every((i: any) => i.authority.code === 'CAB')).toBe(true)
    const parcel = await server.gql('{ dataItems(entityType: PARCEL) { name core } }')
    expect(parcel.data.dataItems.filter((i: any) => i.core).map((i: any) => i.name)).toEqual(
      expect.arrayContaining(['parcelCode', 'landUse', 'geometry']),
    )
    const catalog = await server.gql(
      '{ catalog { entityType fields { field dataType label authority { code } } } }',
      undefined,
      STEWARD,
    )
    const person = catalog.data.catalog.find((c: any) => c.entityType === 'PERSON')
    expect(person.fields.find((f: any) => f.field === name)).toEqual({
      field: name,
      dataType: 'enum(RECEIVING|SUSPENDED|NONE)',
      label: '最低生活保障状态',
      authority: { code: 'CAB' },
    })
    expect(await server.gql('{ dataItem(code: "PERSON.nothingLikeThis") { code } }')).toMatchObject({
      data: { dataItem: null },
    })
  })

  it('serves items on spatial entities to anonymous callers when unconditional', async () => {
    const grant = `grantDate${uniqueSuffix()}`
    await define({
      entityType: 'PARCEL',
      name: grant,
      title: '土地出让日期',
      dataType: 'DATE',
      authority: 'NRP',
      sharingClass: 'UNCONDITIONAL',
    })
    const code = `P-${uniqueSuffix().toUpperCase()}`
    const r = await submit(server, 'NRP', 'PARCEL', [
      { sourceKey: code, attributes: { parcelCode: code, [grant]: '2003-07-01' } },
    ])
    expect(r.rejected).toEqual([])
    const q = await server.gql(
      `query($c: String!) { parcels(filter: { textContains: $c }) { nodes { items(names: ["${grant}"]) { value status source { code } } } } }`,
      { c: code },
    )
    expect(q.errors).toBeUndefined()
    expect(q.data.parcels.nodes[0].items).toEqual([
      { value: '2003-07-01', status: 'AUTHORITATIVE', source: { code: 'NRP' } },
    ])
  })
})

describe('setAuthorityRule on an item', () => {
  it('re-decides every entity in chunks, each its own transaction, and the feed shows each change', async () => {
    const { name } = await allowanceItem()
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const sfx = uniqueSuffix()
      const idNumber = await newPerson(sfx)
      await submit(server, 'CAB', 'PERSON', [
        { sourceKey: `cab-${sfx}`, attributes: { idNumber, [name]: 'RECEIVING' } },
      ])
      await submit(server, 'HRSS', 'PERSON', [{ sourceKey: `hrss-${sfx}`, attributes: { idNumber, [name]: 'NONE' } }])
      ids.push((await itemsOf(idNumber, [name])).data.person.id)
    }
    const before = await server.knex('transactions').max({ txid: 'txid' }).first()
    const chunks: RecomputeChunk[] = []
    await setAuthorityRule(
      server.knex,
      { principalId: 'test', departmentCode: null },
      { entityType: 'PERSON', field: name, authority: 'HRSS', fallbacks: ['CAB'] },
      { chunkSize: 2, concurrency: 1, onChunk: (c) => chunks.push(c) },
    )
    // Each chunk reports its entities, its changes and its own transaction.
    expect(chunks.map((c) => [c.entities, c.changedFields])).toEqual([
      [2, 2],
      [2, 2],
      [1, 1],
    ])
    expect(new Set(chunks.map((c) => c.txid)).size).toBe(3)
    const txs = await server
      .knex('transactions')
      .where('txid', '>', before!.txid)
      .where({ operation: 'setAuthorityRule' })
      .orderBy('txid')
      .pluck('reason')
    // The rule, then 5 entities in chunks of 2 (2 + 2 + 1).
    expect(txs).toEqual([`PERSON.${name}`, ...Array(3).fill(`PERSON.${name} (recompute)`)])
    const golden = await server.knex('golden_values').whereIn('entity_id', ids).where({ field: name })
    expect(golden.map((g) => [g.value, g.status, g.source_department])).toEqual(
      Array(5).fill(['NONE', 'AUTHORITATIVE', 'HRSS']),
    )
    const changes = await server
      .knex('field_history')
      .whereIn('entity_id', ids)
      .where({ field: name })
      .where('txid', '>', before!.txid)
    expect(changes.map((c) => [c.old_value, c.new_value])).toEqual(Array(5).fill(['RECEIVING', 'NONE']))
  })

  it('with several workers, each entity is re-decided once, in chunks over disjoint id ranges', async () => {
    const { name } = await allowanceItem()
    const ids: string[] = []
    for (let i = 0; i < 7; i++) {
      const sfx = uniqueSuffix()
      const idNumber = await newPerson(sfx)
      await submit(server, 'CAB', 'PERSON', [
        { sourceKey: `cab-${sfx}`, attributes: { idNumber, [name]: 'RECEIVING' } },
      ])
      await submit(server, 'HRSS', 'PERSON', [{ sourceKey: `hrss-${sfx}`, attributes: { idNumber, [name]: 'NONE' } }])
      ids.push((await itemsOf(idNumber, [name])).data.person.id)
    }
    const before = await server.knex('transactions').max({ txid: 'txid' }).first()
    const chunks: RecomputeChunk[] = []
    await setAuthorityRule(
      server.knex,
      { principalId: 'test', departmentCode: null },
      { entityType: 'PERSON', field: name, authority: 'HRSS', fallbacks: ['CAB'] },
      // Four ranges of the uuid space: on the embedded database (one connection) they queue.
      { chunkSize: 2, concurrency: 4, onChunk: (c) => chunks.push(c) },
    )
    expect(chunks.reduce((n, c) => n + c.entities, 0)).toBe(7)
    expect(chunks.reduce((n, c) => n + c.changedFields, 0)).toBe(7)
    const golden = await server.knex('golden_values').whereIn('entity_id', ids).where({ field: name })
    expect(golden.map((g) => [g.value, g.source_department])).toEqual(Array(7).fill(['NONE', 'HRSS']))
    // One history row per entity: nobody was re-decided twice.
    const changes = await server
      .knex('field_history')
      .whereIn('entity_id', ids)
      .where({ field: name })
      .where('txid', '>', before!.txid)
    expect(changes.map((c) => c.entity_id).sort()).toEqual([...ids].sort())
  })
})
