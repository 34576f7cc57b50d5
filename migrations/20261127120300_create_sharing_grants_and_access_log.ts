import type { Knex } from 'knex'

// Sharing grants let a department read CONDITIONAL fields it does not own; the access log records
// every read of person data. The log is append-only (a trigger refuses UPDATE, DELETE and
// TRUNCATE) and hash-chained, so a row changed behind the trigger's back is found by
// `npm run audit:verify`.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sharing_grants', (t) => {
    t.uuid('id').primary().comment('Grant (or request) id')
    t.text('department_code')
      .notNullable()
      .references('code')
      .inTable('departments')
      .onDelete('CASCADE')
      .comment('Department that may read the fields')
    t.text('entity_type').notNullable().comment('EntityType the fields belong to')
    t.specificType('fields', 'text[]').notNullable().comment('Registry field names covered')
    t.text('purpose').notNullable().comment('Why the department needs the data (legal basis)')
    t.text('status').notNullable().defaultTo('PENDING').comment('PENDING, APPROVED or REJECTED')
    t.timestamp('expires_at', { useTz: true }).comment(
      'After this instant the grant no longer applies; null = no expiry',
    )
    t.text('requested_by').references('id').inTable('principals').onDelete('SET NULL').comment('Principal that asked')
    t.text('decided_by').references('id').inTable('principals').onDelete('SET NULL').comment('ADMIN that decided')
    t.timestamp('decided_at', { useTz: true }).comment('When decided')
    t.text('decision_reason').comment('Reason given with the decision')
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When requested')
    t.index(['department_code', 'entity_type', 'status'])
  })

  await knex.schema.createTable('access_log', (t) => {
    t.bigIncrements('id').primary().comment('Position in the chain')
    t.timestamp('at', { useTz: true }).notNullable().comment('When the read happened')
    t.text('principal_id')
      .notNullable()
      .comment('Who read (principal id; not a foreign key so the log outlives principals)')
    t.text('purpose').comment('X-Purpose header of the request')
    t.text('operation_name').comment('GraphQL operation name, if any')
    t.specificType('person_ids', 'text[]').notNullable().comment('Persons whose data was read')
    t.specificType('fields', 'text[]').notNullable().comment('Person fields read')
    t.text('prev_hash').notNullable().comment('hash of the previous row ("" for the first)')
    t.text('hash').notNullable().comment('sha256(prev_hash + canonical row content), hex')
  })
  await knex.raw('CREATE INDEX access_log_person_ids ON access_log USING gin (person_ids)')
  await knex.raw(`
    CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'access_log is append-only';
    END
    $$`)
  await knex.raw(
    'CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log FOR EACH ROW EXECUTE FUNCTION access_log_append_only()',
  )
  await knex.raw(
    'CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only()',
  )
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('access_log')
  await knex.raw('DROP FUNCTION IF EXISTS access_log_append_only()')
  await knex.schema.dropTableIfExists('sharing_grants')
}
