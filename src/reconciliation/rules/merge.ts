import type { ValueStatusName } from '../../shared/entity-types.js'

/** A department's current claim on one field of one entity. */
export interface ClaimView {
  id: number
  department: string
  /** The claiming record's key (shown in provenance). */
  sourceKey?: string
  value: unknown
  /** ISO time, valid time as stated by the source. */
  observedAt: string | null
  txid: number
  dismissed: boolean
}

export interface RuleView {
  authority: string
  /** Departments that may stand in, best first. */
  fallbacks: string[]
}

export interface GoldenView {
  value: unknown
  status: ValueStatusName
  department: string | null
  claimId: number | null
  txid: number
}

export interface GoldenChoice {
  value: unknown
  status: ValueStatusName
  department: string | null
  claimId: number | null
  observedAt: string | null
}

export interface MergeDecision {
  /** 'keep': the standing value stays as it is; null: the field has no golden value. */
  next: GoldenChoice | 'keep' | null
  /** Claims that disagree with an authoritative value: candidates of a VALUE_MISMATCH conflict. */
  mismatches: ClaimView[]
}

/** JSON with sorted keys, so equal values compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null'
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

/** True when two claimed values are the same datum. */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b)
}

function newer(a: ClaimView, b: ClaimView): boolean {
  const ta = a.observedAt ? Date.parse(a.observedAt) : -Infinity
  const tb = b.observedAt ? Date.parse(b.observedAt) : -Infinity
  return ta !== tb ? ta > tb : a.txid > b.txid
}

/** Each department's latest claim (by observedAt, then by arrival); a department with several records counts once. */
export function latestClaimPerDepartment(claims: ClaimView[]): Map<string, ClaimView> {
  const latest = new Map<string, ClaimView>()
  for (const c of claims) {
    const seen = latest.get(c.department)
    if (!seen || newer(c, seen)) latest.set(c.department, c)
  }
  return latest
}

/**
 * One datum, one source (CONTRACT.md §2): chooses the golden value of one field from the current
 * claims, the authority rule and the standing value. Pure; the caller writes the outcome.
 */
export function decideGoldenValue(rule: RuleView, claims: ClaimView[], standing: GoldenView | null): MergeDecision {
  const byDepartment = latestClaimPerDepartment(claims)
  const authorityClaim = byDepartment.get(rule.authority)

  // Rule 6: a steward override stands until the authority submits a newer claim (rule 1 again).
  if (standing?.status === 'STEWARD_OVERRIDE' && !(authorityClaim && authorityClaim.txid > standing.txid)) {
    return { next: 'keep', mismatches: [] }
  }

  if (authorityClaim) {
    // Rules 1, 4, 5: the authority's value stands; every other department's differing value is a candidate.
    const mismatches = [...byDepartment.values()].filter(
      (c) => c.department !== rule.authority && !c.dismissed && !sameValue(c.value, authorityClaim.value),
    )
    return {
      next: {
        value: authorityClaim.value,
        status: 'AUTHORITATIVE',
        department: rule.authority,
        claimId: authorityClaim.id,
        observedAt: authorityClaim.observedAt,
      },
      mismatches,
    }
  }

  // Rule 2: no authoritative value: the best-ranked fallback present stands in; others never set it.
  for (const department of rule.fallbacks) {
    const claim = byDepartment.get(department)
    if (claim) {
      return {
        next: {
          value: claim.value,
          status: 'PROVISIONAL',
          department,
          claimId: claim.id,
          observedAt: claim.observedAt,
        },
        mismatches: [],
      }
    }
  }
  return { next: null, mismatches: [] }
}

/** True when the decision changes what callers see (value, status or source). */
export function changesGolden(decision: MergeDecision, standing: GoldenView | null): boolean {
  const next = decision.next
  if (next === 'keep') return false
  if (next === null) return standing !== null
  if (!standing) return true
  return (
    !sameValue(next.value, standing.value) || next.status !== standing.status || next.department !== standing.department
  )
}
