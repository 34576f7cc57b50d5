import type { Knex } from 'knex'

// Principals hold API keys; only a slow hash of each key is stored (the key is shown once).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('principals', (t) => {
    t.text('id').primary().comment('Principal id')
    t.text('name').notNullable().comment('Display name, e.g. "PSB household app"')
    t.text('department_code')
      .references('code')
      .inTable('departments')
      .onDelete('RESTRICT')
      .comment('Department the key acts for')
    t.specificType('roles', 'text[]').notNullable().defaultTo('{}').comment('DEPARTMENT_APP, STEWARD, ADMIN, AUDITOR')
    t.text('key_prefix')
      .notNullable()
      .unique()
      .comment('First characters of the key, to find the row without the secret')
    t.text('key_hash').notNullable().comment('scrypt hash of the whole key (salt$hash)')
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When created')
    t.timestamp('revoked_at', { useTz: true }).comment('When revoked; a revoked key authenticates nobody')
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('principals')
}
