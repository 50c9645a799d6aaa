// The run: pages of customer ids from the CSV, batch workflows keeping --concurrency customers in flight,
// continue-as-new after each page, then the export and the reports.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  isCancellation,
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { failureTypes } from '../failures';
import { campaignProblem, validCampaign } from '../campaign';
import { runIdProblem, validRunId } from '../run-id';
import { emptyCounts, tally, tallyInvalid, type Counts, type CustomerRow } from '../outcomes';
import {
  batchWorkflowId,
  lanesReleasedSignal,
  pauseSignal,
  progressQuery,
  resolveRunOptions,
  resumeSignal,
  searchAttributes,
  type BankApiState,
  type EtlRunInput,
  type RunProgress,
  type RunState,
  type RunSummary,
  type StepOptions,
} from './api';
import { watchBankApi } from './bank-api-watch';
import { batchPlan, customersFor, lanesFor } from './lanes';
import { prefillMessages } from './llm-batch';
import { personalizeBatch } from './personalize-batch';

/** Reading a page of the CSV is local and quick; a bad file fails at once (non-retryable), a busy disk is retried. */
const readRetry: RetryPolicy = {
  initialInterval: '1 s',
  maximumInterval: '30 s',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [failureTypes.inputInvalid],
};
/** A page is at most maxPageSize rows. */
const readTimeout = '1 minute';
/** The export reads the CSV and every customer's record once more: minutes for a million rows. */
const exportTimeout = '30 minutes';
/** The export heartbeats every thousand rows, so a dead worker's export restarts within seconds. */
const exportHeartbeatTimeout = '30 s';
const exportRetry: RetryPolicy = {
  ...readRetry,
  nonRetryableErrorTypes: [failureTypes.inputInvalid, failureTypes.exportFailed],
};

/**
 * A batch's workflow task: its customers' local activities run inside it, and Core records their markers midway only
 * when the task nears this timeout. Markers recorded midway and then replayed (a worker restarted) can fail replay
 * with a nondeterminism error in SDK 1.24 (parallel local activities resolved in another order than they completed),
 * so a batch keeps its whole run in one task where it can; the price is that a dead worker's batch waits this long.
 */
const batchTaskTimeout = '30 s';

const { readUserIds } = proxyActivities<Activities>({ startToCloseTimeout: readTimeout, retry: readRetry });
const { exportResults } = proxyActivities<Activities>({
  startToCloseTimeout: exportTimeout,
  heartbeatTimeout: exportHeartbeatTimeout,
  retry: exportRetry,
});

/**
 * Starts one batch of customers and tallies their outcomes. A batch in flight is shielded from the run's
 * cancellation: its customers finish, so no load is left half-done.
 */
function startBatch(
  options: StepOptions,
  customers: CustomerRow[],
  window: number,
  bankApi: BankApiState,
  counts: Counts,
): Promise<void> {
  const { runId } = options;
  return CancellationScope.nonCancellable(() =>
    executeChild(personalizeBatch, {
      workflowId: batchWorkflowId(runId, customers),
      args: [{ ...options, customers, window, bankApi }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowTaskTimeout: batchTaskTimeout,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: searchAttributes.runId, value: runId },
        { key: searchAttributes.customerIds, value: customers.map((row) => String(row.id)) },
      ],
    }).then(
      ({ outcomes }) => {
        for (const outcome of outcomes) tally(counts, outcome);
      },
      (err: unknown) => {
        if (!(err instanceof ChildWorkflowFailure)) throw err;
        log.error('Customer batch failed', { customerIds: customers.map((row) => row.id), error: err.message });
        counts.failed += customers.length;
      },
    ),
  );
}

/**
 * A whole run. Pause and resume signals hold and release new batches; a cancellation lets the open batches finish,
 * exports what was done, and ends the run as cancelled.
 */
