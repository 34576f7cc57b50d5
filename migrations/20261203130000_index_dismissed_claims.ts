import type { Knex } from 'knex'

// Every recompute of stored entities (an update in an import, a steward decision, a rule change)
// reads the claims a steward dismissed for those entities (engine.ts, recomputeEntities). Nothing
// indexed claims by entity outside the current ones (claims_current_idx is partial on
// superseded_txid IS NULL, and a dismissed claim may be superseded), so each chunk of 1,000
// entities read the whole claims table: ~70 ms at 30,000 persons, seconds at 1,000,000
// (bench/RESULTS.md "Authority rule change"). Dismissed claims are few, so this partial index is
// small and costs the write path nothing until a steward dismisses a value.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX claims_dismissed_idx ON claims (entity_id, field) WHERE dismissed_txid IS NOT NULL')
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS claims_dismissed_idx')
}
