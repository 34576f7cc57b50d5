import type { Knex } from 'knex'
import { READ_CACHE_MAX_AGE_MS, ReadCache } from '../access/read-cache.js'
import type { EntityTypeName, SharingClassName } from '../shared/entity-types.js'
import type { RuleView } from './rules/merge.js'

/** The departments, by code. */
export function listDepartments(knex: Knex): Promise<{ code: string; name: string }[]> {
  return knex('departments').select('code', 'name').orderBy('code')
}

/** Departments by code, in the order asked; null for an unknown code. */
export async function departmentsByCode(
  knex: Knex,
  codes: readonly string[],
): Promise<({ code: string; name: string } | null)[]> {
  const rows: { code: string; name: string }[] = await knex('departments')
    .select('code', 'name')
    .whereIn('code', codes as string[])
  const byCode = new Map(rows.map((r) => [r.code, r]))
  return codes.map((c) => byCode.get(c) ?? null)
}

/** Whether a department code is known. */
export async function isDepartment(knex: Knex, code: string): Promise<boolean> {
  return (await knex('departments').where('code', code).first('code')) !== undefined
}

export interface DbAuthorityRuleRow {
  entity_type: EntityTypeName
  field: string
  entity_kind: string
  authority: string
  fallbacks: string[]
  sharing_class: SharingClassName
}

export interface AuthorityRule extends RuleView {
  entityType: EntityTypeName
  field: string
  entityKind: string
  sharingClass: SharingClassName
}

/** The authority table in memory, with the kind-specific overrides of legal entities. */
export class AuthorityRules {
  private readonly byKey = new Map<string, AuthorityRule>()
  constructor(rows: DbAuthorityRuleRow[]) {
    for (const r of rows)
      this.byKey.set(`${r.entity_type}|${r.field}|${r.entity_kind}`, {
        entityType: r.entity_type,
        field: r.field,
        entityKind: r.entity_kind,
        authority: r.authority,
        fallbacks: r.fallbacks ?? [],
        sharingClass: r.sharing_class,
      })
  }

  /** The rule for a field, kind-specific first; undefined when the table has no rule for it. */
  ruleFor(entityType: EntityTypeName, field: string, kind?: string | null): AuthorityRule | undefined {
    return (
      (kind ? this.byKey.get(`${entityType}|${field}|${kind}`) : undefined) ?? this.byKey.get(`${entityType}|${field}|`)
    )
  }

  /** Every rule, ordered by entity type, field and kind. */
  all(): AuthorityRule[] {
    return [...this.byKey.values()].sort(
      (a, b) =>
        a.entityType.localeCompare(b.entityType) ||
        a.field.localeCompare(b.field) ||
        a.entityKind.localeCompare(b.entityKind),
    )
  }
}

const cache = new ReadCache<Knex, AuthorityRules>(READ_CACHE_MAX_AGE_MS)

/**
 * The authority table for the read path, cached per database (src/access/read-cache.ts) and
 * invalidated by upsertAuthorityRule. Write paths read the table in their own transaction instead.
 */
export function cachedAuthorityRules(knex: Knex): Promise<AuthorityRules> {
  return cache.get(knex, () => loadAuthorityRules(knex))
}

/** Forgets the cached authority table (now and when trx finishes): for writers of rules besides upsertAuthorityRule. */
export function invalidateAuthorityRules(trx: Knex.Transaction): void {
  cache.invalidate(trx)
}

/** Loads the whole authority table (a few hundred rows at most). */
export async function loadAuthorityRules(db: Knex | Knex.Transaction): Promise<AuthorityRules> {
  const rows = await db<DbAuthorityRuleRow>('authority_rules').select(
    'entity_type',
    'field',
    'entity_kind',
    'authority',
    'fallbacks',
    'sharing_class',
  )
  return new AuthorityRules(rows)
}

/** Inserts or replaces one rule; returns the stored row. */
export async function upsertAuthorityRule(
  { trx, txid }: { trx: Knex.Transaction; txid: number },
  rule: {
    entityType: string
    field: string
    entityKind?: string
    authority: string
    fallbacks: string[]
    sharingClass: string
  },
): Promise<DbAuthorityRuleRow> {
  const [row] = await trx('authority_rules')
    .insert({
      entity_type: rule.entityType,
      field: rule.field,
      entity_kind: rule.entityKind ?? '',
      authority: rule.authority,
      fallbacks: rule.fallbacks,
      sharing_class: rule.sharingClass,
      txid,
    })
    .onConflict(['entity_type', 'field', 'entity_kind'])
    .merge(['authority', 'fallbacks', 'sharing_class', 'txid'])
    .returning(['entity_type', 'field', 'entity_kind', 'authority', 'fallbacks', 'sharing_class'])
  cache.invalidate(trx)
  return row
}
