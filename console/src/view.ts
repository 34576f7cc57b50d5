// Pure view logic of the console (no DOM, no fetch): unit-tested in test/unit/console-view.test.ts.

export type Lang = 'zh' | 'en'

export interface QueueFilter {
  kind?: string
  entityType?: string
  field?: string
  authority?: string
  department?: string
  district?: string
  /** Minimum age in days (0 or undefined: any age). */
  olderThanDays?: number
}

/**
 * The GraphQL ConflictFilter of a queue filter: OPEN conflicts only; empty choices are left out.
 * `inbox` (a department app's own code) pins the submitting-department filter to it.
 */
export function conflictFilterOf(
  f: QueueFilter,
  now: Date = new Date(),
  inbox: string | null = null,
): Record<string, unknown> {
  const out: Record<string, unknown> = { status: 'OPEN' }
  for (const key of ['kind', 'entityType', 'field', 'authority', 'department', 'district'] as const) {
    const v = f[key]
    if (v) out[key] = v
  }
  if (inbox) out.department = inbox
  if (f.olderThanDays && f.olderThanDays > 0)
    out.openedBefore = new Date(now.getTime() - f.olderThanDays * 86_400_000).toISOString()
  return out
}

/** A value as a steward reads it: text as is, null as a dash, objects (geometry, JSON) as compact JSON. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—'
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  const geo = v as { type?: string; coordinates?: unknown }
  if (geo && typeof geo === 'object' && typeof geo.type === 'string' && 'coordinates' in geo) {
    if (geo.type === 'Point' && Array.isArray(geo.coordinates))
      return `Point(${(geo.coordinates as number[]).map((n) => n.toFixed(6)).join(', ')})`
    return geo.type
  }
  return JSON.stringify(v)
}

export interface DiffPart {
  text: string
  changed: boolean
}

/**
 * Splits `value` into the parts that equal `reference` and the parts that differ, character by
 * character around the longest common prefix and suffix (enough for "1979-05-20" vs "1979-05-21"
 * and for two spellings of one address). Equal strings give one unchanged part.
 */
export function diffParts(reference: string, value: string): DiffPart[] {
  if (reference === value) return [{ text: value, changed: false }]
  const a = [...reference]
  const b = [...value]
  let pre = 0
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++
  let suf = 0
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++
  const parts: DiffPart[] = []
  if (pre) parts.push({ text: b.slice(0, pre).join(''), changed: false })
  const mid = b.slice(pre, b.length - suf).join('')
  if (mid) parts.push({ text: mid, changed: true })
  if (suf) parts.push({ text: b.slice(b.length - suf).join(''), changed: false })
  if (!parts.some((p) => p.changed)) parts.push({ text: '', changed: true })
  return parts
}

/** The index the selection moves to for a key (j/ArrowDown next, k/ArrowUp previous), clamped; null for other keys. */
export function moveSelection(key: string, index: number, length: number): number | null {
  if (!length) return null
  if (key === 'j' || key === 'ArrowDown') return Math.min(index + 1, length - 1)
  if (key === 'k' || key === 'ArrowUp') return Math.max(index - 1, 0)
  return null
}

/** The decision a key stands for in the conflict view (a accept, k keep, s set value; m merge, n not duplicate). */
export function decisionForKey(key: string, kind: string): string | null {
  if (kind === 'POSSIBLE_DUPLICATE') return ({ m: 'MERGE', n: 'NOT_DUPLICATE' } as Record<string, string>)[key] ?? null
  return ({ a: 'ACCEPT_CANDIDATE', k: 'KEEP_AUTHORITATIVE', s: 'SET_VALUE' } as Record<string, string>)[key] ?? null
}

/** Which decisions fit a conflict kind (as the service's resolveConflict accepts them). */
export function decisionsFor(kind: string): string[] {
  return kind === 'POSSIBLE_DUPLICATE'
    ? ['MERGE', 'NOT_DUPLICATE']
    : ['KEEP_AUTHORITATIVE', 'ACCEPT_CANDIDATE', 'SET_VALUE']
}

/** Age of a conflict in whole days (0 today), for "opened 3 days ago". */
export function ageInDays(openedAt: string, now: Date = new Date()): number {
  return Math.max(0, Math.floor((now.getTime() - Date.parse(openedAt)) / 86_400_000))
}

export interface MatchPart {
  field: string
  weight: number
  agreement: number
  counted: boolean
}

/** Each counted field's share of the match score (weight·agreement / Σ counted weights), rounded to 0.001. */
export function contributions(parts: MatchPart[]): { field: string; share: number; counted: boolean }[] {
  const total = parts.filter((p) => p.counted).reduce((s, p) => s + p.weight, 0)
  return parts.map((p) => ({
    field: p.field,
    counted: p.counted,
    share: p.counted && total ? Math.round(((p.weight * p.agreement) / total) * 1000) / 1000 : 0,
  }))
}

export interface ServiceError {
  message: string
  extensions?: { code?: string; reason?: string; field?: string }
}

/** Message key (see i18n.ts) for an error the service or the network gave. */
export function errorKey(e: ServiceError | { network: true }): string {
  if ('network' in e) return 'err.network'
  const code = e.extensions?.code
  const reason = e.extensions?.reason
  if (reason === 'ALREADY_RESOLVED') return 'err.alreadyResolved'
  if (code === 'UNAUTHENTICATED') return 'err.unauthenticated'
  if (code === 'FORBIDDEN' || code === 'FORBIDDEN_FIELD') return 'err.forbidden'
  if (code === 'NOT_FOUND') return 'err.notFound'
  if (code === 'RATE_LIMITED') return 'err.rateLimited'
  if (reason === 'MISSING_FIELD' && e.extensions?.field === 'reason') return 'err.reasonRequired'
  if (code === 'BAD_USER_INPUT') return 'err.badInput'
  return 'err.internal'
}

/** Summary of a bulk decision: how many were decided, already decided by someone else, or failed otherwise. */
export function bulkSummary(results: { errorCode: string | null }[]): {
  done: number
  already: number
  failed: number
} {
  let done = 0
  let already = 0
  let failed = 0
  for (const r of results)
    if (!r.errorCode) done++
    else if (r.errorCode === 'ALREADY_RESOLVED') already++
    else failed++
  return { done, already, failed }
}

/** The language to start in: the saved choice, else zh (the console's default). */
export function initialLang(saved: string | null): Lang {
  return saved === 'en' ? 'en' : 'zh'
}

/** A department app without a steward role works its own inbox only: its department code, else null. */
export function inboxOf(me: { roles: string[]; department: { code: string } | null }): string | null {
  if (!me.department || me.roles.includes('STEWARD') || me.roles.includes('ADMIN') || me.roles.includes('AUDITOR'))
    return null
  return me.department.code
}
