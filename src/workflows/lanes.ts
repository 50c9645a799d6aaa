// The lane plan: how a run spreads its --concurrency customers in flight over batch workflows.
import { maxBatchSize, type RunOptions } from './api';

/**
 * Each lane of a long page works through about this many customers of its batch: a batch's start and end (its first
 * workflow task, its last wave) leave its lanes idle, and the batches of a generation end together, so the fewer
 * generations a page takes, the fewer such boundaries (docs/architecture.md, "Lanes"). Twenty: a page of 2,000 at
 * --concurrency 100 is one generation of twenty batches.
 */
const wavesPerBatch = 20;

/**
 * How a run spreads its `lanes` (customers in flight, --concurrency) over batches of `size` customers: each batch
 * keeps `window` of its customers in flight, so several batches are open at once and one batch's start and end,
 * when few of its customers are in flight, overlap the others' work.
 */
export interface BatchPlan {
  size: number;
  window: number;
  lanes: number;
  /** The customers each lane of a batch works through. */
  waves: number;
}

/**
 * The plan for a page of `rows` customers; a page too short to give each lane wavesPerBatch customers takes fewer
 * waves. A window is never so wide that its batch would run out of customers before its last wave: a batch lasts
 * `waves` waves (a page that fits in one generation of batches ends with all of them, instead of leaving a few
 * customers to a second generation that runs with most lanes idle).
 */
export function batchPlan(options: Pick<RunOptions, 'batchSize' | 'concurrency'>, rows: number): BatchPlan {
  const lanes = Math.max(1, Math.floor(options.concurrency));
  const size = Math.max(1, Math.floor(Math.min(options.batchSize, lanes, maxBatchSize)));
  const waves = Math.min(wavesPerBatch, Math.max(1, Math.ceil(rows / lanes)));
  return { size, window: Math.max(1, Math.floor(size / waves)), lanes, waves };
}

/**
 * The lanes a new batch gets: a full window, or what is left; 0: wait. A lane left over (a batch whose customer still
 * retries gave back the others) takes a batch of its own rather than idling until the page's end, when the customers
 * it did not take would make a batch of their own that runs alone.
 */
export function lanesFor(plan: BatchPlan, inUse: number): number {
  return Math.max(0, Math.min(plan.window, plan.lanes - inUse));
}

/**
 * The customers a new batch of `window` lanes takes: as many waves of them as the plan's batches last, so a batch
 * given fewer lanes than the plan's window takes fewer customers rather than holding the run's end back.
 */
export function customersFor(plan: BatchPlan, window: number): number {
  return Math.max(1, Math.min(plan.size, window * plan.waves));
}
