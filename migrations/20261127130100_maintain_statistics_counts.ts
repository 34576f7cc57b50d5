import type { Knex } from 'knex'

// Maintained aggregates behind derivedStatistics (src/statistics/README.md, "Maintained counts").
//
// person_counts holds, per division_key of the address (as claimed, like the live query), the
// number of LIVING persons: kind RESIDENT by residence address, gender and birth year; kind
// HOUSEHOLD by household-registration address only (gender and birth_year NULL).
// legal_entity_counts holds ACTIVE legal entities by registered address's division_key, kind and
// GB/T 4754 division prefix of the industry code ('C39', '39', '' or NULL: the live query's
// substring expression).
//
// Statement-level AFTER triggers with transition tables keep them exact in the same transaction
// as every write to persons / legal_entities / addresses, whoever writes (the engine's projection,
// merges, SQL loads): each statement adds its rows' new contributions and subtracts the old ones.
// Invariant after every statement: counts = f(current persons/entities, current addresses).
//  - persons / legal_entities INSERT, UPDATE, DELETE: new rows +1, old rows −1, joined to the
//    CURRENT addresses (unchanged by that statement). For UPDATE, the (address, gender, year,
//    living) tuples of old and new rows cancel first (EXCEPT ALL), so rewriting a row without a
//    relevant change costs no address lookup.
//  - addresses UPDATE changing division_key: the persons and entities there move from the old
//    key to the new one.
//  - addresses DELETE: a BEFORE ROW trigger subtracts the persons and entities there; the foreign
//    keys' ON DELETE SET NULL then updates them, which no longer finds the (deleted) address.
//  - TRUNCATE clears the counts of the truncated table (TRUNCATE addresses must cascade to both).
// An address INSERT needs nothing: no row can reference an address before it exists.

const PREFIX = `substring(industry_code from '^[A-T]{0,1}[0-9]{0,2}')`

/** Living persons of a relation, reduced to what the counts key on. */
const personTuples = (rel: string) =>
  `SELECT residence_address_id AS r, household_address_id AS h, gender AS g, extract(year FROM birth_date)::int AS y
     FROM ${rel} WHERE death_date IS NULL`

/** Active legal entities of a relation, reduced to what the counts key on. */
const entityTuples = (rel: string) =>
  `SELECT registered_address_id AS r, kind AS k, ${PREFIX} AS i FROM ${rel} WHERE status = 'ACTIVE'`

/** Adds the contributions of person tuples (columns r, h, g, y, d) to person_counts. */
const bumpPersons = (tuples: string) => `
  INSERT INTO person_counts AS c (division_key, kind, gender, birth_year, n)
  SELECT division_key, kind, g, y, sum(d) FROM (
    SELECT a.division_key, 'RESIDENT' AS kind, t.g, t.y, t.d FROM (${tuples}) t JOIN addresses a ON a.id = t.r WHERE a.division_key IS NOT NULL
    UNION ALL
    SELECT a.division_key, 'HOUSEHOLD', NULL, NULL, t.d FROM (${tuples}) t JOIN addresses a ON a.id = t.h WHERE a.division_key IS NOT NULL
  ) x GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0
  ON CONFLICT (division_key, kind, gender, birth_year) DO UPDATE SET n = c.n + excluded.n`

/** Adds the contributions of entity tuples (columns r, k, i, d) to legal_entity_counts. */
const bumpEntities = (tuples: string) => `
  INSERT INTO legal_entity_counts AS c (division_key, kind, industry_division, n)
  SELECT a.division_key, t.k, t.i, sum(t.d) FROM (${tuples}) t JOIN addresses a ON a.id = t.r
   WHERE a.division_key IS NOT NULL GROUP BY 1, 2, 3 HAVING sum(t.d) <> 0
  ON CONFLICT (division_key, kind, industry_division) DO UPDATE SET n = c.n + excluded.n`

/**
 * Counts of the persons and entities at some addresses added under a key: `moves` yields
 * (id = address id, k = division_key, d = ±1). Two statements, each with its own copy of `moves`.
 */
