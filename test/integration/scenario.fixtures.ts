import { creditCodeCheckChar } from '../../src/reconciliation/rules/credit-code.js'
import { idNumberCheckChar } from '../../src/reconciliation/rules/id-number.js'
import type { TestServer } from '../helpers.js'
import { randomInt } from '../support/ids.js'

// Shared by the scenario tests: valid random keys and one-line GraphQL calls as a department or steward.

// Numbers this file has drawn: a file never gets the same key twice (a seed once drew the same
// region and sequence twice in a row, and the second "new" person was the first one again).
const drawn = new Set<string>()
function fresh(draw: () => string): string {
  for (;;) {
    const v = draw()
    if (!drawn.has(v)) {
      drawn.add(v)
      return v
    }
  }
}

/**
 * A valid GB 11643 ID number for a Zhejiang person born on `birth` (YYYY-MM-DD). Region and
 * sequence digits are random (10^5 numbers per birth date), so reruns on a kept database do not
 * collide, and never repeat within a file (a fixed `region` leaves 1,000 numbers per birth date).
 */
export function makeIdNumber(birth = '1985-03-14', region?: string): string {
  return fresh(() => {
    const r = region ?? `3301${String(randomInt(0, 100)).padStart(2, '0')}`
    const first17 = `${r}${birth.replaceAll('-', '')}${String(randomInt(0, 1000)).padStart(3, '0')}`
    return first17 + idNumberCheckChar(first17)!
  })
}

const CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY'

/** A valid GB 32100 credit code of a Hangzhou enterprise (authority 9, type 1); random body, never repeated within a file. */
export function makeCreditCode(kind: '91' | '51' = '91'): string {
  return fresh(() => {
    let body = ''
    for (let i = 0; i < 9; i++) body += CHARSET[randomInt(0, CHARSET.length)]
    const first17 = `${kind}330106${body}`
    return first17 + creditCodeCheckChar(first17)!
  })
}

/** Headers of a department app (temporary header authentication). */
export const asDept = (code: string): Record<string, string> => ({ 'X-Department': code })
export const STEWARD = { 'X-Department': 'CAB', 'X-Roles': 'STEWARD' }
export const ADMIN = { 'X-Roles': 'ADMIN' }

/** The principal id behind these headers (what transactions.principal_id and resolvedBy hold). */
export async function principalIdOf(server: TestServer, headers: Record<string, string>): Promise<string> {
  return (await server.gql('{ me { id } }', undefined, headers)).data.me.id
}

export const SUBMIT = `mutation($input: SubmitRecordsInput!) { submitRecords(input: $input) {
  batchKey accepted created updated unchanged conflictsOpened possibleDuplicates rejected { index sourceKey code field message } } }`

export interface RecordIn {
  sourceKey: string
  observedAt?: string
  attributes: Record<string, unknown>
  geometry?: unknown
}

/** Submits records as a department and returns the SubmissionResult; throws on a GraphQL error. */
export async function submit(
  server: TestServer,
  department: string,
  entityType: string,
  records: RecordIn[],
  batchKey?: string,
) {
  const r = await server.gql(SUBMIT, { input: { entityType, records, batchKey } }, asDept(department))
  if (r.errors) throw new Error(`submitRecords failed: ${JSON.stringify(r.errors)}`)
  return r.data.submitRecords as {
    batchKey: string | null
    accepted: number
    created: number
    updated: number
    unchanged: number
    conflictsOpened: number
    possibleDuplicates: number
    rejected: {
      index: number
      sourceKey: string | null
      code: string
      field: string | null
      message: string
    }[]
  }
}

const PROVENANCE = 'provenance { field value status source { code } authority { code } sourceKey underInvestigation }'

/** Person by ID number with provenance and conflicts (the steward's view). */
export async function personByIdNumber(server: TestServer, idNumber: string) {
  const r = await server.gql(
    `query($n: String!) { person(idNumber: $n) { id idNumber name gender birthDate maritalStatus employmentStatus
    employer { id creditCode } ${PROVENANCE}
    conflicts { id kind status field candidates { department { code } value } } } }`,
    { n: idNumber },
    STEWARD,
  )
  if (r.errors) throw new Error(JSON.stringify(r.errors))
  return r.data.person
}

/** The provenance entry of one field from a loaded entity. */
export function prov(entity: { provenance: { field: string }[] }, field: string): any {
  return entity.provenance.find((p) => p.field === field)
}

export const RESOLVE = `mutation($id: ID!, $decision: ConflictDecision!, $value: JSON, $reason: String!) {
  resolveConflict(id: $id, decision: $decision, value: $value, reason: $reason) {
    id kind status decision reason resolvedAt resolvedBy { id } currentValue candidates { department { code } value } } }`

/** The error of a failed GraphQL call, flattened to what tests check. */
export function errorOf(r: { errors?: readonly { extensions?: Record<string, unknown>; message: string }[] }) {
  const e = r.errors?.[0]
  return {
    code: e?.extensions?.code,
    reason: e?.extensions?.reason,
    field: e?.extensions?.field,
    message: e?.message,
  }
}
