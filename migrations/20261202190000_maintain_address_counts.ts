import type { Knex } from 'knex'

// Maintained per-address counts behind areaSummary (docs/gis.md, "Area summaries").
//
// address_counts has ONE ROW PER ADDRESS: its point (a copy of addresses.location), the point's
// cell on a 2^20 × 2^20 lon/lat grid as a Morton (Z-order) key, and the number of LIVING persons
// whose residence address it is and of legal entities (any status) registered there. A polygon's
// summary then never joins persons or legal_entities: it covers the polygon with quadtree cells
// (each a contiguous range of Morton keys), sums the counts of cells wholly inside through the
// btree index on the key without testing their points, and tests point-in-polygon only for the
// addresses in cells crossing the boundary. A count update changes no indexed column: with
// fillfactor 70 it is a HOT update (no index write). Rows are written in cell order at the backfill.
//
// Statement-level AFTER triggers with transition tables keep it exact in the same transaction as
// every write to persons / legal_entities / addresses, whoever writes (engine, merges, SQL loads),
// the pattern of 20261127130100_maintain_statistics_counts. Rows are per address, so concurrent
// writers only meet on the same address (no shared counter row). Two transactions updating the
// same addresses in different orders could deadlock (PostgreSQL then aborts one); writes
// serialize on the engine's advisory lock today, as for the statistics counts.
// Invariant after every statement: one row per address, with its location, and
//   residents      = count(persons WHERE residence_address_id = address AND death_date IS NULL)
//   legal_entities = count(legal_entities WHERE registered_address_id = address)
//  - persons / legal_entities INSERT, UPDATE, DELETE: +1 per new row, −1 per old row, at the
//    addresses that exist now (for UPDATE, old and new rows with the same address and living
//    state cancel first, EXCEPT ALL, so rewriting other fields costs nothing).
//  - addresses INSERT: a row with zero counts (nothing can reference an address before it exists);
//    UPDATE of location: the copy follows; DELETE: the row goes (the foreign keys' ON DELETE SET
//    NULL then updates persons and entities, whose −1 finds no address any more and is dropped).
//  - TRUNCATE: the counts of that register become 0 (addresses: the rows go).

/** Spreads the low 20 bits of v to the even bit positions (Morton interleaving). */
const SPREAD = `
CREATE FUNCTION morton_spread(v bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  v := (v | (v << 16)) & 281470681808895;      -- 0x0000FFFF0000FFFF
  v := (v | (v << 8)) & 71777214294589695;     -- 0x00FF00FF00FF00FF
  v := (v | (v << 4)) & 1085102592571150095;   -- 0x0F0F0F0F0F0F0F0F
  v := (v | (v << 2)) & 3689348814741910323;   -- 0x3333333333333333
  v := (v | (v << 1)) & 6148914691236517205;   -- 0x5555555555555555
  RETURN v;
END $$`

/** The Morton key of a point's cell on the 2^20 × 2^20 grid over lon −180..180, lat −90..90. */
const CELL = `
CREATE FUNCTION address_cell(p geometry) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT morton_spread(least(1048575, greatest(0, floor((ST_X(p) + 180) * 1048576 / 360)))::bigint)
       | (morton_spread(least(1048575, greatest(0, floor((ST_Y(p) + 90) * 1048576 / 180)))::bigint) << 1)
$$`

/**
 * Adds (address a, delta d) rows to one count column. The rows there are updated in place (only
 * the count changes, and no index holds it: a HOT update, no index write). An address without a
 * row yet — inserted by the same statement, in a writable CTE whose triggers fired first — gets
 * one if it exists; a delta for an address deleted meanwhile is dropped.
 */
