import type { Knex } from 'knex'

// The division code of an entity's address, kept on the entity's own row:
//   persons.residence_division_key        ← addresses.division_key of residence_address_id
//   persons.household_division_key        ← addresses.division_key of household_address_id
//   legal_entities.registered_division_key ← addresses.division_key of registered_address_id
// so that "the persons (legal entities) of a district" — persons(filter: { residenceDivisionCode
// / householdDivisionCode }), legalEntities(filter: { divisionCode }), the department apps'
// commonest lists — read the entity table alone instead of probing the address of every row they
// walk past (bench/RESULTS.md "Read": a district's first page of persons probed ~390 addresses for
// 50 persons; 1.4 → 0.4 ms of statement time).
//
// Each is a copy, kept equal to the address's code by triggers (the invariant tests are in
// test/integration/residence-division-key.test.ts):
// - BEFORE INSERT on the entity table, and BEFORE UPDATE when an address reference changes (the
//   engine's projection, a merge re-pointing rows, the foreign key's ON DELETE SET NULL of a
//   deleted address): the row takes its addresses' codes (NULL without an address);
// - AFTER UPDATE on addresses when division_key changes (an address re-coded, or coded after its
//   residents were linked): every row referring to it takes the new code.
// Row triggers whose WHEN is false cost nothing, so writes that touch neither an address reference
// nor a division code pay no more than before (bench/RESULTS.md "Demo seed" has why this project
// avoids statement triggers on the engine's small statements).

/** Each copy: the table, the copy's column and the address reference it copies from. */
const COPIES = [
  { table: 'persons', copy: 'residence_division_key', address: 'residence_address_id' },
  { table: 'persons', copy: 'household_division_key', address: 'household_address_id' },
  { table: 'legal_entities', copy: 'registered_division_key', address: 'registered_address_id' },
] as const
const TABLES = [...new Set(COPIES.map((c) => c.table))]
const copiesOf = (table: string) => COPIES.filter((c) => c.table === table)

export async function up(knex: Knex): Promise<void> {
  for (const { table, copy, address } of COPIES) {
    await knex.raw(`ALTER TABLE ${table} ADD COLUMN ${copy} text`)
    await knex.raw(`COMMENT ON COLUMN ${table}.${copy} IS
      'addresses.division_key of ${address}, kept by triggers (read by the division filters)'`)
    await knex.raw(`
      UPDATE ${table} t SET ${copy} = a.division_key
        FROM addresses a WHERE a.id = t.${address} AND a.division_key IS NOT NULL`)
    // Selective prefixes (a township) read this range and sort; a district's page walks the table
    // in id order and checks the column on the row. The planner picks by the prefix's statistics.
    await knex.raw(`CREATE INDEX ${table}_${copy.replace(/_key$/, '')}_idx ON ${table} (${copy} text_pattern_ops, id)`)
  }
  for (const table of TABLES) {
    const copies = copiesOf(table)
    await knex.raw(`
      CREATE FUNCTION ${table}_address_divisions() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${copies.map((c) => `NEW.${c.copy} := (SELECT division_key FROM addresses WHERE id = NEW.${c.address});`).join('\n        ')}
        RETURN NEW;
      END $$`)
    await knex.raw(`
      CREATE TRIGGER ${table}_address_divisions_insert BEFORE INSERT ON ${table}
        FOR EACH ROW EXECUTE FUNCTION ${table}_address_divisions()`)
    await knex.raw(`
      CREATE TRIGGER ${table}_address_divisions_update BEFORE UPDATE OF ${copies.map((c) => c.address).join(', ')}
        ON ${table} FOR EACH ROW
        WHEN (${copies.map((c) => `old.${c.address} IS DISTINCT FROM new.${c.address}`).join(' OR ')})
        EXECUTE FUNCTION ${table}_address_divisions()`)
  }
  await knex.raw(`
    CREATE FUNCTION addresses_division_copies() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${COPIES.map(
        (c) => `UPDATE ${c.table} SET ${c.copy} = NEW.division_key
        WHERE ${c.address} = NEW.id AND ${c.copy} IS DISTINCT FROM NEW.division_key;`,
      ).join('\n      ')}
      RETURN NULL;
    END $$`)
  await knex.raw(`
    CREATE TRIGGER addresses_division_copies AFTER UPDATE OF division_key ON addresses
      FOR EACH ROW WHEN (old.division_key IS DISTINCT FROM new.division_key)
      EXECUTE FUNCTION addresses_division_copies()`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER addresses_division_copies ON addresses')
  await knex.raw('DROP FUNCTION addresses_division_copies()')
  for (const table of TABLES) {
    await knex.raw(`DROP TRIGGER ${table}_address_divisions_update ON ${table}`)
    await knex.raw(`DROP TRIGGER ${table}_address_divisions_insert ON ${table}`)
    await knex.raw(`DROP FUNCTION ${table}_address_divisions()`)
  }
  for (const { table, copy } of COPIES) await knex.raw(`ALTER TABLE ${table} DROP COLUMN ${copy}`)
}
