import type { Knex } from 'knex'

// Writers no longer take one global lock, so field_history ids (taken while writing) no longer
// follow commit order: a reader that advanced past id 20 of a committed transaction would skip
// ids 1–10 of one still in flight. The change feed is ordered instead by a position that each
// transaction with golden-value changes takes at commit, under a lock held until the commit is
// visible: when a reader sees position p, every position below p is already visible to it, on
// the primary and on a replica (which replays commits in the same order). Only the commit step
// is serialised, and only for transactions that changed golden values.
const FEED_COMMIT_LOCK = 724_003

export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE SEQUENCE feed_positions')
  await knex.schema.alterTable('transactions', (t) => {
    t.bigInteger('feed_position').comment(
      'Change-feed position, taken at commit by a transaction that wrote field_history (null otherwise)',
    )
  })
  // Before this migration one writer at a time made txid order commit order.
  await knex.raw(
    'UPDATE transactions t SET feed_position = t.txid WHERE EXISTS (SELECT 1 FROM field_history h WHERE h.txid = t.txid)',
  )
  await knex.raw(`SELECT setval('feed_positions', (SELECT coalesce(max(txid), 0) + 1 FROM transactions), false)`)
  await knex.raw('CREATE UNIQUE INDEX transactions_feed_position_idx ON transactions (feed_position)')
  await knex.raw('CREATE INDEX field_history_txid_idx ON field_history (txid, id)')
  await knex.raw(`
    CREATE FUNCTION assign_feed_position() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM field_history WHERE txid = NEW.txid) THEN
        PERFORM pg_advisory_xact_lock(${FEED_COMMIT_LOCK});
        UPDATE transactions SET feed_position = nextval('feed_positions') WHERE txid = NEW.txid;
      END IF;
      RETURN NULL;
    END $$`)
  // Deferred: fires at COMMIT, after every change of the transaction is written.
  await knex.raw(`
    CREATE CONSTRAINT TRIGGER transactions_feed_position AFTER INSERT ON transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION assign_feed_position()`)
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS transactions_feed_position ON transactions')
  await knex.raw('DROP FUNCTION IF EXISTS assign_feed_position()')
  await knex.raw('DROP INDEX IF EXISTS field_history_txid_idx')
  await knex.raw('DROP INDEX IF EXISTS transactions_feed_position_idx')
  await knex.schema.alterTable('transactions', (t) => {
    t.dropColumn('feed_position')
  })
  await knex.raw('DROP SEQUENCE IF EXISTS feed_positions')
}
