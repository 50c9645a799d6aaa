// The record store in PostgreSQL: each customer's record and the campaign ledger in tables that every worker on
// every host shares.
import type * as pg from 'pg';
import type { CampaignEntry, ChosenMessage, CustomerRecord, InputRow, InputRows, RecordStore } from './store';

/**
 * Connections one worker process keeps: its activities save and read records concurrently, and the export reads
 * ahead, so a few connections keep them from queueing; PostgreSQL's default of 100 connections leaves room for ten
 * such workers.
 */
const maxConnections = 10;
/** A database that does not answer fails the call within this time, to be retried, rather than hanging it. */
const connectMillis = 10_000;
/** An idle connection is closed after this long, so a quiet worker holds no connections. */
const idleMillis = 30_000;
/**
 * The key of the advisory lock the migrations hold: workers starting at once would otherwise race on CREATE TABLE IF
 * NOT EXISTS, which can fail when two create the table together. Any number works that every sdw-etl process shares.
 */
const migrationLockKey = 5_830_001;

// The one table: a run's record of a customer, kept whole as jsonb, since the store only ever saves and reads it whole.
const migration = `
  CREATE TABLE IF NOT EXISTS customer_records (
    run_id text NOT NULL,
    customer_id bigint NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (run_id, customer_id)
  );
  -- When a record was last saved: what sdw-etl prune reads.
  ALTER TABLE customer_records ADD COLUMN IF NOT EXISTS saved_at timestamptz NOT NULL DEFAULT now();
  -- The campaign ledger: its primary key is what makes a customer's message one per campaign.
  CREATE TABLE IF NOT EXISTS campaign_messages (
    campaign text NOT NULL,
    customer_id bigint NOT NULL,
    chosen jsonb NOT NULL,
    chosen_at timestamptz NOT NULL DEFAULT now(),
    loaded_by text,
    loaded_at timestamptz,
    PRIMARY KEY (campaign, customer_id)
  );
  -- A run's input, streamed in by the CLI: a customer id, or a row set aside (its value as shown, and why).
  CREATE TABLE IF NOT EXISTS input_rows (
    run_id text NOT NULL,
    line integer NOT NULL,
    customer_id bigint,
    value text,
    reason text,
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, line)
  )`;

// One statement for a whole batch, whatever its size: the records arrive as two arrays (ids and JSON texts), so the
// statement has three parameters however many records there are. Saving a record again replaces it.
const upsert = `
  INSERT INTO customer_records (run_id, customer_id, record)
  SELECT $1, saved.customer_id, saved.record FROM unnest($2::bigint[], $3::jsonb[]) AS saved(customer_id, record)
  ON CONFLICT (run_id, customer_id) DO UPDATE SET record = EXCLUDED.record, saved_at = now()`;

export type PostgresStore = RecordStore & { inputRows: InputRows; close(): Promise<void> };

