// One LLM quota for every worker on every host (SDW_LLM_RPM), kept in the shared PostgreSQL store: each call takes
// the next free slot with one atomic statement, then waits for it, or is retried by Temporal when it is far off.
import { Context, log } from '@temporalio/activity';
import { ConfigError, type Config } from '../../config';
import { failureTypes } from '../../failures';
import { activityFailure } from '../failure';
import { openMigratedPool } from '../store/postgres';

/** A call waits at most this long for its slot; a later slot is a retry after that delay instead (LlmRateLimited). */
const maxQuotaWaitMs = 10_000;
/**
 * A call reaches the LLM a little after its slot (the timer firing late on a busy worker, the request's trip). Slots
 * are spaced (window + this) / calls apart, so that no window holds more than `calls` however late each call is,
 * within this allowance: 1 s in a minute costs 1.6% of the quota.
 */
const sendLatenessAllowanceMs = 1_000;
/**
 * A call that wakes this long after its slot (a worker too busy to run its timers) gives the slot up and takes
 * another rather than be sent late; the rest of the allowance above is for the request's way to the LLM.
 */
const lateWakeMs = 500;
/** Reservations are one short statement each: two connections per worker process keep them from queueing. */
const maxConnections = 2;

// One row per quota: the time from which its next call may be sent.
const migration = `
  CREATE TABLE IF NOT EXISTS llm_quotas (
    name text PRIMARY KEY,
    next_slot timestamptz NOT NULL
  )`;

// Hands the calling worker the quota's next slot and moves it one spacing on, in one atomic statement on the
// database's one clock; no row comes back when the slot is more than the longest wait away ($3 ms), so none is taken.
const reserve = `
  INSERT INTO llm_quotas AS q (name, next_slot) VALUES ($1, clock_timestamp() + $2 * interval '1 ms')
  ON CONFLICT (name) DO UPDATE SET next_slot = greatest(q.next_slot, clock_timestamp()) + $2 * interval '1 ms'
    WHERE q.next_slot <= clock_timestamp() + $3 * interval '1 ms'
  RETURNING extract(epoch FROM next_slot - $2 * interval '1 ms' - clock_timestamp()) * 1000 AS wait_ms`;
const nextSlot = `SELECT extract(epoch FROM next_slot - clock_timestamp()) * 1000 AS wait_ms FROM llm_quotas WHERE name = $1`;

export interface LlmQuotaConfig {
  /** At most this many LLM calls in any window, across every worker that shares the quota. */
  calls: number;
  windowMs: number;
}

export interface LlmQuota {
  /** Waits for this call's slot, or fails as LlmRateLimited with the delay after which to try again. */
  take(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The quota of the LLM endpoint and model the config names, or undefined with no quota set or no LLM (templates).
 * A quota needs the shared store: kept in one process, it would allow each worker the whole quota.
 */
export async function openLlmQuota(
  config: Pick<Config, 'llm' | 'llmQuota' | 'databaseUrl'>,
): Promise<LlmQuota | undefined> {
  if (!config.llmQuota || !config.llm) return undefined;
  if (!config.databaseUrl)
    throw new ConfigError(
      'SDW_LLM_RPM (--llm-rpm) needs SDW_DATABASE_URL: the quota is kept in the shared PostgreSQL store so that every worker on every host draws on the same one (scripts/postgres.sh start prints a URL).',
    );
  const name = `${config.llm.baseURL ?? 'https://api.openai.com/v1'} ${config.llm.model}`;
  return createLlmQuota(config.databaseUrl, name, config.llmQuota);
}

/** The quota `name` on the database at `url`, its table created when missing. */
export async function createLlmQuota(url: string, name: string, quota: LlmQuotaConfig): Promise<LlmQuota> {
  const pool = await openMigratedPool(url, maxConnections, migration);
  const spacingMs = (quota.windowMs + sendLatenessAllowanceMs) / quota.calls;
  const described = `${quota.calls} per ${quota.windowMs / 1000} s`;
  /** The wait for the next slot (ms), or undefined when it is too far off; sent and answered within `[sent, now]`. */
  const reserveSlot = async (): Promise<{ wait: number; sent: number } | undefined> => {
    const client = await pool.connect();
    try {
      const sent = Date.now();
      const { rows } = await client.query<{ wait_ms: string }>(reserve, [name, spacingMs, maxQuotaWaitMs]);
      return rows[0] && { wait: Number(rows[0].wait_ms), sent };
    } finally {
      client.release();
    }
  };
  return {
    async take() {
      for (;;) {
        const slot = await reserveSlot();
        if (!slot) {
          const next = await pool.query<{ wait_ms: string }>(nextSlot, [name]);
          // At least 1 ms: the slot may have come nearer between the two statements.
          const wait = Math.max(1, Math.ceil(Number(next.rows[0]?.wait_ms ?? maxQuotaWaitMs)));
          throw activityFailure(
            failureTypes.llmRateLimited,
            `The LLM calls of every worker are capped at ${described} (SDW_LLM_RPM); the next free slot is ${wait} ms away.`,
            { nextRetryDelayMs: wait },
          );
        }
        if (slot.wait > 0) await Context.current().sleep(Math.ceil(slot.wait));
        // The slot came at the latest `wait` after the statement was sent, on this host's clock.
        const late = Date.now() - slot.sent - Math.max(slot.wait, 0);
        if (late <= lateWakeMs) return;
        log.warn('Woke too late for an LLM slot; taking another', { lateMs: late });
      }
    },
    close: () => pool.end(),
  };
}
