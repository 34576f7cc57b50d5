import type { Knex } from 'knex'

// The access log's chain head in a row of its own (access_log_head), read and advanced by
// access_log_append under FOR UPDATE, instead of `SELECT hash FROM access_log ORDER BY id DESC
// LIMIT 1` in every group.
//
// Why: that lookup ran inside the plpgsql function, whose plan is cached per connection. Planned
// while the log was small (or with statistics from an empty table, as after a load with
// autovacuum off), it was a sequential scan and a sort, and it stayed one as the log grew: every
// group read the whole log (bench:read, 2026-12-07: 4,800 groups had read 88.9 million rows of a
// 33,660-row log; logged reads fell from 0.85 to 0.28 of PostGraphile's rate within 21 s of load).
// A one-row table read by its primary key costs the same at a billion rows, whatever the planner
// knows. The advisory lock stays: a writer of an older version (one statement that takes it and
// reads the log's last row) still serializes with this one, and the head row's lock is taken
// after it, so the two never wait on each other in opposite orders.
//
// The head is the truth the next entry links to. Rows removed from the end of the log (which needs
// the append-only triggers disabled) leave the head naming the removed hash, so the next entry's
// prev_hash breaks the chain where audit:verify finds it.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE access_log_head (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      last_id bigint NOT NULL,
      hash text NOT NULL
    )`)
  await knex.raw(`
    INSERT INTO access_log_head (last_id, hash)
    SELECT coalesce((SELECT id FROM access_log ORDER BY id DESC LIMIT 1), 0),
           coalesce((SELECT hash FROM access_log ORDER BY id DESC LIMIT 1), '')`)
  await knex.raw(
    `COMMENT ON TABLE access_log_head IS 'The access log chain''s last id and hash (one row), advanced by access_log_append'`,
  )
  await knex.raw(`
    CREATE OR REPLACE FUNCTION access_log_append(entries jsonb) RETURNS TABLE (id bigint, hash text)
    LANGUAGE plpgsql AS $$
    DECLARE
      prev text;
      e jsonb;
      h text;
      new_id bigint;
    BEGIN
      -- The lock number every version's append takes first (724002), then the head row.
      PERFORM pg_advisory_xact_lock(724002);
      SELECT hd.hash INTO prev FROM access_log_head hd WHERE hd.singleton FOR UPDATE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'access_log_head has no row';
      END IF;
      FOR e IN SELECT value FROM jsonb_array_elements(entries) LOOP
        h := encode(sha256(convert_to(prev || (e->>'canonical'), 'UTF8')), 'hex');
        INSERT INTO access_log (at, principal_id, purpose, operation_name, person_ids, fields, prev_hash, hash)
        VALUES (
          (e->>'at')::timestamptz,
          e->>'principalId',
          e->>'purpose',
          e->>'operationName',
          ARRAY(SELECT jsonb_array_elements_text(e->'personIds')),
          ARRAY(SELECT jsonb_array_elements_text(e->'fields')),
          prev,
          h
        )
        RETURNING access_log.id INTO new_id;
        id := new_id;
        hash := h;
        RETURN NEXT;
        prev := h;
      END LOOP;
      IF new_id IS NOT NULL THEN
        UPDATE access_log_head SET last_id = new_id, hash = prev WHERE singleton;
      END IF;
    END
    $$`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION access_log_append(entries jsonb) RETURNS TABLE (id bigint, hash text)
    LANGUAGE plpgsql AS $$
    DECLARE
      prev text;
      e jsonb;
      h text;
      new_id bigint;
    BEGIN
      PERFORM pg_advisory_xact_lock(724002);
      SELECT a.hash INTO prev FROM access_log a ORDER BY a.id DESC LIMIT 1;
      prev := coalesce(prev, '');
      FOR e IN SELECT value FROM jsonb_array_elements(entries) LOOP
        h := encode(sha256(convert_to(prev || (e->>'canonical'), 'UTF8')), 'hex');
        INSERT INTO access_log (at, principal_id, purpose, operation_name, person_ids, fields, prev_hash, hash)
        VALUES (
          (e->>'at')::timestamptz,
          e->>'principalId',
          e->>'purpose',
          e->>'operationName',
          ARRAY(SELECT jsonb_array_elements_text(e->'personIds')),
          ARRAY(SELECT jsonb_array_elements_text(e->'fields')),
          prev,
          h
        )
        RETURNING access_log.id INTO new_id;
        id := new_id;
        hash := h;
        RETURN NEXT;
        prev := h;
      END LOOP;
    END
    $$`)
  await knex.raw('DROP TABLE IF EXISTS access_log_head')
}