const bump = (column: string, deltas: string) => `
  WITH d AS MATERIALIZED (SELECT t.a, sum(t.d) AS n FROM (${deltas}) t GROUP BY t.a HAVING sum(t.d) <> 0),
  u AS (UPDATE address_counts c SET ${column} = c.${column} + d.n FROM d WHERE c.address_id = d.a RETURNING c.address_id)
  INSERT INTO address_counts AS c (address_id, location, cell, ${column})
  SELECT a.id, a.location, address_cell(a.location), d.n FROM d JOIN addresses a ON a.id = d.a
   WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.address_id = d.a) ORDER BY a.id
  ON CONFLICT (address_id) DO UPDATE SET ${column} = c.${column} + excluded.${column}`

/**
 * The three delta functions (insert, delete, update) of one register. Inserts and deletes are
 * counted per statement from transition tables; an update per row, and only when the row's address
 * or its counting condition changed (the trigger's WHEN): the engine updates persons and legal
 * entities in many small statements that rarely move anyone, and a statement trigger would run
 * its delta query on every one of them (the embedded demo's seed took 1.6× as long).
 */
const register = (
  prefix: string,
  column: string,
  tuples: (rel: string) => string,
  rowTuple: (rec: 'OLD' | 'NEW') => string,
) => [
  fn(`${prefix}_insert`, bump(column, `SELECT a, 1 AS d FROM (${tuples('new_rows')}) n`)),
  fn(`${prefix}_delete`, bump(column, `SELECT a, -1 AS d FROM (${tuples('old_rows')}) o`)),
  fn(`${prefix}_update`, bump(column, `${rowTuple('NEW')} UNION ALL ${rowTuple('OLD').replace('1 AS d', '-1 AS d')}`)),
  fn(`${prefix}_truncate`, `UPDATE address_counts SET ${column} = 0 WHERE ${column} <> 0`),
]

const fn = (name: string, body: string) => `
CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
${body};
RETURN NULL;
END $$`

/**
 * What each register counts at an address: the (address a) rows of a transition table `rel`, and
 * the (a, d = 1) row of a trigger record (none when it does not count). Living persons count at
 * their residence, legal entities at their registered address. Migration 20261203080000 keeps them.
 */
export const REGISTERS = [
  {
    prefix: 'area_persons',
    column: 'residents',
    tuples: (rel: string) =>
      `SELECT residence_address_id AS a FROM ${rel} WHERE death_date IS NULL AND residence_address_id IS NOT NULL`,
    rowTuple: (r: 'OLD' | 'NEW') =>
      `SELECT ${r}.residence_address_id AS a, 1 AS d WHERE ${r}.death_date IS NULL AND ${r}.residence_address_id IS NOT NULL`,
  },
  {
    prefix: 'area_entities',
    column: 'legal_entities',
    tuples: (rel: string) => `SELECT registered_address_id AS a FROM ${rel} WHERE registered_address_id IS NOT NULL`,
    rowTuple: (r: 'OLD' | 'NEW') =>
      `SELECT ${r}.registered_address_id AS a, 1 AS d WHERE ${r}.registered_address_id IS NOT NULL`,
  },
] as const

const FUNCTIONS = [
  ...REGISTERS.flatMap((g) => register(g.prefix, g.column, g.tuples, g.rowTuple)),
  fn(
    'area_addresses_insert',
    `INSERT INTO address_counts AS c (address_id, location, cell)
     SELECT id, location, address_cell(location) FROM new_rows ORDER BY id
     ON CONFLICT (address_id) DO UPDATE SET location = excluded.location, cell = excluded.cell`,
  ),
  fn(
    'area_addresses_update',
    `UPDATE address_counts c SET location = NEW.location, cell = address_cell(NEW.location) WHERE c.address_id = NEW.id`,
  ),
  fn('area_addresses_delete', `DELETE FROM address_counts c USING old_rows o WHERE c.address_id = o.id`),
  fn('area_addresses_truncate', `TRUNCATE address_counts`),
]

