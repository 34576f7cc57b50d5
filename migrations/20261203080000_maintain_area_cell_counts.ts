import type { Knex } from 'knex'
import * as addressCounts from './20261202190000_maintain_address_counts.js'

// Per-cell counts behind areaSummary's interior (docs/gis.md, "Area summaries").
//
// areaSummary sums the address_counts rows of the quadtree cells wholly inside the polygon. Read
// through the cell index, that fetches one heap row per address (~165,000 for a 311 km² district
// at 1,000,000 addresses), and how many pages those rows span depends on the table's heap order:
// ~430 ms in arrival (random) order, ~106 ms after CLUSTER. area_cell_counts holds the same counts
// per level-16 cell (AREA_CELL_LEVEL: ~0.53 × 0.31 km at 30° N, ~130 addresses at the benchmark
// city's density, a few hundred in a dense centre), so that district's interior is ~1,200 small rows.
//
// No writer ever updates a row here: the counts are DELTAS, appended. Every statement of the
// address_counts triggers (migration 20261202190000, redefined here) that changes address_counts
// appends, in the same statement (one more writable CTE), one row per level-16 cell it changed:
// +1 address for a row created, −1 and its counts for a row deleted, the count changes for a row
// bumped, −(1, counts) at the old cell and +(1, counts) at the new one for a point moved; summed
// per cell, cells whose sums are all 0 append nothing. A cell's counts are the sum of its rows.
// Writers of unrelated (or related) addresses therefore share no counter row: they only insert,
// and an insert waits for nobody (no unique key here). The deltas come from the RETURNING of the
// very statement that changed address_counts, so they are what that statement wrote, also when it
// waited for a concurrent writer of the same address and acted on its committed version. (A
// statement-level trigger on address_counts would be simpler, but moves run the per-row update
// triggers, one small statement per person, and two more trigger firings per person cost 3.7 s on
// moving 20,000 persons, against ~1 s for the CTE; bench/RESULTS.md "GIS".)
// Invariant after every statement, for every level-16 cell k:
//   sum of area_cell_counts rows with cell = k
//     = (count(*), sum(residents), sum(legal_entities)) of address_counts WHERE cell >> 8 = k
// (address_counts rows without a point have no cell and count nowhere, as in the summary).
//
// Compaction (compactAreaCellCounts in src/spatial/spatial.store.ts) replaces a range's rows by one
// row per cell in one statement (DELETE … RETURNING feeding INSERT … GROUP BY), under a
// transaction advisory lock so that one runs at a time. Under READ COMMITTED its DELETE removes
// exactly the rows its snapshot sees and the INSERT writes their sums, atomically at commit: rows
// appended meanwhile (committed later, or by transactions still open) are not in the snapshot, so
// they are neither deleted nor summed and stay as deltas. Appenders never lock existing rows, so
// they never wait for a compaction, and a reader's snapshot sees either all of a compaction or
// none of it: the sums are exact at every moment.

/** Level of the quadtree cells kept here; the key is address_counts.cell >> (2 × (20 − 16)). */
export const AREA_CELL_LEVEL = 16
const SHIFT = 2 * (20 - AREA_CELL_LEVEL)

/** Appends the per-cell sums of the (cell, n, r, l) rows of `deltas` (a query), one row per cell that changed. */
const append = (deltas: string) => `
  INSERT INTO area_cell_counts (cell, addresses, residents, legal_entities)
  SELECT t.cell >> ${SHIFT}, sum(t.n), sum(t.r), sum(t.l) FROM (${deltas}) t WHERE t.cell IS NOT NULL
   GROUP BY 1 HAVING sum(t.n) <> 0 OR sum(t.r) <> 0 OR sum(t.l) <> 0 ORDER BY 1`

/** (r, l) of a change of one count column by `n`. */
const counts = (column: 'residents' | 'legal_entities', n: string) =>
  column === 'residents' ? `${n} AS r, 0 AS l` : `0 AS r, ${n} AS l`

/**
 * 20261202190000's bump (add (address a, delta d) rows to one count column: update in place, or
 * create the row of an address inserted by the same statement) with its per-cell deltas: an
 * updated row changes only the count; a created one (xmax = 0) also adds an address.
 */
const bump = (column: 'residents' | 'legal_entities', deltas: string) => `
  WITH d AS MATERIALIZED (SELECT t.a, sum(t.d) AS n FROM (${deltas}) t GROUP BY t.a HAVING sum(t.d) <> 0),
  u AS (UPDATE address_counts c SET ${column} = c.${column} + d.n FROM d WHERE c.address_id = d.a RETURNING c.address_id, c.cell, d.n),
  i AS (
    INSERT INTO address_counts AS c (address_id, location, cell, ${column})
    SELECT a.id, a.location, address_cell(a.location), d.n FROM d JOIN addresses a ON a.id = d.a
     WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.address_id = d.a) ORDER BY a.id
    ON CONFLICT (address_id) DO UPDATE SET ${column} = c.${column} + excluded.${column}
    RETURNING c.address_id, c.cell, (c.xmax = 0) AS created)
  ${append(`SELECT cell, 0 AS n, ${counts(column, 'n')} FROM u
     UNION ALL SELECT i.cell, CASE WHEN i.created THEN 1 ELSE 0 END, ${counts(column, 'd.n')} FROM i JOIN d ON d.a = i.address_id`)}`

