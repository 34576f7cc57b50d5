import type { Knex } from 'knex'

// Query geometries (filters, areaSummary) come from anonymous callers. Their shape is checked in
// linear time in Node (src/reconciliation/rules/validate.ts); their topology — self-intersection,
// a hole outside its shell, which would otherwise give a wrong area or a wrong count — is decided
// here by GEOS in O(n log n), in the same statement that uses the geometry, so every SQL use of a
// caller's geometry goes through one check. An invalid geometry raises SQLSTATE CFDG1 with the
// reason in DETAIL and the argument's name in HINT; src/graphql/errors.ts turns that into
// BAD_USER_INPUT (reason INVALID_GEOMETRY, field = the argument). IMMUTABLE, so with bound
// parameters the planner folds the call into a constant: it runs once per statement, not per row.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION checked_query_geometry(geojson text, argument text) RETURNS geometry
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
    DECLARE
      g geometry := ST_SetSRID(ST_GeomFromGeoJSON(geojson), 4326);
      reason text;
    BEGIN
      IF NOT ST_IsValid(g) THEN
        reason := ST_IsValidReason(g);
        RAISE EXCEPTION 'invalid query geometry' USING ERRCODE = 'CFDG1', DETAIL = reason, HINT = argument;
      END IF;
      RETURN g;
    END
    $$`)
  await knex.raw(
    `COMMENT ON FUNCTION checked_query_geometry(text, text) IS 'A caller''s GeoJSON as geometry(4326); raises CFDG1 (DETAIL: why, HINT: argument) when not valid'`,
  )
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS checked_query_geometry(text, text)')
}