const TRIGGERS: [name: string, table: string][] = []
for (const [prefix, table] of [
  ['area_persons', 'persons'],
  ['area_entities', 'legal_entities'],
  ['area_addresses', 'addresses'],
] as const) {
  for (const event of ['insert', 'update', 'delete', 'truncate']) TRIGGERS.push([`${prefix}_${event}`, table])
}
const REFERENCING: Record<string, string> = {
  insert: 'REFERENCING NEW TABLE AS new_rows',
  update: 'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows',
  delete: 'REFERENCING OLD TABLE AS old_rows',
  truncate: '',
}
/** When an updated row can change a count or a point (row-level update triggers). */
const UPDATE_WHEN: Record<string, string> = {
  persons:
    'OLD.residence_address_id IS DISTINCT FROM NEW.residence_address_id OR (OLD.death_date IS NULL) <> (NEW.death_date IS NULL)',
  legal_entities: 'OLD.registered_address_id IS DISTINCT FROM NEW.registered_address_id',
  addresses: 'OLD.location IS DISTINCT FROM NEW.location',
}
const createTrigger = (name: string, table: string) => {
  const event = name.slice(name.lastIndexOf('_') + 1)
  if (event === 'update')
    return `CREATE TRIGGER ${name} AFTER UPDATE ON ${table} FOR EACH ROW WHEN (${UPDATE_WHEN[table]}) EXECUTE FUNCTION ${name}()`
  return `CREATE TRIGGER ${name} AFTER ${event.toUpperCase()} ON ${table} ${REFERENCING[event]} FOR EACH STATEMENT EXECUTE FUNCTION ${name}()`
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw(SPREAD)
  await knex.raw(CELL)
  // fillfactor 70: room on each page for the new versions of count updates (HOT updates).
  await knex.raw(`CREATE TABLE address_counts (
    address_id uuid PRIMARY KEY,
    location geometry(Point, 4326),
    cell bigint,
    residents int NOT NULL DEFAULT 0,
    legal_entities int NOT NULL DEFAULT 0) WITH (fillfactor = 70)`)
  await knex.raw(
    `COMMENT ON TABLE address_counts IS 'Per address: its point, Morton cell, living residents and registered legal entities; kept by triggers (areaSummary)'`,
  )
  for (const f of FUNCTIONS) await knex.raw(f)
  for (const [name, table] of TRIGGERS) await knex.raw(createTrigger(name, table))
  // Backfill from what is there (same transaction as the triggers, so nothing is missed).
  // In cell order, so that a cell's rows share pages (the summary reads them by cell range).
  await knex.raw(`INSERT INTO address_counts (address_id, location, cell, residents, legal_entities)
    SELECT a.id, a.location, address_cell(a.location), coalesce(r.n, 0), coalesce(l.n, 0) FROM addresses a
      LEFT JOIN (SELECT residence_address_id AS id, count(*) AS n FROM persons
                  WHERE death_date IS NULL AND residence_address_id IS NOT NULL GROUP BY 1) r ON r.id = a.id
      LEFT JOIN (SELECT registered_address_id AS id, count(*) AS n FROM legal_entities
                  WHERE registered_address_id IS NOT NULL GROUP BY 1) l ON l.id = a.id
     ORDER BY 3`)
  // The summary reads cell ranges through this index. The counts are deliberately not in it
  // (INCLUDE would allow index-only scans, but every count update would then write two index
  // entries, and after writes the scans visit the heap anyway until a vacuum).
  await knex.raw(`CREATE INDEX address_counts_cell_idx ON address_counts (cell)`)
  await knex.raw('ANALYZE address_counts')
}

export async function down(knex: Knex): Promise<void> {
  for (const [name, table] of TRIGGERS) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${name} ON ${table}`)
    await knex.raw(`DROP FUNCTION IF EXISTS ${name}()`)
  }
  await knex.raw('DROP TABLE IF EXISTS address_counts')
  await knex.raw('DROP FUNCTION IF EXISTS address_cell(geometry)')
  await knex.raw('DROP FUNCTION IF EXISTS morton_spread(bigint)')
}
