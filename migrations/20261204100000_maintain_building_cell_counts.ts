import type { Knex } from 'knex'
import { AREA_CELL_LEVEL } from './20261203080000_maintain_area_cell_counts.js'

// Maintained building counts behind areaSummary.buildingCount (docs/gis.md, "Area summaries").
//
// A building counts in a polygon g when its footprint intersects g (ST_Intersects: touching at one
// point is enough). Counted live, every footprint in g's bounding box is tested against g: ~155 ms
// of a district's 291 ms among 250,000 buildings. Here every building gets its ENCLOSING CELL: the
// smallest quadtree cell of the address grid (2^20 × 2^20 over lon −180..180, lat −90..90; Morton
// keys as in 20261202190000) whose rectangle holds the footprint's bounding box widened by
// 1e-9° on every side. It is kept as two generated columns of buildings — cell_level (0..20) and
// cell_lo, the cell's first key on the level-20 grid (its Morton key << 2 × (20 − level)) — so that
// "enclosing cell within cell (z, k)" is a key range, `cell_lo` in [k << 2(20 − z), (k + 1) << 2(20 − z))
// with cell_level ≥ z, and "enclosing cell = (z, k)" an equality, both on the btree
// buildings_cell_idx (cell_lo, cell_level). The enclosing cell of most buildings is fine: a 20 m
// building lies within one level-16 cell unless it straddles one of its lines (~10 % of synthetic
// buildings of the benchmark's sizes; those go to the partial index buildings_coarse_cell_idx).
//
// Why the widening: it gives the one property the count rests on, with a margin,
//   (P) the exact rectangle R(e) of a building's enclosing cell e holds its footprint, and even the
//       footprint's bounding box widened by ~1e-9°,
// whatever the float rounding of the column/row formula (its error is ~1e-13°, far below 1e-9°: a
// bounding-box side that lies on a cell line puts the building in the coarser cell on both sides).
// (Footprints, like address points, lie within lon −180..180, lat −90..90.)
//
// Buildings whose enclosing level is ≥ 16 (AREA_CELL_LEVEL) are also counted per level-16 cell in
// area_cell_counts.buildings, the appended-delta scheme of 20261203080000 (read its header): the
// triggers below append +1 per building inserted and −1 per building deleted at the level-16 cell
// holding its enclosing cell (cell_lo >> 8), both for a building whose enclosing cell changes
// (footprint update), summed per cell, in the writer's statement. No counter row is shared: writers
// only insert. The compaction (compactAreaCellCounts) sums this column with the others.
// Invariant after every statement, for every level-16 cell k:
//   sum of area_cell_counts.buildings with cell = k = count(buildings WHERE cell_level >= 16 AND cell_lo >> 8 = k)
//
// The count (AREA_SUMMARY_SQL in src/spatial/spatial.store.ts). areaSummary covers g with a
// quadtree: top cells at level z (the grid of level-z cells over g's bounding box), split (S)
// recursively; leaves are I (the cell's envelope, widened by 1e-9°, is in g's interior:
// ST_ContainsProperly), O (that envelope does not intersect g) or B (boundary, at the deepest level).
// Every cell e, the enclosing cell of any building, is in exactly one of these cases:
//  (a) within exactly one leaf (descend from the top cell holding e: an S cell's four children are
//      all in the cover, leaves are disjoint);
//  (b) equal to an S cell;
//  (c) a strict ancestor of a top cell (level < z; one row per distinct ancestor);
//  (d) disjoint from every top cell (quadtree cells either nest or are disjoint).
// and, for its building β, intersects(β, g) is decided as follows:
//  - within an I leaf L: β ⊂ R(e) ⊂ R(L) ⊂ envelope(L) ⊂ interior of g (P), so it intersects: counted
//    without a geometry test — for L at level ≤ 16 as area_cell_counts.buildings over L's level-16
//    key range plus the buildings with cell_level in [z(L), 16) in the range (the partial index
//    buildings_coarse_cell_idx), for finer L all the buildings in the range;
//  - within an O leaf: β ⊂ envelope(L), which does not meet g: not counted, rightly;
//  - within a B leaf, equal to an S cell, or an ancestor of a top cell: ST_Intersects(footprint, g);
//  - (d): β cannot meet g. The top cells cover g's bounding box up to the rounding of their
//    column/row bounds (~1e-13°). Were p a common point of β and g, p would lie within 1e-13° of a
//    top cell T, and by (P) R(e) would hold the ~1e-9° box around p, hence interior points of R(T):
//    e and T would not be disjoint.
// So the sum of the four parts counts each building that intersects g once, and no other: the
// live count exactly, also for holes and MultiPolygons (only ST_ContainsProperly, ST_Intersects and
// the cell arithmetic are involved). The geometry is tested only for the buildings of B leaves and
// those whose enclosing cell is an S cell or an ancestor (the ones straddling the cover's coarse
// lines), through the index, never by a scan of g's bounding box.

