import type { Knex } from 'knex'

// Cross-checks (协查比对, CONTRACT §8): a department compares its own list of subjects (benefit
// recipients, developers) with the registers as they stood at `as_of`, and decides each hit.
// Types are data (rules are predicates from a small library, src/cross-check/predicates.ts), so a
// new comparison is a row, not a release. A check's subjects are kept with it: the run resumes
// from `checked_count` after a restart, and an old check can be re-run to give its old answer.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('cross_check_types', (t) => {
    t.text('code').primary().comment('Type code, e.g. EMPLOYMENT_WHILE_ON_BENEFIT')
    t.text('name').notNullable().comment('Human name')
    t.text('description').notNullable().comment('What the comparison finds')
    t.text('subject_type').notNullable().comment('EntityType of the subjects: PERSON or LEGAL_ENTITY')
    t.text('owner_code')
      .notNullable()
      .references('code')
      .inTable('departments')
      .onDelete('RESTRICT')
      .comment('Department whose apps may start it')
    t.jsonb('rules').notNullable().comment('[{ code, description, predicate }]: see src/cross-check/predicates.ts')
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When defined')
  })

  await knex.schema.createTable('cross_checks', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()')).comment('Check id')
    t.text('type_code')
      .notNullable()
      .references('code')
      .inTable('cross_check_types')
      .onDelete('RESTRICT')
      .comment('Cross-check type')
    // Not a foreign key to principals: the record of who asked outlives a revoked key.
    t.text('requested_by').notNullable().comment('Principal id of the requester')
    t.text('department_code').comment('Department the requester acted for (null for a steward or admin)')
    t.text('purpose').comment('X-Purpose of the request that started it')
    t.timestamp('as_of', { useTz: true }).notNullable().comment('The registers are read as they stood at this time')
    t.text('status').notNullable().defaultTo('QUEUED').comment('QUEUED, RUNNING, DONE or FAILED')
    t.integer('subject_count').notNullable().comment('Subjects submitted')
    t.integer('checked_count').notNullable().defaultTo(0).comment('Subjects compared so far (by ordinal)')
    t.integer('invalid_count').notNullable().defaultTo(0).comment('Keys failing their check character')
    t.integer('not_found_count').notNullable().defaultTo(0).comment('Valid keys the registers did not hold at as_of')
    t.integer('hit_subject_count').notNullable().defaultTo(0).comment('Subjects with at least one hit')
    t.integer('attempts').notNullable().defaultTo(0).comment('Runs started (a restart resumes; too many → FAILED)')
    t.text('worker').comment('Process running it (host:pid:random), for the restart sweep')
    t.timestamp('heartbeat_at', { useTz: true }).comment('Last progress of the running worker')
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When started')
    t.timestamp('finished_at', { useTz: true }).comment('When DONE or FAILED')
    t.text('error').comment('Why it FAILED')
  })
  await knex.raw('CREATE INDEX cross_checks_list_idx ON cross_checks (created_at DESC, id DESC)')
  await knex.raw("CREATE INDEX cross_checks_open_idx ON cross_checks (status) WHERE status IN ('QUEUED', 'RUNNING')")

  await knex.schema.createTable('cross_check_subjects', (t) => {
    t.uuid('check_id').notNullable().references('id').inTable('cross_checks').onDelete('CASCADE').comment('Check')
    t.integer('ordinal').notNullable().comment('Position in the submitted list (0-based)')
    t.text('key').notNullable().comment('ID number or credit code, trimmed and upper-cased')
    t.text('ref').comment("The requester's own reference")
    t.date('since').comment('When the subject’s state began (e.g. benefit start)')
    t.text('status').notNullable().comment('PENDING, INVALID, FOUND or NOT_FOUND')
    // No foreign key: entities are never deleted, and a merge must not rewrite old checks.
    t.uuid('entity_id').comment('Entity holding the key at as_of')
    t.primary(['check_id', 'ordinal'])
  })

  await knex.schema.createTable('cross_check_hits', (t) => {
    t.bigIncrements('id').primary().comment('Hit id (page order)')
    t.uuid('check_id').notNullable().references('id').inTable('cross_checks').onDelete('CASCADE').comment('Check')
    t.integer('ordinal').notNullable().comment('Subject (cross_check_subjects.ordinal)')
    t.text('rule_code').notNullable().comment('Rule of the type that matched')
    t.jsonb('evidence')
      .notNullable()
      .comment('[{ entityType, field, value, source, observedAt, entityId }], unmasked: masked when read')
    t.text('decision').notNullable().defaultTo('PENDING').comment('PENDING, CONFIRMED or DISMISSED')
    t.timestamp('decided_at', { useTz: true }).comment('When decided')
    t.text('decided_by').comment('Principal id of who decided')
    t.text('reason').comment('Why, as given by who decided')
    t.bigInteger('decided_txid')
      .references('txid')
      .inTable('transactions')
      .onDelete('RESTRICT')
      .comment('Audit: the transaction of the decision')
    t.unique(['check_id', 'ordinal', 'rule_code'])
  })
  await knex.raw('CREATE INDEX cross_check_hits_page_idx ON cross_check_hits (check_id, id)')

  // Related-entity rules look up who references a subject (a legal entity's representative, a
  // parcel's land user) as of a time, so they search history by the referenced key. Only these
  // entity types: person history is by far the largest and is never searched this way.
  await knex.raw(
    `CREATE INDEX field_history_reference_key_idx ON field_history (entity_type, field, (new_value #>> '{}'))
      WHERE entity_type IN ('LEGAL_ENTITY', 'PARCEL', 'BUILDING')`,
  )
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS field_history_reference_key_idx')
  await knex.schema.dropTableIfExists('cross_check_hits')
  await knex.schema.dropTableIfExists('cross_check_subjects')
  await knex.schema.dropTableIfExists('cross_checks')
  await knex.schema.dropTableIfExists('cross_check_types')
}
