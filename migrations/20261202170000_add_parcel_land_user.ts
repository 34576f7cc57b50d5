import type { Knex } from 'knex'

// A parcel's land user (the holder of its land-use right, NRP's register) by credit code, so
// real-estate tax cross-checks can find the land a legal entity holds with one indexed join.
// Plain text, not a foreign key: NRP may name a land user that AMR has not registered (yet).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('parcels', (t) => {
    t.text('land_user_credit_code').comment('GB 32100 credit code of the land user (holder of the land-use right)')
  })
  await knex.raw('CREATE INDEX parcels_land_user_idx ON parcels (land_user_credit_code)')
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS parcels_land_user_idx')
  await knex.schema.alterTable('parcels', (t) => {
    t.dropColumn('land_user_credit_code')
  })
}
