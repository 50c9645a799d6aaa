// Batch mode (--llm-mode batch): before a page's customers start, this child workflow asks the provider's Batch API
// for their messages and keeps the replies that pass the check in the campaign ledger, where the customers' own
// steps find them; whoever it leaves out goes the sync way. It waits with durable timers, however long the batch.
import {
  ActivityCancellationType,
  CancellationScope,
  ChildWorkflowFailure,
  ContinueAsNew,
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchState, SubmittedBatch } from '../activities/llm/batch';
import { failureTypes } from '../failures';
import type { CustomerRow } from '../outcomes';
import { searchAttributes, type RunProgress, type StepOptions } from './api';
import { llmBatchQuery, type LlmBatchView } from './llm-batch-api';

/** An expired or failed batch's customers still without a message are submitted again this many times, then go sync. */
export const maxResubmissions = 2;
/** The first wait before asking how a batch stands: a small batch can be done in seconds. */
const firstPollDelayMs = 5_000;
/** Waits double up to this: a batch takes minutes to hours, and a poll an hour costs nothing worth saving more on. */
const maxPollDelayMs = 5 * 60_000;
/**
 * The workflow continues as new after this many polls, so its history stays small however long the wait: a poll is a
 * timer and an activity (6 events), so a run holds at most about 50 * 6 + 20 events.
 */
export const pollsPerRun = 50;

/**
 * Provider calls ride out an outage of about half an hour (5 s doubling to 5 minutes, 12 attempts); after that the
 * page gives up on batch mode and its customers go the sync way, which has its own retries and fallback.
 */
const providerRetry: RetryPolicy = {
  initialInterval: '5 s',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  maximumAttempts: 12,
  nonRetryableErrorTypes: [failureTypes.llmRejected],
};
/** A poll or a cancel is one request, cut by the client's own 20 s timeout. */
const providerCallTimeout = '1 minute';
/**
 * Writing a page's batch fetches each customer from the bank (a page is at most 20,000) and uploads up to 200 MB;
 * reading one downloads it back and checks every reply. Both heartbeat every 100 customers.
 */
const batchFileTimeout = '1 hour';
const batchFileHeartbeat = '1 minute';

const { pollLlmBatch, cancelLlmBatches } = proxyActivities<Activities>({
  startToCloseTimeout: providerCallTimeout,
  retry: providerRetry,
});
const { collectLlmBatch } = proxyActivities<Activities>({
  startToCloseTimeout: batchFileTimeout,
  heartbeatTimeout: batchFileHeartbeat,
  retry: providerRetry,
});
/**
 * A submission cancelled with its run is waited for until it stops (it learns of the cancel on its next heartbeat,
 * within a minute), so the batches it made before stopping are among those the cancel then finds and cancels.
 */
