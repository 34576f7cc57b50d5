import type { Knex } from 'knex'

// Change notifications (CONTRACT §9). A subscription is a cursor into the change feed plus a
// filter and a URL: events are derived from the feed when they are delivered, so nothing is
// copied per subscriber, and a paused subscription resumes from its cursor without a backlog
// table. Delivery is claimed row by row with FOR UPDATE SKIP LOCKED, so several server
// processes share the work and never deliver one subscription's events at the same time.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_subscriptions', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()')).comment('Subscription id')
    t.text('principal_id')
      .notNullable()
      .references('id')
      .inTable('principals')
      .onDelete('CASCADE')
      .comment('Owner: whose access rules filter the events, at delivery time')
    t.text('url').notNullable().comment('Where events are POSTed; starts with a prefix of WEBHOOK_ALLOWED_URLS')
    t.specificType('entity_types', 'text[]').notNullable().comment('Entity types of the events wanted')
    t.specificType('fields', 'text[]').comment('Only changes of these fields; null = every field the owner may see')
    t.specificType('kinds', 'text[]').notNullable().comment('Event kinds wanted (ChangeEventKind)')
    t.specificType('entity_ids', 'uuid[]').comment('Follow these entities only; null = all')
    t.timestamp('expires_at', { useTz: true }).comment('No deliveries after this time')
    t.text('secret').notNullable().comment('HMAC-SHA256 key of X-Signature; the service must hold it to sign')
    t.boolean('active').notNullable().defaultTo(true).comment('False once unsubscribed, paused or expired')
    t.bigInteger('cursor_position').notNullable().comment('Feed position of the last acknowledged event')
    t.bigInteger('cursor_id')
      .notNullable()
      .comment('Largest change id of its entity in that transaction (0: the entity had only conflicts opened)')
    t.text('cursor_entity')
      .notNullable()
      .defaultTo('')
      .comment("Entity id of the last acknowledged event ('' = before any)")
    t.integer('cursor_event')
      .notNullable()
      .defaultTo(0)
      .comment("Index of the last acknowledged event among that entity's events in the transaction")
    t.timestamp('last_delivery_at', { useTz: true }).comment('When an event was last acknowledged with a 2xx')
    t.text('last_error').comment('Why the last attempt failed (status or network error), null after a success')
    t.integer('failure_count').notNullable().defaultTo(0).comment('Failed attempts since the last success')
    t.timestamp('next_attempt_at', { useTz: true })
      .notNullable()
      .defaultTo(knex.fn.now())
      .comment('Earliest time of the next delivery attempt (exponential backoff after failures)')
    t.uuid('lease_owner').comment(
      'Worker that holds the delivery lease until next_attempt_at (several processes share the work)',
    )
    t.text('paused_reason').comment(
      'Why delivery stopped: FAILING (retries exhausted), KEY_REVOKED, EXPIRED, UNSUBSCRIBED',
    )
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).comment('When subscribed')
  })
  await knex.raw('CREATE INDEX webhook_subscriptions_due_idx ON webhook_subscriptions (next_attempt_at) WHERE active')
  await knex.raw('CREATE INDEX webhook_subscriptions_principal_idx ON webhook_subscriptions (principal_id)')
  // CONFLICT_OPENED events are read by transaction, like field changes (field_history_txid_idx).
  await knex.raw('CREATE INDEX conflicts_opened_txid_idx ON conflicts (opened_txid)')
  // A transaction that only opened conflicts (a department's differing value, no golden change)
  // takes a feed position too, so its CONFLICT_OPENED events have a place in the feed's order.
  await knex.raw(ASSIGN_FEED_POSITION.replace('%CONDITION%', FEED_CONDITION_WITH_CONFLICTS))
}

const FEED_COMMIT_LOCK = 724_003
const FEED_CONDITION = 'EXISTS (SELECT 1 FROM field_history WHERE txid = NEW.txid)'
const FEED_CONDITION_WITH_CONFLICTS = `${FEED_CONDITION} OR EXISTS (SELECT 1 FROM conflicts WHERE opened_txid = NEW.txid)`
const ASSIGN_FEED_POSITION = `
  CREATE OR REPLACE FUNCTION assign_feed_position() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF %CONDITION% THEN
      PERFORM pg_advisory_xact_lock(${FEED_COMMIT_LOCK});
      UPDATE transactions SET feed_position = nextval('feed_positions') WHERE txid = NEW.txid;
    END IF;
    RETURN NULL;
  END $$`

export async function down(knex: Knex): Promise<void> {
  await knex.raw(ASSIGN_FEED_POSITION.replace('%CONDITION%', FEED_CONDITION))
  await knex.raw('DROP INDEX IF EXISTS conflicts_opened_txid_idx')
  await knex.schema.dropTableIfExists('webhook_subscriptions')
}
