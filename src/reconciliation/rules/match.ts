/** Trigram set of a string (pg_trgm-like, on characters, so it suits Chinese names). */
function trigrams(text: string): Set<string> {
  const padded = `  ${text} `
  const grams = new Set<string>()
  for (let i = 0; i + 3 <= padded.length; i++) grams.add(padded.slice(i, i + 3))
  return grams
}

/** Similarity 0..1 of two strings by shared trigrams; 1 for equal strings, 0 when either is empty. */
export function similarity(a: string, b: string): number {
  if (!a || !b) return 0
  if (a === b) return 1
  const ta = trigrams(a)
  const tb = trigrams(b)
  let shared = 0
  for (const g of ta) if (tb.has(g)) shared++
  return shared / (ta.size + tb.size - shared)
}

export interface PersonMatchFields {
  name?: string | null
  birthDate?: string | null
  gender?: string | null
  address?: string | null
}

const PERSON_WEIGHTS = { name: 0.4, birthDate: 0.35, gender: 0.1, address: 0.15 }

/** How one field took part in a person match: its weight and how far the two agree (0..1). */
export interface MatchContribution {
  field: keyof PersonMatchFields
  weight: number
  agreement: number
  /** False when one side lacks the field (or gender is UNKNOWN): it then does not count at all. */
  counted: boolean
}

/**
 * The per-field parts of personMatchScore: weight and agreement of name, birth date, gender and
 * address (score = Σ weight·agreement / Σ weight over the counted fields).
 */
export function personMatchBreakdown(a: PersonMatchFields, b: PersonMatchFields): MatchContribution[] {
  const part = (field: keyof PersonMatchFields, counted: boolean, agreement: number): MatchContribution => ({
    field,
    weight: PERSON_WEIGHTS[field],
    agreement: counted ? agreement : 0,
    counted,
  })
  return [
    part('name', !!(a.name && b.name), similarity(a.name ?? '', b.name ?? '')),
    part(
      'birthDate',
      !!(a.birthDate && b.birthDate),
      a.birthDate && b.birthDate
        ? a.birthDate === b.birthDate
          ? 1
          : a.birthDate.slice(0, 7) === b.birthDate.slice(0, 7)
            ? 0.4
            : 0
        : 0,
    ),
    part(
      'gender',
      !!(a.gender && b.gender && a.gender !== 'UNKNOWN' && b.gender !== 'UNKNOWN'),
      a.gender === b.gender ? 1 : 0,
    ),
    part('address', !!(a.address && b.address), similarity(a.address ?? '', b.address ?? '')),
  ]
}

/**
 * Weighted identity score of two person descriptions, 0..1, over the fields both carry.
 * Returns 0 unless both have a name and a birth date (too little to link people on).
 */
export function personMatchScore(a: PersonMatchFields, b: PersonMatchFields): number {
  if (!a.name || !b.name || !a.birthDate || !b.birthDate) return 0
  let total = 0
  let score = 0
  for (const c of personMatchBreakdown(a, b))
    if (c.counted) {
      total += c.weight
      score += c.weight * c.agreement
    }
  return Math.round((score / total) * 1000) / 1000
}

/** Identity score of two legal-entity descriptions from name (0.7) and address (0.3); 0 without names. */
export function legalEntityMatchScore(
  a: { name?: string | null; address?: string | null },
  b: { name?: string | null; address?: string | null },
): number {
  if (!a.name || !b.name) return 0
  if (!a.address || !b.address) return Math.round(similarity(a.name, b.name) * 0.9 * 1000) / 1000
  return Math.round((0.7 * similarity(a.name, b.name) + 0.3 * similarity(a.address, b.address)) * 1000) / 1000
}
