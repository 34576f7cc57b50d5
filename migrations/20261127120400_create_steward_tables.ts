import type { Knex } from 'knex'

// Steward decisions that the engine must remember: pairs a steward declared distinct (so the
// identity match does not raise them again) and merges (so an unmerge can put records back).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('identity_exclusions', (t) => {
    // Stored as an ordered pair (entity_a < entity_b) so each pair has one row.
    t.uuid('entity_a')
      .notNullable()
      .references('id')
      .inTable('entities')
      .onDelete('CASCADE')
      .comment('Smaller entity id of the pair')
    t.uuid('entity_b')
      .notNullable()
      .references('id')
      .inTable('entities')
      .onDelete('CASCADE')
      .comment('Larger entity id of the pair')
    t.bigInteger('txid')
      .notNullable()
      .references('txid')
      .inTable('transactions')
      .onDelete('RESTRICT')
      .comment('Transaction of the NOT_DUPLICATE decision')
    t.primary(['entity_a', 'entity_b'])
  })
  await knex.raw(
    `ALTER TABLE identity_exclusions ADD CONSTRAINT identity_exclusions_ordered CHECK (entity_a < entity_b)`,
  )
  await knex.raw(`COMMENT ON TABLE identity_exclusions IS 'Entity pairs a steward declared not to be duplicates'`)

  await knex.schema.createTable('merges', (t) => {
    t.bigIncrements('id').primary().comment('Merge id')
    t.uuid('survivor_id')
      .notNullable()
      .references('id')
      .inTable('entities')
      .onDelete('CASCADE')
      .comment('Entity that kept the records')
    t.uuid('merged_id')
      .notNullable()
      .references('id')
      .inTable('entities')
      .onDelete('CASCADE')
      .comment('Entity merged away (entities.merged_into = survivor)')
    t.specificType('source_record_ids', 'uuid[]').notNullable().comment('Source records moved from merged to survivor')
    t.bigInteger('txid')
      .notNullable()
      .references('txid')
      .inTable('transactions')
      .onDelete('RESTRICT')
      .comment('Transaction of the merge')
    t.text('reason').notNullable().comment('Reason the steward gave')
    t.text('principal_id').comment('Steward who merged')
    t.bigInteger('unmerged_txid')
      .references('txid')
      .inTable('transactions')
      .onDelete('SET NULL')
      .comment('Transaction of the unmerge that undid it')
    t.index(['survivor_id'])
    t.index(['merged_id'])
  })
  await knex.raw(`COMMENT ON TABLE merges IS 'Entity merges by stewards, kept so that unmergeEntity can restore them'`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('merges')
  await knex.schema.dropTableIfExists('identity_exclusions')
}
