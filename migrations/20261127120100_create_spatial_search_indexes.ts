import type { Knex } from 'knex'

// Address search must forgive the way people write Chinese addresses: "文三路90号", "文三90号",
// "西湖区 文三路 90 号" and "文三路９０" all mean the same door. pg_trgm on the raw text scores
// these poorly because a Chinese address has no spaces, so the whole line is one "word". The
// search form drops the suffix markers people leave out (号, 路, 区, …) and splits digits from
// words, so each component becomes its own word and word_similarity compares like with like.
// It is a separate expression (not a change to normalized_text) because normalized_text is the
// identity key of an address: changing it would re-key existing addresses.
const SEARCH_FUNCTION = `
CREATE OR REPLACE FUNCTION address_search_text(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT btrim(regexp_replace(regexp_replace(regexp_replace(t,
    '(街道|大道|单元|省|市|区|县|镇|乡|路|街|巷|弄|号|幢|栋|室|楼)', ' ', 'g'),
    '([0-9]+)', ' \\1 ', 'g'),
    '\\s+', ' ', 'g'))
$$`

export async function up(knex: Knex): Promise<void> {
  await knex.raw(SEARCH_FUNCTION)
  await knex.raw(
    `COMMENT ON FUNCTION address_search_text(text) IS 'Search form of a normalised address: suffix markers dropped, digits split off (see src/spatial/address-search.ts)'`,
  )
  await knex.raw(
    'CREATE INDEX addresses_search_trgm_idx ON addresses USING gin (address_search_text(normalized_text) gin_trgm_ops)',
  )
  // near filters measure metres on geography; these let ST_DWithin(geom::geography, …) use an index
  // for buildings and parcels as addresses_location_geog_idx does for addresses.
  await knex.raw('CREATE INDEX buildings_footprint_geog_idx ON buildings USING gist ((footprint::geography))')
  await knex.raw('CREATE INDEX parcels_geom_geog_idx ON parcels USING gist ((geom::geography))')
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS parcels_geom_geog_idx')
  await knex.raw('DROP INDEX IF EXISTS buildings_footprint_geog_idx')
  await knex.raw('DROP INDEX IF EXISTS addresses_search_trgm_idx')
  await knex.raw('DROP FUNCTION IF EXISTS address_search_text(text)')
}
