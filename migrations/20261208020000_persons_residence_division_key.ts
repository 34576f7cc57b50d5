import type { Knex } from 'knex'

// persons.residence_division_key: the division code of the person's residence address, kept on
// the person row, so that "the persons of a district" (persons(filter: { residenceDivisionCode }),
// the department apps' commonest list) reads persons alone instead of probing the address of every
// person it walks past (bench/RESULTS.md "Read": a district's first page probed ~390 addresses for
// 50 persons; 1.4 → 0.4 ms of statement time).
//
// It is a copy, kept equal to addresses.division_key of residence_address_id by two triggers
// (the invariant test is in test/integration/residence-division-key.test.ts):
// - BEFORE INSERT on persons, and BEFORE UPDATE when residence_address_id changes (the engine's
//   projection, a merge re-pointing persons, the foreign key's ON DELETE SET NULL of a deleted
//   address): the person row takes its address's code (NULL without an address);
// - AFTER UPDATE on addresses when division_key changes (an address re-coded, or coded after its
//   residents were linked): every person residing there takes the new code.
// Row triggers whose WHEN is false cost nothing, so writes that do not touch either column pay no
// more than before (bench/RESULTS.md "Demo seed" has why this project avoids statement triggers on
// the engine's small statements).

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE persons ADD COLUMN residence_division_key text')
  await knex.raw(`COMMENT ON COLUMN persons.residence_division_key IS
    'addresses.division_key of residence_address_id, kept by triggers (read by the residenceDivisionCode filter)'`)
  await knex.raw(`
    UPDATE persons p SET residence_division_key = a.division_key
      FROM addresses a WHERE a.id = p.residence_address_id AND a.division_key IS NOT NULL`)
  // Selective prefixes (a township) read this range and sort; a district's page walks persons in
  // id order and checks the column on the row. The planner picks by the prefix's statistics.
  // Not partial: includeDeceased pages use it too.
  await knex.raw(`
    CREATE INDEX persons_residence_division_idx ON persons (residence_division_key text_pattern_ops, id)`)
  await knex.raw(`
    CREATE FUNCTION persons_residence_division() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.residence_division_key := (SELECT division_key FROM addresses WHERE id = NEW.residence_address_id);
      RETURN NEW;
    END $$`)
  await knex.raw(`
    CREATE TRIGGER persons_residence_division_insert BEFORE INSERT ON persons
      FOR EACH ROW EXECUTE FUNCTION persons_residence_division()`)
  await knex.raw(`
    CREATE TRIGGER persons_residence_division_update BEFORE UPDATE OF residence_address_id ON persons
      FOR EACH ROW WHEN (old.residence_address_id IS DISTINCT FROM new.residence_address_id)
      EXECUTE FUNCTION persons_residence_division()`)
  await knex.raw(`
    CREATE FUNCTION addresses_residents_division() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE persons SET residence_division_key = NEW.division_key
        WHERE residence_address_id = NEW.id AND residence_division_key IS DISTINCT FROM NEW.division_key;
      RETURN NULL;
    END $$`)
  await knex.raw(`
    CREATE TRIGGER addresses_residents_division AFTER UPDATE OF division_key ON addresses
      FOR EACH ROW WHEN (old.division_key IS DISTINCT FROM new.division_key)
      EXECUTE FUNCTION addresses_residents_division()`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER addresses_residents_division ON addresses')
  await knex.raw('DROP FUNCTION addresses_residents_division()')
  await knex.raw('DROP TRIGGER persons_residence_division_update ON persons')
  await knex.raw('DROP TRIGGER persons_residence_division_insert ON persons')
  await knex.raw('DROP FUNCTION persons_residence_division()')
  await knex.raw('ALTER TABLE persons DROP COLUMN residence_division_key')
}
