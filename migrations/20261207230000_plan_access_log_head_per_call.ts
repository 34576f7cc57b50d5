import type { Knex } from 'knex'

// access_log_append reads the chain's head with a statement planned on every call (EXECUTE),
// not with one planned once per connection.
//
// Why: plpgsql caches the plan of a statement without parameters for the life of the connection,
// and `SELECT hash FROM access_log ORDER BY id DESC LIMIT 1` planned while the log was empty (a
// fresh database, or statistics of an empty table, as after a load with autovacuum off) is a
// sequential scan and a sort. Pooled connections live for hours, so until an ANALYZE of the log
// invalidated the plan (never, with autovacuum off) every group kept reading the whole log (bench:read, 2026-12-07: 4,800 groups had read 88.9 million rows of a 33,660-row log,
// and logged reads fell from 0.85 to 0.28 of PostGraphile's rate within 21 s). Planned per call,
// the statement is a backward scan of the primary key as soon as the log has a row: one index
// probe a group, at any size. The log is append-only, so that probe never walks dead rows (a
// one-row head table advanced by UPDATE would: its dead versions pile up behind any long
// transaction, such as a backup's).
/** access_log_append as in migration 20261202120000, reading the chain head with `headRead`. */
const appendFunction = (headRead: string) => `
    CREATE OR REPLACE FUNCTION access_log_append(entries jsonb) RETURNS TABLE (id bigint, hash text)
    LANGUAGE plpgsql AS $$
    DECLARE
      prev text;
      e jsonb;
      h text;
      new_id bigint;
    BEGIN
      -- The same lock number the one-row append used (724002): writers of any version serialize.
      PERFORM pg_advisory_xact_lock(724002);
      ${headRead}
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
    $$`

export async function up(knex: Knex): Promise<void> {
  // EXECUTE: planned now, against the log as it is.
  await knex.raw(appendFunction(`EXECUTE 'SELECT a.hash FROM access_log a ORDER BY a.id DESC LIMIT 1' INTO prev;`))
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(appendFunction('SELECT a.hash INTO prev FROM access_log a ORDER BY a.id DESC LIMIT 1;'))
}