const moveCounts = (moves: string) => `
  WITH m AS (${moves})
  INSERT INTO person_counts AS c (division_key, kind, gender, birth_year, n)
  SELECT k, kind, g, y, sum(d) FROM (
    SELECT m.k, 'RESIDENT' AS kind, p.gender AS g, extract(year FROM p.birth_date)::int AS y, m.d
      FROM m JOIN persons p ON p.residence_address_id = m.id WHERE p.death_date IS NULL
    UNION ALL
    SELECT m.k, 'HOUSEHOLD', NULL, NULL, m.d FROM m JOIN persons p ON p.household_address_id = m.id WHERE p.death_date IS NULL
  ) x GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0
  ON CONFLICT (division_key, kind, gender, birth_year) DO UPDATE SET n = c.n + excluded.n;
  WITH m AS (${moves})
  INSERT INTO legal_entity_counts AS c (division_key, kind, industry_division, n)
  SELECT m.k, le.kind, ${PREFIX.replace('industry_code', 'le.industry_code')}, sum(m.d)
    FROM m JOIN legal_entities le ON le.registered_address_id = m.id WHERE le.status = 'ACTIVE'
   GROUP BY 1, 2, 3 HAVING sum(m.d) <> 0
  ON CONFLICT (division_key, kind, industry_division) DO UPDATE SET n = c.n + excluded.n`

const fn = (name: string, body: string, returns = 'NULL') => `
CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
${body};
RETURN ${returns};
END $$`

const FUNCTIONS = [
  fn('stat_persons_insert', bumpPersons(`SELECT *, 1 AS d FROM (${personTuples('new_rows')}) n`)),
  fn('stat_persons_delete', bumpPersons(`SELECT *, -1 AS d FROM (${personTuples('old_rows')}) o`)),
  fn(
    'stat_persons_update',
    bumpPersons(`
    SELECT *, 1 AS d FROM (${personTuples('new_rows')} EXCEPT ALL ${personTuples('old_rows')}) n
    UNION ALL
    SELECT *, -1 AS d FROM (${personTuples('old_rows')} EXCEPT ALL ${personTuples('new_rows')}) o`),
  ),
  fn('stat_persons_truncate', 'DELETE FROM person_counts'),
  fn('stat_entities_insert', bumpEntities(`SELECT *, 1 AS d FROM (${entityTuples('new_rows')}) n`)),
  fn('stat_entities_delete', bumpEntities(`SELECT *, -1 AS d FROM (${entityTuples('old_rows')}) o`)),
  fn(
    'stat_entities_update',
    bumpEntities(`
    SELECT *, 1 AS d FROM (${entityTuples('new_rows')} EXCEPT ALL ${entityTuples('old_rows')}) n
    UNION ALL
    SELECT *, -1 AS d FROM (${entityTuples('old_rows')} EXCEPT ALL ${entityTuples('new_rows')}) o`),
  ),
  fn('stat_entities_truncate', 'DELETE FROM legal_entity_counts'),
  // Addresses whose division_key changed: persons and entities there move from old to new key.
  fn(
    'stat_addresses_update',
    `
  ${moveCounts(`SELECT o.id, v.k, v.d FROM old_rows o JOIN new_rows n ON n.id = o.id
     CROSS JOIN LATERAL (VALUES (o.division_key, -1), (n.division_key, 1)) v(k, d)
     WHERE o.division_key IS DISTINCT FROM n.division_key AND v.k IS NOT NULL`)}`,
  ),
  // Before an address goes, what is counted there goes with it (ON DELETE SET NULL follows).
  fn(
    'stat_addresses_delete',
    `
  IF OLD.division_key IS NULL THEN RETURN OLD; END IF;
  ${moveCounts('SELECT OLD.id AS id, OLD.division_key AS k, -1 AS d')}`,
    'OLD',
  ),
]

