import type { Knex } from 'knex'
import type { AreaSummaryRow } from '../../src/spatial/spatial.store.js'

// areaSummary computed live from the registers: the reference the maintained per-address counts
// (address_counts, src/spatial/spatial.store.ts) are tested against, and bench/gis.ts's "before".
// Not used by the service. Points inside (ST_Within: interior) for residents, legal entities and
// addresses; buildings count when their footprint touches the area at all. Area on the spheroid.
export const LIVE_AREA_SUMMARY_SQL = `
WITH g AS MATERIALIZED (SELECT checked_query_geometry(?, ?) AS g)
SELECT ST_Area((SELECT g FROM g)::geography) / 1e6 AS area_sq_km,
  (SELECT count(*) FROM persons p JOIN addresses a ON a.id = p.residence_address_id
    WHERE p.death_date IS NULL AND ST_Within(a.location, (SELECT g FROM g))) AS resident_count,
  (SELECT count(*) FROM legal_entities le JOIN addresses a ON a.id = le.registered_address_id
    WHERE ST_Within(a.location, (SELECT g FROM g))) AS legal_entity_count,
  (SELECT count(*) FROM addresses a WHERE ST_Within(a.location, (SELECT g FROM g))) AS address_count,
  (SELECT count(*) FROM buildings b WHERE ST_Intersects(b.footprint, (SELECT g FROM g))) AS building_count`

/** The live areaSummary of a GeoJSON Polygon/MultiPolygon (no shape checks: tests pass valid ones). */
export async function liveAreaSummary(knex: Knex, geometry: unknown): Promise<AreaSummaryRow> {
  const { rows } = await knex.raw(LIVE_AREA_SUMMARY_SQL, [JSON.stringify(geometry), 'geometry'])
  const r = rows[0]
  return {
    areaSqKm: Number(r.area_sq_km),
    residentCount: Number(r.resident_count),
    legalEntityCount: Number(r.legal_entity_count),
    addressCount: Number(r.address_count),
    buildingCount: Number(r.building_count),
  }
}