/** A store on the database at `url` (postgres://user@host:port/db), its table created when missing. */
export async function createPostgresStore(url: string): Promise<PostgresStore> {
  const pool = await openMigratedPool(url, maxConnections, migration);

  return {
    inputRows: postgresInputRows(pool),
    async saveRecords(runId, records) {
      // A batch naming a customer twice keeps the last record, as saving them one after the other would: PostgreSQL
      // refuses to update one row twice in one statement.
      const latest = new Map(records.map((record) => [record.outcome.id, record]));
      if (latest.size === 0) return;
      const ids = [...latest.keys()];
      const texts = [...latest.values()].map((record) => JSON.stringify(record));
      await pool.query(upsert, [runId, ids, texts]);
    },
    async readRecord(runId, id) {
      const { rows } = await pool.query<{ record: CustomerRecord }>(
        'SELECT record FROM customer_records WHERE run_id = $1 AND customer_id = $2',
        [runId, id],
      );
      return rows[0]?.record;
    },
    async readRecords(runId, ids) {
      if (ids.length === 0) return new Map();
      const { rows } = await pool.query<{ customer_id: string; record: CustomerRecord }>(
        'SELECT customer_id, record FROM customer_records WHERE run_id = $1 AND customer_id = ANY($2::bigint[])',
        [runId, ids],
      );
      // pg gives a bigint as a string, since not every bigint fits a JavaScript number; a customer id does.
      return new Map(rows.map((row) => [Number(row.customer_id), row.record]));
    },
    async pruneRuns(before) {
      const { rows } = await pool.query<{ run_id: string; records: string }>(
        `WITH old AS (SELECT run_id FROM customer_records GROUP BY run_id HAVING max(saved_at) < $1),
              gone AS (DELETE FROM customer_records WHERE run_id IN (SELECT run_id FROM old) RETURNING run_id)
         SELECT run_id, count(*) AS records FROM gone GROUP BY run_id ORDER BY run_id`,
        [before],
      );
      // A run's input goes with its records; an input whose run saved no record (it never started) goes with age.
      await pool.query(
        `DELETE FROM input_rows WHERE run_id = ANY($1::text[])
           OR (saved_at < $2 AND run_id NOT IN (SELECT run_id FROM customer_records))`,
        [rows.map((row) => row.run_id), before],
      );
      const campaigns = await pool.query<{ campaign: string }>(
        `WITH old AS (SELECT campaign FROM campaign_messages GROUP BY campaign
                      HAVING max(greatest(chosen_at, loaded_at)) < $1),
              gone AS (DELETE FROM campaign_messages WHERE campaign IN (SELECT campaign FROM old) RETURNING campaign)
         SELECT DISTINCT campaign FROM gone ORDER BY campaign`,
        [before],
      );
      return {
        runs: rows.map((row) => row.run_id),
        records: rows.reduce((n, row) => n + Number(row.records), 0),
        campaigns: campaigns.rows.map((row) => row.campaign),
      };
    },
    async readCampaign(campaign, ids) {
      if (ids.length === 0) return new Map();
      const { rows } = await pool.query<LedgerRow>(
        'SELECT customer_id, chosen, loaded_by FROM campaign_messages WHERE campaign = $1 AND customer_id = ANY($2::bigint[])',
        [campaign, ids],
      );
      return new Map(rows.map((row) => [Number(row.customer_id), entryOf(row)]));
    },
    async chooseMessage(campaign, id, chosen) {
      // Two statements, not one: a SELECT in the INSERT's statement would not see a row another run committed while
      // the INSERT waited for it.
      const inserted = await pool.query<LedgerRow>(
        `INSERT INTO campaign_messages (campaign, customer_id, chosen) VALUES ($1, $2, $3)
         ON CONFLICT (campaign, customer_id) DO NOTHING RETURNING customer_id, chosen, loaded_by`,
        [campaign, id, JSON.stringify(chosen)],
      );
      const kept =
        inserted.rows[0] ??
        (
          await pool.query<LedgerRow>(
            'SELECT customer_id, chosen, loaded_by FROM campaign_messages WHERE campaign = $1 AND customer_id = $2',
            [campaign, id],
          )
        ).rows[0]!;
      return entryOf(kept);
    },
    async markLoaded(campaign, runId, ids) {
      if (ids.length === 0) return;
      await pool.query(
        `UPDATE campaign_messages SET loaded_by = $2, loaded_at = now()
         WHERE campaign = $1 AND customer_id = ANY($3::bigint[]) AND loaded_by IS NULL`,
        [campaign, runId, ids],
      );
    },
    async listCampaigns() {
      const { rows } = await pool.query<{
        campaign: string;
        customers: string;
        loaded: string;
        first_chosen_at: Date;
        last_changed_at: Date;
      }>(
        `SELECT campaign, count(*) AS customers, count(loaded_by) AS loaded, min(chosen_at) AS first_chosen_at,
                max(greatest(chosen_at, loaded_at)) AS last_changed_at
         FROM campaign_messages GROUP BY campaign ORDER BY campaign`,
      );
      return rows.map((row) => ({
        campaign: row.campaign,
        customers: Number(row.customers),
        loaded: Number(row.loaded),
        firstChosenAt: row.first_chosen_at.toISOString(),
        lastChangedAt: row.last_changed_at.toISOString(),
      }));
    },
    async close() {
      await pool.end();
    },
  };
}

/** A run's input rows: one statement per save, three arrays of parameters however many rows. */
function postgresInputRows(pool: pg.Pool): InputRows {
  return {
    async saveInputRows(runId, rows) {
      if (rows.length === 0) return;
      const valid = (row: InputRow): row is Extract<InputRow, { id: number }> => 'id' in row;
      await pool.query(
        `INSERT INTO input_rows (run_id, line, customer_id, value, reason)
         SELECT $1, r.line, r.customer_id, r.value, r.reason
         FROM unnest($2::integer[], $3::bigint[], $4::text[], $5::text[]) AS r(line, customer_id, value, reason)
         ON CONFLICT (run_id, line) DO NOTHING`,
        [
          runId,
          rows.map((row) => row.line),
          rows.map((row) => (valid(row) ? row.id : null)),
          rows.map((row) => (valid(row) ? null : row.invalid.value)),
          rows.map((row) => (valid(row) ? null : row.invalid.reason)),
        ],
      );
    },
    async readInputRows(runId, afterLine, limit) {
      const { rows } = await pool.query<{
        line: number;
        customer_id: string | null;
        value: string | null;
        reason: string | null;
      }>(
        `SELECT line, customer_id, value, reason FROM input_rows WHERE run_id = $1 AND line > $2
         ORDER BY line LIMIT $3`,
        [runId, afterLine, limit],
      );
      return rows.map(({ line, customer_id, value, reason }) =>
        customer_id === null
          ? { line, invalid: { line, value: value ?? '', reason: reason ?? '' } }
          : { line, id: Number(customer_id) },
      );
    },
  };
}

interface LedgerRow {
  customer_id: string;
  chosen: ChosenMessage;
  loaded_by: string | null;
}

const entryOf = (row: LedgerRow): CampaignEntry => ({ ...row.chosen, loadedBy: row.loaded_by });

/**
 * A pool of at most `max` connections to the database at `url`, with what `migration` creates in place; every
 * sdw-etl table on PostgreSQL is reached through one.
 */
export async function openMigratedPool(url: string, max: number, migration: string): Promise<pg.Pool> {
  // Loaded here, not on import: a worker on files starts without it (40 ms).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Pool } = require('pg') as typeof pg;
  const pool = new Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: connectMillis,
    idleTimeoutMillis: idleMillis,
  });
  // A connection lost while idle (a database restart) is dropped by the pool and replaced on the next query; without
  // a listener, the pool's 'error' event would end the process.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, migration);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}

/** Creates what `statements` create when missing, one process at a time: the lock is released with the transaction. */
async function migrate(pool: pg.Pool, statements: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await client.query(statements);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