const TRIGGERS = [
  `CREATE TRIGGER stat_persons_insert AFTER INSERT ON persons REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stat_persons_insert()`,
  `CREATE TRIGGER stat_persons_update AFTER UPDATE ON persons REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stat_persons_update()`,
  `CREATE TRIGGER stat_persons_delete AFTER DELETE ON persons REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stat_persons_delete()`,
  `CREATE TRIGGER stat_persons_truncate AFTER TRUNCATE ON persons FOR EACH STATEMENT EXECUTE FUNCTION stat_persons_truncate()`,
  `CREATE TRIGGER stat_entities_insert AFTER INSERT ON legal_entities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stat_entities_insert()`,
  `CREATE TRIGGER stat_entities_update AFTER UPDATE ON legal_entities REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stat_entities_update()`,
  `CREATE TRIGGER stat_entities_delete AFTER DELETE ON legal_entities REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stat_entities_delete()`,
  `CREATE TRIGGER stat_entities_truncate AFTER TRUNCATE ON legal_entities FOR EACH STATEMENT EXECUTE FUNCTION stat_entities_truncate()`,
  `CREATE TRIGGER stat_addresses_update AFTER UPDATE ON addresses REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stat_addresses_update()`,
  `CREATE TRIGGER stat_addresses_delete BEFORE DELETE ON addresses FOR EACH ROW EXECUTE FUNCTION stat_addresses_delete()`,
]

export async function up(knex: Knex): Promise<void> {
  // COLLATE "C": the unique index then also serves `division_key LIKE '3301%'`.
  await knex.raw(`CREATE TABLE person_counts (
    division_key text COLLATE "C" NOT NULL,
    kind text NOT NULL CHECK (kind IN ('RESIDENT', 'HOUSEHOLD')),
    gender text,
    birth_year int,
    n bigint NOT NULL,
    CONSTRAINT person_counts_key UNIQUE NULLS NOT DISTINCT (division_key, kind, gender, birth_year))`)
  await knex.raw(
    `COMMENT ON TABLE person_counts IS 'Living persons per address division_key: RESIDENT by gender and birth year, HOUSEHOLD in total; kept by triggers'`,
  )
  await knex.raw(`CREATE TABLE legal_entity_counts (
    division_key text COLLATE "C" NOT NULL,
    kind text,
    industry_division text,
    n bigint NOT NULL,
    CONSTRAINT legal_entity_counts_key UNIQUE NULLS NOT DISTINCT (division_key, kind, industry_division))`)
  await knex.raw(
    `COMMENT ON TABLE legal_entity_counts IS 'Active legal entities per address division_key, kind and industry-code division prefix; kept by triggers'`,
  )
  // The boundary-year correction of the age bands reads living persons by birth date.
  await knex.raw(
    `CREATE INDEX persons_living_birth_idx ON persons (birth_date) INCLUDE (gender, residence_address_id) WHERE death_date IS NULL`,
  )
  for (const f of FUNCTIONS) await knex.raw(f)
  for (const t of TRIGGERS) await knex.raw(t)
  // Backfill from what is there (same transaction as the triggers, so nothing is missed).
  await knex.raw(bumpPersons(`SELECT *, 1 AS d FROM (${personTuples('persons')}) p`))
  await knex.raw(bumpEntities(`SELECT *, 1 AS d FROM (${entityTuples('legal_entities')}) e`))
}

export async function down(knex: Knex): Promise<void> {
  for (const [name, table] of [
    ['stat_persons_insert', 'persons'],
    ['stat_persons_update', 'persons'],
    ['stat_persons_delete', 'persons'],
    ['stat_persons_truncate', 'persons'],
    ['stat_entities_insert', 'legal_entities'],
    ['stat_entities_update', 'legal_entities'],
    ['stat_entities_delete', 'legal_entities'],
    ['stat_entities_truncate', 'legal_entities'],
    ['stat_addresses_update', 'addresses'],
    ['stat_addresses_delete', 'addresses'],
  ] as const) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${name} ON ${table}`)
    await knex.raw(`DROP FUNCTION IF EXISTS ${name}()`)
  }
  await knex.raw('DROP INDEX IF EXISTS persons_living_birth_idx')
  await knex.raw('DROP TABLE IF EXISTS person_counts, legal_entity_counts')
}