const { submitLlmBatches } = proxyActivities<Activities>({
  startToCloseTimeout: batchFileTimeout,
  heartbeatTimeout: batchFileHeartbeat,
  retry: providerRetry,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

interface LlmBatchProgress {
  round: number;
  batches: (LlmBatchView & { ids: number[] })[];
  polls: number;
}

export interface LlmBatchInput {
  options: StepOptions;
  ids: number[];
  /** Set by the workflow itself when it continues as new. */
  progress?: LlmBatchProgress;
}

const ended = (status: BatchState['status']): boolean =>
  status === 'completed' || status === 'expired' || status === 'failed' || status === 'cancelled';

/** The page's messages through the Batch API; returns its batches once every one has ended and its replies are kept. */
export async function llmBatch(input: LlmBatchInput): Promise<LlmBatchView[]> {
  const { options, ids } = input;
  const progress: LlmBatchProgress = input.progress ?? { round: 0, batches: [], polls: 0 };
  const views = (): LlmBatchView[] => progress.batches.map(({ ids: _ids, ...view }) => view);
  setHandler(llmBatchQuery, views);
  const submit = async (customers: number[]): Promise<void> => {
    const key = `${workflowInfo().workflowId}/round-${progress.round}`;
    const made: SubmittedBatch[] = await submitLlmBatches({ ...options, ids: customers, key });
    const since = new Date().toISOString();
    for (const { batchId, ids: batchIds } of made) {
      progress.batches.push({
        batchId,
        ids: batchIds,
        round: progress.round,
        since,
        status: 'validating',
        total: batchIds.length,
        completed: 0,
        failed: 0,
        outputFileId: null,
        errorFileId: null,
        collected: null,
      });
    }
  };
  try {
    if (!input.progress) await submit(ids);
    let pollsThisRun = 0;
    for (;;) {
      const open = progress.batches.filter((b) => !ended(b.status));
      if (open.length === 0) {
        if (await collectAndResubmit(progress, options, submit)) continue;
        return views();
      }
      await sleep(Math.min(firstPollDelayMs * 2 ** progress.polls, maxPollDelayMs));
      for (const batch of open) {
        const state = await pollLlmBatch({ batchId: batch.batchId });
        if (state.status !== batch.status) batch.since = new Date().toISOString();
        Object.assign(batch, state);
      }
      progress.polls += 1;
      if (++pollsThisRun >= pollsPerRun) await continueAsNew<typeof llmBatch>({ ...input, progress });
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    // Cancelled with the run, or given up on: the provider's batches stop too, so no reply is paid for twice.
    const batchIds = progress.batches.filter((b) => !ended(b.status)).map((b) => b.batchId);
    await CancellationScope.nonCancellable(() => cancelLlmBatches({ runId: options.runId, batchIds }));
    throw err;
  }
}

/**
 * Reads every ended batch not yet read, then submits again the customers of the round's expired or failed batches
 * (those still without a message), up to maxResubmissions; says whether it submitted anything.
 */
async function collectAndResubmit(
  progress: LlmBatchProgress,
  options: StepOptions,
  submit: (ids: number[]) => Promise<void>,
): Promise<boolean> {
  for (const batch of progress.batches) {
    if (batch.collected || (batch.outputFileId === null && batch.errorFileId === null)) continue;
    const { ids, round: _round, since: _since, collected: _collected, ...state } = batch;
    batch.collected = await collectLlmBatch({ ...options, batch: state, ids });
  }
  const unfinished = progress.batches.filter(
    (b) => b.round === progress.round && (b.status === 'expired' || b.status === 'failed'),
  );
  if (unfinished.length === 0) return false;
  if (progress.round >= maxResubmissions) {
    log.warn('LLM batches ended without all replies; the rest go the sync way', {
      batches: unfinished.map((b) => b.batchId),
    });
    return false;
  }
  progress.round += 1;
  progress.polls = 0;
  log.info('LLM batches ended early; submitting what is left again', {
    batches: unfinished.map((b) => b.batchId),
    round: progress.round,
  });
  await submit(unfinished.flatMap((b) => b.ids));
  return true;
}

/** The batch-mode child of a page: named by the CSV lines the page spans, unique within a run. */
export const llmBatchWorkflowId = (runId: string, customers: CustomerRow[]): string =>
  `${runId}/llm-batch-lines-${customers[0]!.line}-${customers[customers.length - 1]!.line}`;

/**
 * The run's hook: in batch mode, runs the page's llmBatch child to its end before the page's customers start. While
 * it runs, `waiting` (the run's progress) holds its workflow id, for `status`, and then adds up the replies it ignored,
 * for the report; a cancellation of the run cancels it and its batches.
 */
export async function prefillMessages(
  options: StepOptions & { llmMode?: 'sync' | 'batch' },
  customers: CustomerRow[],
  waiting: Pick<RunProgress, 'llmBatchWorkflowId' | 'llmRepliesIgnored'>,
): Promise<void> {
  if (options.llmMode !== 'batch' || customers.length === 0) return;
  const { llmMode: _mode, ...stepOptions } = options;
  const workflowId = llmBatchWorkflowId(options.runId, customers);
  waiting.llmBatchWorkflowId = workflowId;
  try {
    const batches = await executeChild(llmBatch, {
      workflowId,
      args: [{ options: stepOptions, ids: customers.map((row) => row.id) }],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [{ key: searchAttributes.runId, value: options.runId }],
    });
    const ignored = batches.reduce((sum, b) => sum + (b.collected?.ignored ?? 0), 0);
    if (ignored > 0) waiting.llmRepliesIgnored = (waiting.llmRepliesIgnored ?? 0) + ignored;
  } catch (err) {
    if (isCancellation(err) || !(err instanceof ChildWorkflowFailure)) throw err;
    // The page's customers go the sync way: nothing is lost, it only costs the sync price.
    log.warn('Batch mode gave up on a page; its customers go the sync way', { workflowId, error: err.message });
  } finally {
    waiting.llmBatchWorkflowId = null;
  }
}