/** The level-16 key of a building's enclosing cell at level ≥ 16: cell_lo >> SHIFT. */
const SHIFT = 2 * (20 - AREA_CELL_LEVEL)

/**
 * The enclosing cell (level, lo) of a footprint: the smallest quadtree cell whose rectangle holds
 * its bounding box widened by 1e-9°; (null, null) for an empty footprint (which intersects nothing).
 * Columns and rows as address_cell (migration 20261202190000), of the widened box's corners; the
 * level is 20 minus the bit length of (x0 XOR x1) | (y0 XOR y1): the finest level at which both corners
 * lie in one cell.
 */
const FOOTPRINT_CELL = `
CREATE FUNCTION footprint_cell(f geometry, OUT level int, OUT lo bigint) LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  x0 bigint;
  x1 bigint;
  y0 bigint;
  y1 bigint;
  d bigint;
BEGIN
  -- (greatest and least would read the null bounds of an empty footprint as 0.)
  IF ST_IsEmpty(f) THEN RETURN; END IF;
  x0 := least(1048575, greatest(0, floor((ST_XMin(f) - 1e-9 + 180) * 1048576 / 360)));
  x1 := least(1048575, greatest(0, floor((ST_XMax(f) + 1e-9 + 180) * 1048576 / 360)));
  y0 := least(1048575, greatest(0, floor((ST_YMin(f) - 1e-9 + 90) * 1048576 / 180)));
  y1 := least(1048575, greatest(0, floor((ST_YMax(f) + 1e-9 + 90) * 1048576 / 180)));
  d := (x0 # x1) | (y0 # y1);
  level := 20;
  WHILE d > 0 LOOP
    d := d >> 1;
    level := level - 1;
  END LOOP;
  lo := (morton_spread(x0) | (morton_spread(y0) << 1)) >> (2 * (20 - level)) << (2 * (20 - level));
END $$`

/** Appends the per-level-16-cell sums of the (c = cell_lo, l = cell_level, n = ±1) rows of `deltas`. */
const append = (deltas: string) => `
  INSERT INTO area_cell_counts (cell, addresses, residents, legal_entities, buildings)
  SELECT t.c >> ${SHIFT}, 0, 0, 0, sum(t.n) FROM (${deltas}) t WHERE t.l >= ${AREA_CELL_LEVEL}
   GROUP BY 1 HAVING sum(t.n) <> 0 ORDER BY 1`

const fn = (name: string, body: string) => `
CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
${body};
RETURN NULL;
END $$`

const FUNCTIONS = [
  fn('area_buildings_insert', append('SELECT cell_lo AS c, cell_level AS l, 1 AS n FROM new_rows')),
  fn('area_buildings_delete', append('SELECT cell_lo AS c, cell_level AS l, -1 AS n FROM old_rows')),
  // Per row, and only for a row whose enclosing cell changed (the trigger's WHEN): the engine's
  // projection rewrites every footprint it touches (INSERT … ON CONFLICT DO UPDATE), mostly unchanged.
  fn(
    'area_buildings_update',
    append('SELECT NEW.cell_lo AS c, NEW.cell_level AS l, 1 AS n UNION ALL SELECT OLD.cell_lo, OLD.cell_level, -1'),
  ),
  // TRUNCATE locks buildings: nothing else appends building deltas meanwhile.
  fn(
    'area_buildings_truncate',
    `INSERT INTO area_cell_counts (cell, addresses, residents, legal_entities, buildings)
     SELECT cell, 0, 0, 0, -sum(buildings) FROM area_cell_counts GROUP BY cell HAVING sum(buildings) <> 0 ORDER BY cell`,
  ),
  // Was TRUNCATE address_counts, area_cell_counts (20261203080000), which now holds the buildings'
  // counts too: the address columns are cancelled by appended deltas instead, as the registers'
  // truncates do (and so TRUNCATE addresses no longer waits for building writers).
  fn(
    'area_addresses_truncate',
    `TRUNCATE address_counts;
     INSERT INTO area_cell_counts (cell, addresses, residents, legal_entities, buildings)
     SELECT cell, -sum(addresses), -sum(residents), -sum(legal_entities), 0 FROM area_cell_counts GROUP BY cell
     HAVING sum(addresses) <> 0 OR sum(residents) <> 0 OR sum(legal_entities) <> 0 ORDER BY cell`,
  ),
]

