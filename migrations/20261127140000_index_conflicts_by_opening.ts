import type { Knex } from 'knex'

// The stewards' inbox pages conflicts oldest first by (opened_at, id).
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE INDEX conflicts_opened_idx ON conflicts (opened_at, id)')
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS conflicts_opened_idx')
}
