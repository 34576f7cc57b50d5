import type { Knex } from 'knex'

// The access log used to be appended one request at a time in five statements (BEGIN, advisory
// lock, read the last hash, INSERT, COMMIT), so every person read in the city queued behind one
// synchronous commit. This function appends a whole group of entries in ONE statement (and so one
// commit): it takes the chain lock, reads the head once and links each entry to the one before.
// The canonical text of each entry is computed by the caller (src/access/access-log.store.ts,
// the same function audit:verify recomputes), so the hash is sha256(prev_hash || canonical)
// exactly as before and old rows verify unchanged.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION access_log_append(entries jsonb) RETURNS TABLE (id bigint, hash text)
    LANGUAGE plpgsql AS $$
    DECLARE
      prev text;
      e jsonb;
      h text;
      new_id bigint;
    BEGIN
      -- The same lock number the one-row append used (724002): writers of any version serialize.
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
  await knex.raw(
    `COMMENT ON FUNCTION access_log_append(jsonb) IS 'Appends a group of access-log entries in order, advancing the hash chain, in one statement'`,
  )
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS access_log_append(jsonb)')
}
