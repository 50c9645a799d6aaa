// The lane plan: how a run spreads its --concurrency customers in flight over batch workflows.
import { maxBatchSize, type RunOptions } from './api';

/** Each batch works through its customers in about this many waves, so batches open and close at different times. */
const wavesPerBatch = 4;

/**
 * How a run spreads its `lanes` (customers in flight, --concurrency) over batches of `size` customers: each batch
 * keeps `window` of its customers in flight, so several batches are open at once and one batch's start and end,
 * when few of its customers are in flight, overlap the others' work.
 */
export interface BatchPlan {
  size: number;
  window: number;
  lanes: number;
}

export function batchPlan(options: Pick<RunOptions, 'batchSize' | 'concurrency'>): BatchPlan {
  const lanes = Math.max(1, Math.floor(options.concurrency));
  const size = Math.max(1, Math.floor(Math.min(options.batchSize, lanes, maxBatchSize)));
  return { size, window: Math.ceil(size / wavesPerBatch), lanes };
}

/** The lanes a new batch gets: a full window, or what is left when that is at least half a window; 0: wait. */
export function lanesFor(plan: BatchPlan, inUse: number): number {
  const left = plan.lanes - inUse;
  return left >= Math.ceil(plan.window / 2) ? Math.min(plan.window, left) : 0;
}
