import type { Knex } from 'knex'

// Identity by natural key (ID number, credit code, division code, …) used to be looked up in the
// projection tables, which hold golden values only: a person first reported by a department that
// may not decide idNumber had no id_number there, so every later record with the same number
// founded another person. This table records which entity a natural key identifies, whoever sent
// it first; its primary key makes "one key, one entity" hold under concurrent writers too (the
// second inserter waits for the first and then links to its entity). Merges do not rewrite it:
// readers follow entities.merged_into, so an unmerge needs no change here.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('entity_natural_keys', (t) => {
    t.text('entity_type').notNullable().comment('EntityType the key belongs to')
    t.text('natural_key')
      .notNullable()
      .comment(
        "The key in stored form (ID number, credit code, code, normalised address text, 'indicator|region|period')",
      )
    // Deferred: the engine reserves a key for a new entity's id before it inserts the entity, in the same transaction.
    t.uuid('entity_id')
      .notNullable()
      .references('id')
      .inTable('entities')
      .onDelete('CASCADE')
      .deferrable('deferred')
      .comment('Entity the key identifies (follow entities.merged_into for the survivor)')
    t.timestamp('created_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.fn.now())
      .comment('When the key was first seen')
    t.primary(['entity_type', 'natural_key'])
    t.index(['entity_id'])
  })
  await knex.raw(
    `COMMENT ON TABLE entity_natural_keys IS 'Which entity each natural key identifies, first sender wins; see src/reconciliation/identity.ts'`,
  )
  // Existing keys: from the projection rows and from current key claims (which a non-authority
  // department's entity has without a golden value). Where several entities share a key (the
  // split this table prevents from now on) the oldest keeps it; npm run repair:identities merges the others.
  await knex.raw(`
    INSERT INTO entity_natural_keys (entity_type, natural_key, entity_id)
    SELECT DISTINCT ON (k.entity_type, k.natural_key) k.entity_type, k.natural_key, k.entity_id
      FROM (
        SELECT 'PERSON' AS entity_type, id_number AS natural_key, id AS entity_id FROM persons WHERE id_number IS NOT NULL
        UNION ALL SELECT 'LEGAL_ENTITY', credit_code, id FROM legal_entities WHERE credit_code IS NOT NULL
        UNION ALL SELECT 'ADMIN_DIVISION', code, id FROM admin_divisions WHERE code IS NOT NULL
        UNION ALL SELECT 'PARCEL', parcel_code, id FROM parcels WHERE parcel_code IS NOT NULL
        UNION ALL SELECT 'INDICATOR', code, id FROM indicators WHERE code IS NOT NULL
        UNION ALL SELECT 'ADDRESS', normalized_text, id FROM addresses WHERE normalized_text IS NOT NULL
        UNION ALL SELECT 'OBSERVATION', indicator_key || '|' || region_key || '|' || period, id FROM observations
          WHERE indicator_key IS NOT NULL AND region_key IS NOT NULL AND period IS NOT NULL
        UNION ALL SELECT e.entity_type, c.value #>> '{}', c.entity_id FROM claims c JOIN entities e ON e.id = c.entity_id
          WHERE c.superseded_txid IS NULL AND jsonb_typeof(c.value) = 'string'
            AND ((e.entity_type = 'PERSON' AND c.field = 'idNumber') OR (e.entity_type = 'LEGAL_ENTITY' AND c.field = 'creditCode'))
      ) k
      JOIN entities e ON e.id = k.entity_id AND e.merged_into IS NULL
     ORDER BY k.entity_type, k.natural_key, e.created_txid, e.id`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('entity_natural_keys')
}
