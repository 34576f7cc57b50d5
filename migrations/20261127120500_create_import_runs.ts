import type { Knex } from 'knex'

// A bulk import commits in chunks; this row is its checkpoint, advanced in the same transaction as
// each chunk, so a re-run of the same file after a crash skips exactly the committed chunks.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('import_runs', (t) => {
    t.bigIncrements('id').primary().comment('Import run id')
    t.text('file_hash').notNullable().comment('sha256 of the imported file')
    t.text('file_name').notNullable().comment('File name as given (for messages only)')
    t.text('department_code')
      .notNullable()
      .references('code')
      .inTable('departments')
      .onDelete('RESTRICT')
      .comment('Department the records are submitted for')
    t.text('entity_type').notNullable().comment('Entity type of every record in the file')
    t.integer('chunk_size').notNullable().comment('Records per transaction')
    t.integer('records_committed')
      .notNullable()
      .defaultTo(0)
      .comment('Records (in file order) whose chunk has committed')
    t.jsonb('totals')
      .notNullable()
      .defaultTo('{}')
      .comment('Running counts: accepted, created, updated, unchanged, conflictsOpened, possibleDuplicates, rejected')
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When the run started')
    t.timestamp('updated_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.fn.now())
      .comment('When the last chunk committed')
    t.timestamp('finished_at', { useTz: true }).comment(
      'When the whole file was done; null while running or after a crash',
    )
  })
  // At most one unfinished run per file, department and type: that is the one a re-run resumes.
  await knex.raw(
    `CREATE UNIQUE INDEX import_runs_unfinished_idx ON import_runs (file_hash, department_code, entity_type) WHERE finished_at IS NULL`,
  )
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('import_runs')
}
