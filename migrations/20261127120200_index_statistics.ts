import type { Knex } from 'knex'

// Derived statistics are computed live from the registers (src/statistics/statistics.store.ts):
// addresses of a region by division-code prefix, then the living persons / active legal entities
// at those addresses. These partial covering indexes hold exactly the rows and columns those
// aggregates read, so a region is counted from index pages without visiting the tables
// (index-only scans once the visibility map is set, i.e. after autovacuum).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `CREATE INDEX persons_living_residence_idx ON persons (residence_address_id) INCLUDE (gender, birth_date) WHERE death_date IS NULL`,
  )
  await knex.raw(`CREATE INDEX persons_living_household_idx ON persons (household_address_id) WHERE death_date IS NULL`)
  await knex.raw(
    `CREATE INDEX legal_entities_active_address_idx ON legal_entities (registered_address_id) INCLUDE (kind, industry_code) WHERE status = 'ACTIVE'`,
  )
  // Address ids by division prefix without reading the table.
  await knex.raw(`CREATE INDEX addresses_division_key_id_idx ON addresses (division_key text_pattern_ops, id)`)
  // Observations are read by indicator, by region and by period (discrepancies).
  await knex.raw(`CREATE INDEX observations_indicator_idx ON observations (indicator_id)`)
  await knex.raw(`CREATE INDEX observations_region_idx ON observations (region_id)`)
  await knex.raw(`CREATE INDEX observations_period_idx ON observations (period)`)
  await knex.raw(`CREATE INDEX indicators_category_idx ON indicators (category, subcategory, code)`)
}

export async function down(knex: Knex): Promise<void> {
  for (const name of [
    'persons_living_residence_idx',
    'persons_living_household_idx',
    'legal_entities_active_address_idx',
    'addresses_division_key_id_idx',
    'observations_indicator_idx',
    'observations_region_idx',
    'observations_period_idx',
    'indicators_category_idx',
  ])
    await knex.raw('DROP INDEX IF EXISTS ??', [name])
}
