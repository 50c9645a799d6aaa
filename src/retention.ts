// The record store's automatic retention: with SDW_RETENTION set, each worker deletes the records of runs that saved
// none for that long, once as it starts and every hour after, with the prune code `sdw-etl prune` uses.
import type { Logger } from '@temporalio/common';
import type { RecordStore } from './activities/store/store';

/** How often a worker prunes: records outlive SDW_RETENTION by at most this, and a sweep is cheap (one listing). */
export const retentionSweepEveryMs = 60 * 60_000;

/** Starts the sweeps; returns what stops them. Several workers sweeping at once delete each run once. */
export function startRetention(
  store: RecordStore,
  retentionMs: number,
  log: Logger,
  everyMs = retentionSweepEveryMs,
): () => void {
  const sweep = async (): Promise<void> => {
    const before = new Date(Date.now() - retentionMs);
    try {
      const { runs, records } = await store.pruneRuns(before);
      if (runs.length > 0) log.info('Pruned old runs (SDW_RETENTION)', { runs, records, before: before.toISOString() });
    } catch (err) {
      // The next sweep tries again; the runs in flight never depend on a sweep.
      log.warn('Pruning old runs failed (SDW_RETENTION)', { error: (err as Error).message });
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
