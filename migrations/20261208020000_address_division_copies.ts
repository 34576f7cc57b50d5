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

const division = (column: string) => `(SELECT division_key FROM addresses WHERE id = NEW.${column})`

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE persons ADD COLUMN residence_division_key text, ADD COLUMN household_division_key text`)
  await knex.raw('ALTER TABLE legal_entities ADD COLUMN registered_division_key text')
  for (const [table, column, address] of [
    ['persons', 'residence_division_key', 'residence_address_id'],
    ['persons', 'household_division_key', 'household_address_id'],
    ['legal_entities', 'registered_division_key', 'registered_address_id'],
  ]) {
    await knex.raw(`COMMENT ON COLUMN ${table}.${column} IS
      'addresses.division_key of ${address}, kept by triggers (read by the division filters)'`)
    await knex.raw(`
      UPDATE ${table} t SET ${column} = a.division_key
        FROM addresses a WHERE a.id = t.${address} AND a.division_key IS NOT NULL`)
    // Selective prefixes (a township) read this range and sort; a district's page walks the table
    // in id order and checks the column on the row. The planner picks by the prefix's statistics.
    await knex.raw(
      `CREATE INDEX ${table}_${column.replace(/_key$/, '')}_idx ON ${table} (${column} text_pattern_ops, id)`,
    )
  }
  await knex.raw(`
    CREATE FUNCTION persons_address_divisions() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.residence_division_key := ${division('residence_address_id')};
      NEW.household_division_key := ${division('household_address_id')};
      RETURN NEW;
    END $$`)
  await knex.raw(`
    CREATE TRIGGER persons_address_divisions_insert BEFORE INSERT ON persons
      FOR EACH ROW EXECUTE FUNCTION persons_address_divisions()`)
  await knex.raw(`
    CREATE TRIGGER persons_address_divisions_update BEFORE UPDATE OF residence_address_id, household_address_id
      ON persons FOR EACH ROW
      WHEN (old.residence_address_id IS DISTINCT FROM new.residence_address_id
            OR old.household_address_id IS DISTINCT FROM new.household_address_id)
      EXECUTE FUNCTION persons_address_divisions()`)
  await knex.raw(`
    CREATE FUNCTION legal_entities_address_division() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.registered_division_key := ${division('registered_address_id')};
      RETURN NEW;
    END $$`)
  await knex.raw(`
    CREATE TRIGGER legal_entities_address_division_insert BEFORE INSERT ON legal_entities
      FOR EACH ROW EXECUTE FUNCTION legal_entities_address_division()`)
  await knex.raw(`
    CREATE TRIGGER legal_entities_address_division_update BEFORE UPDATE OF registered_address_id
      ON legal_entities FOR EACH ROW
      WHEN (old.registered_address_id IS DISTINCT FROM new.registered_address_id)
      EXECUTE FUNCTION legal_entities_address_division()`)
  await knex.raw(`
    CREATE FUNCTION addresses_division_copies() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE persons SET residence_division_key = NEW.division_key
        WHERE residence_address_id = NEW.id AND residence_division_key IS DISTINCT FROM NEW.division_key;
      UPDATE persons SET household_division_key = NEW.division_key
        WHERE household_address_id = NEW.id AND household_division_key IS DISTINCT FROM NEW.division_key;
      UPDATE legal_entities SET registered_division_key = NEW.division_key
        WHERE registered_address_id = NEW.id AND registered_division_key IS DISTINCT FROM NEW.division_key;
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
  await knex.raw('DROP TRIGGER legal_entities_address_division_update ON legal_entities')
  await knex.raw('DROP TRIGGER legal_entities_address_division_insert ON legal_entities')
  await knex.raw('DROP FUNCTION legal_entities_address_division()')
  await knex.raw('DROP TRIGGER persons_address_divisions_update ON persons')
  await knex.raw('DROP TRIGGER persons_address_divisions_insert ON persons')
  await knex.raw('DROP FUNCTION persons_address_divisions()')
  await knex.raw('ALTER TABLE legal_entities DROP COLUMN registered_division_key')
  await knex.raw('ALTER TABLE persons DROP COLUMN residence_division_key, DROP COLUMN household_division_key')
}
