import type { Knex } from 'knex'

// The catalogue of extended data items: what a department may contribute beyond the typed core
// fields of the schema (those stay in the code's field registry and appear in the catalogue as
// core items). An item's owner, fallback and sharing class live in authority_rules, the one
// place that says who owns a field, so a defined item is reconciled exactly like a core field.
// Its values are ordinary claims and golden values keyed by the item name.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('data_items', (t) => {
    t.text('entity_type').notNullable().comment('EntityType the item describes')
    t.text('name').notNullable().comment('Attribute name in submissions and items(names:)')
    t.text('title').notNullable().comment('Display name (GB/T 21063 resource title), e.g. 最低生活保障状态')
    t.text('description').comment('Summary (GB/T 21063 abstract)')
    t.text('data_type').notNullable().comment('DataItemType: STRING, INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME or CODE')
    t.jsonb('code_list').comment('CODE items: [{code, label}] the value must be one of')
    t.text('pattern').comment('STRING items: regular expression the value must match')
    t.double('min_value').comment('INTEGER/DECIMAL items: smallest allowed value')
    t.double('max_value').comment('INTEGER/DECIMAL items: largest allowed value')
    t.text('update_cycle').comment('GB/T 21063 update cycle, e.g. DAILY, MONTHLY, ON_CHANGE')
    t.timestamp('created_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.fn.now())
      .comment('When the item was defined')
    t.bigInteger('txid')
      .notNullable()
      .references('txid')
      .inTable('transactions')
      .onDelete('RESTRICT')
      .comment('Transaction that defined it')
    t.primary(['entity_type', 'name'])
  })
  await knex.raw(
    `COMMENT ON TABLE data_items IS 'Catalogue-defined (extended) data items; core items are the field registry'`,
  )
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('data_items')
}
