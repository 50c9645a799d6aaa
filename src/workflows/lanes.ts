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
}

/** The plan for a page of `rows` customers; a page too short to give each lane wavesPerBatch customers takes fewer waves. */
export function batchPlan(options: Pick<RunOptions, 'batchSize' | 'concurrency'>, rows: number): BatchPlan {
  const lanes = Math.max(1, Math.floor(options.concurrency));
  const size = Math.max(1, Math.floor(Math.min(options.batchSize, lanes, maxBatchSize)));
  const waves = Math.min(wavesPerBatch, Math.max(1, Math.ceil(rows / lanes)));
  return { size, window: Math.ceil(size / waves), lanes };
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
 * The customers a new batch of `window` lanes takes: a batch given fewer lanes than the plan's window takes fewer
 * customers, so it lasts as many waves as the others rather than holding the run's end back.
 */
export function customersFor(plan: BatchPlan, window: number): number {
  return Math.max(1, Math.min(plan.size, Math.floor((plan.size * window) / plan.window)));
}
