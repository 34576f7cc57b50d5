import type { Knex } from 'knex'

// The reconciliation core is domain-agnostic: every department contribution is a source record,
// every field value in it is a claim, and the value the service shows is a golden value chosen by
// the authority rules. Domain tables (next migration) are projections of golden values.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('departments', (t) => {
    t.text('code').primary().comment('Department code, e.g. PSB')
    t.text('name').notNullable().comment('Department name')
  })
  await knex.raw(`COMMENT ON TABLE departments IS 'Departments that contribute and own data'`)

  // Every write stamps one row here; history, asOf and the change feed all read txid.
  await knex.schema.createTable('transactions', (t) => {
    t.bigIncrements('txid').primary().comment('Transaction id stamped on every write')
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('Commit-side time of the write')
    t.text('principal_id').comment('Principal that caused the write (null for system jobs)')
    t.text('department_code').references('code').inTable('departments').onDelete('SET NULL').comment('Acting department')
    t.text('operation').notNullable().comment('What the write was, e.g. submitRecords')
    t.text('reason').comment('Reason given by a steward or admin')
  })

  await knex.schema.createTable('authority_rules', (t) => {
    t.increments('id').primary().comment('Surrogate key')
    t.text('entity_type').notNullable().comment('EntityType the rule applies to')
    t.text('field').notNullable().comment('Field name as in the GraphQL type')
    // LEGAL_ENTITY authority may depend on kind: '' is the default rule, a kind overrides it.
    t.text('entity_kind').notNullable().defaultTo('').comment("Entity kind the rule is specific to, '' for all")
    t.text('authority').notNullable().references('code').inTable('departments').onDelete('RESTRICT').comment('The one owning department')
    t.specificType('fallbacks', 'text[]').notNullable().defaultTo('{}').comment('Ordered departments that may stand in while the authority has no value')
    t.text('sharing_class').notNullable().defaultTo('CONDITIONAL').comment('UNCONDITIONAL, CONDITIONAL or NONE')
    t.bigInteger('txid').references('txid').inTable('transactions').onDelete('SET NULL').comment('Last change')
    t.unique(['entity_type', 'field', 'entity_kind'])
  })

  await knex.schema.createTable('entities', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()')).comment('Master entity id')
    t.text('entity_type').notNullable().comment('EntityType')
    t.uuid('merged_into').references('id').inTable('entities').onDelete('SET NULL').comment('Survivor when merged away')
    t.bigInteger('created_txid').notNullable().references('txid').inTable('transactions').onDelete('RESTRICT').comment('Transaction that created it')
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('Creation time')
    t.index(['entity_type'])
  })

  await knex.schema.createTable('source_records', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()')).comment('Source record id')
    t.text('department_code').notNullable().references('code').inTable('departments').onDelete('RESTRICT').comment('Submitting department')
    t.text('entity_type').notNullable().comment('EntityType')
    t.text('source_key').notNullable().comment("The department's own key for the record")
    t.jsonb('attributes').notNullable().comment('Attributes as submitted')
    t.jsonb('geometry').comment('GeoJSON geometry as submitted')
    t.text('content_hash').notNullable().comment('Hash of attributes+geometry+observedAt: idempotency')
    t.timestamp('observed_at', { useTz: true }).comment('Valid time stated by the source')
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('Last time the service received it')
    t.uuid('entity_id').references('id').inTable('entities').onDelete('SET NULL').comment('Master entity it is linked to')
    t.bigInteger('txid').notNullable().references('txid').inTable('transactions').onDelete('RESTRICT').comment('Last transaction that changed it')
    t.unique(['department_code', 'entity_type', 'source_key'])
    t.index(['entity_id'])
  })

  await knex.schema.createTable('quarantined_records', (t) => {
    t.bigIncrements('id').primary().comment('Quarantine row id')
    t.text('department_code').notNullable().references('code').inTable('departments').onDelete('RESTRICT').comment('Submitting department')
    t.text('entity_type').notNullable().comment('EntityType')
    t.text('batch_key').comment('Batch the record came in')
    t.integer('record_index').notNullable().comment('Position in its batch')
    t.text('source_key').comment('Source key if given')
    t.jsonb('payload').notNullable().comment('The record exactly as submitted')
    t.text('code').notNullable().comment('Validation code, e.g. INVALID_ID_NUMBER')
    t.text('field').comment('Offending field')
    t.text('message').notNullable().comment('Human-readable reason')
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When it was rejected')
    t.index(['department_code', 'received_at'])
  })

  await knex.schema.createTable('submission_batches', (t) => {
    t.text('department_code').notNullable().references('code').inTable('departments').onDelete('RESTRICT').comment('Submitting department')
    t.text('batch_key').notNullable().comment('Idempotency key given by the department')
    t.text('entity_type').notNullable().comment('EntityType of the batch')
    t.jsonb('result').notNullable().comment('SubmissionResult returned the first time')
    t.bigInteger('txid').notNullable().references('txid').inTable('transactions').onDelete('RESTRICT').comment('Transaction that applied it')
    t.primary(['department_code', 'batch_key'])
  })

  await knex.schema.createTable('claims', (t) => {
    t.bigIncrements('id').primary().comment('Claim id')
    t.uuid('entity_id').notNullable().references('id').inTable('entities').onDelete('CASCADE').comment('Entity the claim is about')
    t.text('field').notNullable().comment('Field name')
    t.text('department_code').notNullable().references('code').inTable('departments').onDelete('RESTRICT').comment('Claiming department')
    t.uuid('source_record_id').notNullable().references('id').inTable('source_records').onDelete('CASCADE').comment('Record that carried it')
    t.text('source_key').notNullable().comment('Source key of that record')
    t.jsonb('value').comment('Claimed value (JSON)')
    t.timestamp('observed_at', { useTz: true }).comment('Valid time stated by the source')
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('Transaction time')
    t.bigInteger('txid').notNullable().references('txid').inTable('transactions').onDelete('RESTRICT').comment('Transaction that recorded it')
    t.bigInteger('superseded_txid').references('txid').inTable('transactions').onDelete('SET NULL').comment('Set when a newer claim of the same record replaced it')
    // A steward's KEEP_AUTHORITATIVE dismisses a candidate so the same value does not reopen a conflict.
    t.bigInteger('dismissed_txid').references('txid').inTable('transactions').onDelete('SET NULL').comment('Set when a steward dismissed it as a candidate')
  })
  await knex.raw(`CREATE INDEX claims_current_idx ON claims (entity_id, field) WHERE superseded_txid IS NULL`)
  await knex.raw(`CREATE INDEX claims_record_idx ON claims (source_record_id) WHERE superseded_txid IS NULL`)

  await knex.schema.createTable('golden_values', (t) => {
    t.uuid('entity_id').notNullable().references('id').inTable('entities').onDelete('CASCADE').comment('Entity')
    t.text('field').notNullable().comment('Field name')
    t.jsonb('value').comment('The value the service shows')
    t.text('status').notNullable().comment('AUTHORITATIVE, PROVISIONAL or STEWARD_OVERRIDE')
    t.text('source_department').references('code').inTable('departments').onDelete('SET NULL').comment('Department whose value is shown')
    t.text('source_key').comment('Source key of the winning claim')
    t.bigInteger('claim_id').references('id').inTable('claims').onDelete('SET NULL').comment('Winning claim')
    t.timestamp('observed_at', { useTz: true }).comment('Valid time of the winning claim')
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When this value became golden')
    t.bigInteger('txid').notNullable().references('txid').inTable('transactions').onDelete('RESTRICT').comment('Transaction that set it')
    t.primary(['entity_id', 'field'])
  })

  // Append-only; its id is the change-feed cursor. Writers take one advisory lock while writing it,
  // so id order is commit order and a reader never skips a row that commits late.
  await knex.schema.createTable('field_history', (t) => {
    t.bigIncrements('id').primary().comment('Change sequence number (change-feed cursor)')
    t.uuid('entity_id').notNullable().comment('Entity (kept even if the entity is later merged)')
    t.text('entity_type').notNullable().comment('EntityType')
    t.text('field').notNullable().comment('Field name')
    t.jsonb('old_value').comment('Previous golden value')
    t.jsonb('new_value').comment('New golden value')
    t.text('status').notNullable().comment('ValueStatus of the new value')
    t.text('source_department').comment('Department of the new value')
    t.timestamp('observed_at', { useTz: true }).comment('Valid time of the new value')
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('Transaction time')
    t.bigInteger('txid').notNullable().comment('Transaction')
    t.index(['entity_id', 'field', 'id'])
    t.index(['entity_type', 'id'])
  })

  await knex.schema.createTable('conflicts', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()')).comment('Conflict id')
    t.text('kind').notNullable().comment('VALUE_MISMATCH, POSSIBLE_DUPLICATE or ERROR_REPORT')
    t.text('status').notNullable().defaultTo('OPEN').comment('OPEN or RESOLVED')
    t.text('entity_type').notNullable().comment('EntityType')
    t.uuid('entity_id').notNullable().references('id').inTable('entities').onDelete('CASCADE').comment('Entity')
    t.uuid('other_entity_id').references('id').inTable('entities').onDelete('CASCADE').comment('Second entity of a POSSIBLE_DUPLICATE')
    t.text('field').comment('Field (VALUE_MISMATCH, ERROR_REPORT)')
    t.text('authority').references('code').inTable('departments').onDelete('SET NULL').comment('Owning department of the field')
    t.double('match_score').comment('Identity match score (POSSIBLE_DUPLICATE)')
    t.text('reported_by').references('code').inTable('departments').onDelete('SET NULL').comment('Department that reported a suspected error')
    t.jsonb('suggested_value').comment('Value suggested in an error report')
    t.text('note').comment('Note of an error report')
    t.timestamp('opened_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When opened')
    t.bigInteger('opened_txid').notNullable().references('txid').inTable('transactions').onDelete('RESTRICT').comment('Transaction that opened it')
    t.timestamp('resolved_at', { useTz: true }).comment('When resolved')
    t.text('resolved_by').comment('Principal id that resolved it')
    t.text('decision').comment('ConflictDecision')
    t.text('reason').comment('Reason given with the decision')
    t.index(['status', 'kind', 'entity_type'])
    t.index(['entity_id'])
  })
  await knex.raw(`CREATE UNIQUE INDEX conflicts_one_open_mismatch ON conflicts (entity_id, field) WHERE status = 'OPEN' AND kind = 'VALUE_MISMATCH'`)

  await knex.schema.createTable('conflict_candidates', (t) => {
    t.uuid('conflict_id').notNullable().references('id').inTable('conflicts').onDelete('CASCADE').comment('Conflict')
    t.bigInteger('claim_id').notNullable().references('id').inTable('claims').onDelete('CASCADE').comment('Candidate claim')
    t.primary(['conflict_id', 'claim_id'])
  })
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['conflict_candidates', 'conflicts', 'field_history', 'golden_values', 'claims', 'submission_batches',
    'quarantined_records', 'source_records', 'entities', 'authority_rules', 'transactions', 'departments'])
    await knex.schema.dropTableIfExists(table)
}