const TRIGGERS = [
  `CREATE TRIGGER area_buildings_insert AFTER INSERT ON buildings REFERENCING NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION area_buildings_insert()`,
  `CREATE TRIGGER area_buildings_delete AFTER DELETE ON buildings REFERENCING OLD TABLE AS old_rows
     FOR EACH STATEMENT EXECUTE FUNCTION area_buildings_delete()`,
  `CREATE TRIGGER area_buildings_update AFTER UPDATE ON buildings FOR EACH ROW
     WHEN (OLD.cell_lo IS DISTINCT FROM NEW.cell_lo OR OLD.cell_level IS DISTINCT FROM NEW.cell_level)
     EXECUTE FUNCTION area_buildings_update()`,
  `CREATE TRIGGER area_buildings_truncate AFTER TRUNCATE ON buildings FOR EACH STATEMENT EXECUTE FUNCTION area_buildings_truncate()`,
]

export async function up(knex: Knex): Promise<void> {
  await knex.raw(FOOTPRINT_CELL)
  // Generated columns: no writer can set them wrong, and no trigger runs to keep them. Adding them
  // rewrites buildings and holds it locked (ACCESS EXCLUSIVE) until commit, so the backfill below
  // and the triggers see the same buildings.
  await knex.raw(`ALTER TABLE buildings
    ADD COLUMN cell_level smallint GENERATED ALWAYS AS ((footprint_cell(footprint)).level) STORED,
    ADD COLUMN cell_lo bigint GENERATED ALWAYS AS ((footprint_cell(footprint)).lo) STORED`)
  await knex.raw(
    `COMMENT ON COLUMN buildings.cell_level IS 'Level (0..20) of the smallest quadtree cell holding the footprint''s bounding box widened by 1e-9° (areaSummary); null without a footprint'`,
  )
  await knex.raw(
    `COMMENT ON COLUMN buildings.cell_lo IS 'That cell''s first Morton key on the level-20 grid (key << 2 × (20 − cell_level)); null without a footprint'`,
  )
  await knex.raw(`ALTER TABLE area_cell_counts ADD COLUMN buildings int NOT NULL DEFAULT 0`)
  await knex.raw(
    `COMMENT ON COLUMN area_cell_counts.buildings IS 'Change in the number of buildings whose enclosing cell (buildings.cell_level >= 16) lies in the cell'`,
  )
  for (const f of FUNCTIONS) await knex.raw(f)
  for (const t of TRIGGERS) await knex.raw(t)
  // The backfill, merged with a compaction of what is there (the statement of compactAreaCellCounts,
  // plus the buildings): one row per cell, in cell order. Rows appended by address writers meanwhile
  // are outside the DELETE's snapshot and stay as deltas (20261203080000).
  await knex.raw(`
    WITH gone AS (DELETE FROM area_cell_counts RETURNING cell, addresses, residents, legal_entities, buildings)
    INSERT INTO area_cell_counts (cell, addresses, residents, legal_entities, buildings)
    SELECT cell, sum(addresses), sum(residents), sum(legal_entities), sum(buildings)
      FROM (SELECT * FROM gone
            UNION ALL SELECT cell_lo >> ${SHIFT}, 0, 0, 0, 1 FROM buildings WHERE cell_level >= ${AREA_CELL_LEVEL}) t
     GROUP BY cell HAVING sum(addresses) <> 0 OR sum(residents) <> 0 OR sum(legal_entities) <> 0 OR sum(buildings) <> 0
     ORDER BY cell`)
  await knex.raw('CREATE INDEX buildings_cell_idx ON buildings (cell_lo, cell_level)')
  // The interior's level ≤ 16 cells read only the buildings not in area_cell_counts (~15 % of them).
  await knex.raw(
    `CREATE INDEX buildings_coarse_cell_idx ON buildings (cell_lo, cell_level) WHERE cell_level < ${AREA_CELL_LEVEL}`,
  )
  await knex.raw('ANALYZE buildings, area_cell_counts')
}

export async function down(knex: Knex): Promise<void> {
  for (const name of ['insert', 'delete', 'update', 'truncate']) {
    await knex.raw(`DROP TRIGGER IF EXISTS area_buildings_${name} ON buildings`)
    await knex.raw(`DROP FUNCTION IF EXISTS area_buildings_${name}()`)
  }
  // 20261203080000's body.
  await knex.raw(fn('area_addresses_truncate', 'TRUNCATE address_counts, area_cell_counts'))
  await knex.raw('ALTER TABLE area_cell_counts DROP COLUMN IF EXISTS buildings')
  // Rows that held only building deltas add nothing any more.
  await knex.raw('DELETE FROM area_cell_counts WHERE addresses = 0 AND residents = 0 AND legal_entities = 0')
  await knex.raw('ALTER TABLE buildings DROP COLUMN IF EXISTS cell_level, DROP COLUMN IF EXISTS cell_lo')
  await knex.raw('DROP FUNCTION IF EXISTS footprint_cell(geometry)')
}
