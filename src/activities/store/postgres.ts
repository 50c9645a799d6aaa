// The record store in PostgreSQL: each customer's record in one table that every worker on every host shares.
import { Pool } from 'pg';
import type { CustomerRecord, RecordStore } from './store';

/**
 * Connections one worker process keeps: its activities save and read records concurrently, and the export reads
 * ahead, so a few connections keep them from queueing; PostgreSQL's default of 100 connections leaves room for ten
 * such workers.
 */
const maxConnections = 10;
/** A database that does not answer fails the activity within this time, to be retried, rather than hanging it. */
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
  ALTER TABLE customer_records ADD COLUMN IF NOT EXISTS saved_at timestamptz NOT NULL DEFAULT now()`;

// One statement for a whole batch, whatever its size: the records arrive as two arrays (ids and JSON texts), so the
// statement has three parameters however many records there are. Saving a record again replaces it.
const upsert = `
  INSERT INTO customer_records (run_id, customer_id, record)
  SELECT $1, saved.customer_id, saved.record FROM unnest($2::bigint[], $3::jsonb[]) AS saved(customer_id, record)
  ON CONFLICT (run_id, customer_id) DO UPDATE SET record = EXCLUDED.record, saved_at = now()`;

export type PostgresStore = RecordStore & { close(): Promise<void> };

/** A store on the database at `url` (postgres://user@host:port/db), its table created when missing. */
export async function createPostgresStore(url: string): Promise<PostgresStore> {
  const pool = new Pool({
    connectionString: url,
    max: maxConnections,
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

  return {
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
      return { runs: rows.map((row) => row.run_id), records: rows.reduce((n, row) => n + Number(row.records), 0) };
    },
    async close() {
      await pool.end();
    },
  };
}

/** Creates what `statements` create when missing, one process at a time: the lock is released with the transaction. */
export async function migrate(pool: Pool, statements: string): Promise<void> {
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