const register = (
  prefix: string,
  column: 'residents' | 'legal_entities',
  tuples: (rel: string) => string,
  rowTuple: (rec: 'OLD' | 'NEW') => string,
) => [
  fn(`${prefix}_insert`, bump(column, `SELECT a, 1 AS d FROM (${tuples('new_rows')}) n`)),
  fn(`${prefix}_delete`, bump(column, `SELECT a, -1 AS d FROM (${tuples('old_rows')}) o`)),
  fn(`${prefix}_update`, bump(column, `${rowTuple('NEW')} UNION ALL ${rowTuple('OLD').replace('1 AS d', '-1 AS d')}`)),
  // TRUNCATE locks the register: nothing else changes this column meanwhile.
  fn(
    `${prefix}_truncate`,
    `${append(`SELECT cell, 0 AS n, ${counts(column, `-${column}`)} FROM address_counts WHERE ${column} <> 0`)};
     UPDATE address_counts SET ${column} = 0 WHERE ${column} <> 0`,
  ),
]

const fn = (name: string, body: string) => `
CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
${body};
RETURN NULL;
END $$`

const FUNCTIONS = [
  ...addressCounts.REGISTERS.flatMap((g) => register(g.prefix, g.column, g.tuples, g.rowTuple)),
  // A conflict here means a register's trigger created the row earlier in the same statement, from
  // this very address row: same point, same cell, the address already counted. Only created rows
  // (xmax = 0) add an address.
  fn(
    'area_addresses_insert',
    `WITH i AS (
       INSERT INTO address_counts AS c (address_id, location, cell)
       SELECT id, location, address_cell(location) FROM new_rows ORDER BY id
       ON CONFLICT (address_id) DO UPDATE SET location = excluded.location, cell = excluded.cell
       RETURNING c.cell, (c.xmax = 0) AS created)
     ${append(`SELECT cell, 1 AS n, 0 AS r, 0 AS l FROM i WHERE created`)}`,
  ),
  // The old cell from the statement's snapshot: only this trigger changes a row's point, and it
  // runs with the address row locked. The counts from RETURNING (the version written), at both cells.
  fn(
    'area_addresses_update',
    `WITH o AS (SELECT address_id, cell FROM address_counts WHERE address_id = NEW.id),
     u AS (UPDATE address_counts c SET location = NEW.location, cell = address_cell(NEW.location) FROM o
            WHERE c.address_id = o.address_id RETURNING o.cell AS old_cell, c.cell, c.residents, c.legal_entities)
     ${append(`SELECT cell, 1 AS n, residents AS r, legal_entities AS l FROM u
        UNION ALL SELECT old_cell, -1, -residents, -legal_entities FROM u`)}`,
  ),
  fn(
    'area_addresses_delete',
    `WITH g AS (DELETE FROM address_counts c USING old_rows o WHERE c.address_id = o.id
                RETURNING c.cell, c.residents, c.legal_entities)
     ${append(`SELECT cell, -1 AS n, -residents AS r, -legal_entities AS l FROM g`)}`,
  ),
  fn('area_addresses_truncate', `TRUNCATE address_counts, area_cell_counts`),
]

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE area_cell_counts (
    cell bigint NOT NULL,
    addresses int NOT NULL,
    residents int NOT NULL,
    legal_entities int NOT NULL)`)
  await knex.raw(
    `COMMENT ON TABLE area_cell_counts IS 'Deltas of address_counts per level-16 quadtree cell, appended by triggers, compacted to one row per cell; a cell''s counts are the sum of its rows (areaSummary)'`,
  )
  const comments: Record<string, string> = {
    cell: 'Morton key of the level-16 cell (address_counts.cell >> 8)',
    addresses: 'Change in the number of addresses with a point in the cell',
    residents: 'Change in the number of living residents of those addresses',
    legal_entities: 'Change in the number of legal entities registered at those addresses',
  }
  for (const [column, text] of Object.entries(comments))
    await knex.raw(`COMMENT ON COLUMN area_cell_counts.${column} IS '${text}'`)
  // Writes to the registers wait until commit (the lock below): the backfill and the new trigger
  // functions see the same address_counts, so nothing is missed or counted twice.
  await knex.raw('LOCK TABLE address_counts IN SHARE ROW EXCLUSIVE MODE')
  for (const f of FUNCTIONS) await knex.raw(f)
  // One row per cell, in cell order.
  await knex.raw(`INSERT INTO area_cell_counts (cell, addresses, residents, legal_entities)
    SELECT cell >> ${SHIFT}, count(*), sum(residents), sum(legal_entities) FROM address_counts
     WHERE cell IS NOT NULL GROUP BY 1 ORDER BY 1`)
  await knex.raw(`CREATE INDEX area_cell_counts_cell_idx ON area_cell_counts (cell)`)
  await knex.raw('ANALYZE area_cell_counts')
}

// Back to 20261202190000's trigger functions: its own down and up, which rebuild address_counts
// from the registers (the function bodies live only there).
export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS area_cell_counts')
  await addressCounts.down(knex)
  await addressCounts.up(knex)
}