export async function etlRun(input: EtlRunInput): Promise<RunSummary> {
  const options = resolveRunOptions(input);
  const { workflowId: runId, typedSearchAttributes } = workflowInfo();
  // A run started in the Web UI names itself: a run id that breaks the rule fails the run before anything is read.
  if (!validRunId(runId)) throw ApplicationFailure.nonRetryable(runIdProblem(runId), failureTypes.inputInvalid);
  if (!validCampaign(options.campaign)) {
    throw ApplicationFailure.nonRetryable(campaignProblem(options.campaign), failureTypes.inputInvalid);
  }
  // A run started from the Web UI comes without search attributes: it tags itself, so filters by run id find it.
  if (typedSearchAttributes.get(searchAttributes.runId) === undefined) {
    upsertSearchAttributes([{ key: searchAttributes.runId, value: runId }]);
  }
  const progress: RunProgress = input.progress ?? {
    startedAt: new Date().toISOString(),
    paused: false,
    cursor: undefined,
    pages: 0,
    counts: emptyCounts(),
    bankApi: { status: 'up', since: null },
    bankApiOutages: [],
    probeId: null,
  };
  const { counts } = progress;
  // The customers in flight are the lanes in use; the ids are those of the open batches.
  const openIds = new Set<number>();
  /** The open batches, and the lanes each holds (until its first tries end, then those its customers left need). */
  const openBatches = new Map<string, { held: number }>();
  let lanesInUse = 0;
  setHandler(lanesReleasedSignal, ({ batchId, lanes }) => {
    const batch = openBatches.get(batchId);
    if (batch === undefined) return;
    const released = Math.min(batch.held, lanes);
    batch.held -= released;
    lanesInUse -= released;
  });
  const bankApi = watchBankApi(progress, options.apiUrl, options.apiOutageWaitMs, () => [...openBatches.keys()]);
  let state: RunState = 'running';
  setHandler(progressQuery, () => ({
    runId,
    state: state === 'running' && progress.paused ? 'paused' : state,
    startedAt: progress.startedAt,
    counts,
    inFlight: lanesInUse,
    inFlightIds: [...openIds],
    retryOf: options.retryOf ?? null,
    bankApi: bankApi.state(),
    apiOutageWaitMs: options.apiOutageWaitMs,
    campaign: options.campaign,
    llmBatchWorkflowId: progress.llmBatchWorkflowId ?? null,
  }));
  setHandler(pauseSignal, () => void (progress.paused = true));
  setHandler(resumeSignal, () => void (progress.paused = false));

  const stepOptions: StepOptions = {
    runId,
    apiUrl: options.apiUrl,
    sink: options.sink,
    onApiFailure: options.onApiFailure,
    onLlmFailure: options.onLlmFailure,
    locale: options.locale,
    campaign: options.campaign,
  };
  const running: Promise<void>[] = [];
  let cancelled: Error | undefined;
  try {
    const page = await readUserIds({
      runId,
      input: options.input,
      inputStored: options.inputStored,
      cursor: progress.cursor,
      pageSize: options.pageSize,
      output: options.output,
    });
    counts.rows += page.ids.length + page.invalid.length;
    for (const row of page.invalid) tallyInvalid(counts, row);
    await prefillMessages({ ...stepOptions, llmMode: options.llmMode }, page.ids, progress);
    const plan = batchPlan(options, page.ids.length);
    for (let start = 0; start < page.ids.length;) {
      // While the bank API answers no one, no new batch starts.
      await condition(() => !progress.paused && bankApi.state().status !== 'down' && lanesFor(plan, lanesInUse) > 0);
      const window = lanesFor(plan, lanesInUse);
      const batch = page.ids.slice(start, start + customersFor(plan, window));
      start += batch.length;
      const batchId = batchWorkflowId(runId, batch);
      lanesInUse += window;
      openBatches.set(batchId, { held: window });
      for (const row of batch) openIds.add(row.id);
      const done = (): void => {
        lanesInUse -= openBatches.get(batchId)?.held ?? 0;
        openBatches.delete(batchId);
        for (const row of batch) openIds.delete(row.id);
      };
      running.push(startBatch(stepOptions, batch, window, bankApi.state(), counts).finally(done));
    }
    await Promise.all(running);
    progress.pages += 1;
    if (page.next) {
      progress.cursor = page.next;
      await continueAsNew<typeof etlRun>({ ...options, progress });
    }
  } catch (err) {
    if (!isCancellation(err) || !(err instanceof Error)) throw err;
    // Cancelled: start nothing more, let the open batches finish, then export what was done.
    cancelled = err;
    state = 'draining';
    await CancellationScope.nonCancellable(() => bankApi.stopWaiting());
  }

  const exported = await CancellationScope.nonCancellable(async () => {
    await Promise.all(running);
    state = 'exporting';
    return exportResults({
      runId,
      input: options.input,
      inputStored: options.inputStored,
      output: options.output,
      sink: options.sink,
      startedAt: progress.startedAt,
      cancelled: cancelled !== undefined,
      retryOf: options.retryOf ?? null,
      campaign: options.campaign,
      bankApiOutages: progress.bankApiOutages,
      rowsRead: counts.rows,
      llmRepliesIgnored: progress.llmRepliesIgnored,
    });
  });
  if (cancelled) {
    state = 'cancelled';
    log.info('Run cancelled after exporting what was done', { runId, counts: exported.counts });
    throw cancelled;
  }
  state = 'completed';
  log.info('Run completed', { runId, counts: exported.counts });
  return { runId, startedAt: progress.startedAt, ...exported };
}
