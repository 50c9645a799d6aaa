import {
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  isCancellation,
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
  type RetryPolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  batchPlan,
  lanesFor,
  batchWorkflowId,
  customerWorkflowId,
  defaultRunOptions,
  emptyCounts,
  failureTypes,
  pauseSignal,
  progressQuery,
  resumeSignal,
  searchAttributes,
  tally,
  type Counts,
  type CustomerRow,
  type EtlRunInput,
  type RunOptions,
  type RunProgress,
  type RunState,
  type RunSummary,
} from '../shared';
import { personalizeBatch, personalizeCustomer } from './personalize-customer';

/** Reading a page of the CSV is local and quick; a bad file fails at once (non-retryable), a busy disk is retried. */
const readRetry: RetryPolicy = {
  initialInterval: '1 s',
  maximumInterval: '30 s',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [failureTypes.inputInvalid],
};
/** A page is at most a few thousand rows. */
const readTimeout = '1 minute';
/** The export reads the CSV and every customer's record once more: minutes for a million rows. */
const exportTimeout = '30 minutes';
/** The export reports its progress every thousand rows, so a dead worker's export restarts within seconds. */
const exportHeartbeatTimeout = '30 s';
const exportRetry: RetryPolicy = {
  ...readRetry,
  nonRetryableErrorTypes: [failureTypes.inputInvalid, failureTypes.exportFailed],
};

const { readUserIds } = proxyActivities<Activities>({ startToCloseTimeout: readTimeout, retry: readRetry });
const { exportResults } = proxyActivities<Activities>({
  startToCloseTimeout: exportTimeout,
  heartbeatTimeout: exportHeartbeatTimeout,
  retry: exportRetry,
});

/** The patch after which a run without the run id search attribute sets it itself. */
export const runIdTagPatch = 'run-id-tag';

/** What every customer's steps take from the run's options, in a customer's workflow or a batch. */
const stepOptions = (runId: string, options: RunOptions) => ({
  runId,
  apiUrl: options.apiUrl,
  sink: options.sink,
  onApiFailure: options.onApiFailure,
  onLlmFailure: options.onLlmFailure,
  locale: options.locale,
});

/**
 * Starts one customer's workflow and tallies its outcome. The child is shielded from the run's cancellation:
 * a customer in flight finishes, so no load is left half-done.
 */
function startCustomer(runId: string, id: number, line: number, options: RunOptions, counts: Counts): Promise<void> {
  return CancellationScope.nonCancellable(() =>
    executeChild(personalizeCustomer, {
      workflowId: customerWorkflowId(runId, id),
      args: [{ ...stepOptions(runId, options), id, line }],
      // A customer is processed once per run: an id seen on an earlier page is a duplicate row.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: searchAttributes.runId, value: runId },
        { key: searchAttributes.customerId, value: id },
      ],
    }).then(
      (outcome) => tally(counts, outcome),
      (err: unknown) => {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          counts.duplicates += 1;
          return;
        }
        if (!(err instanceof ChildWorkflowFailure)) throw err;
        log.error('Customer workflow failed', { customerId: id, error: err.message });
        counts.failed += 1;
      },
    ),
  );
}

/**
 * Starts one batch of customers and tallies their outcomes. Like a customer's workflow, a batch in flight is
 * shielded from the run's cancellation.
 */
function startBatch(
  runId: string,
  customers: CustomerRow[],
  window: number,
  options: RunOptions,
  counts: Counts,
): Promise<void> {
  return CancellationScope.nonCancellable(() =>
    executeChild(personalizeBatch, {
      workflowId: batchWorkflowId(runId, customers),
      args: [{ ...stepOptions(runId, options), customers, window }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
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

/** The patch after which a run processes its customers in batch workflows instead of one workflow each. */
export const customerBatchesPatch = 'customer-batches';

/**
 * A whole run: pages of customer ids from the CSV, batch workflows keeping `concurrency` customers in flight,
 * continue-as-new after each page so history stays bounded, then the export and the report. Pause and resume
 * signals hold and release new starts; a cancellation lets the open batches finish, exports what was
 * done, and ends the run as cancelled.
 */
export async function etlRun(input: EtlRunInput): Promise<RunSummary> {
  const options: RunOptions = { ...defaultRunOptions, ...input };
  const { workflowId: runId, typedSearchAttributes } = workflowInfo();
  // A run started from the Web UI comes without search attributes: it tags itself, so filters by run id find it.
  if (typedSearchAttributes.get(searchAttributes.runId) === undefined && patched(runIdTagPatch)) {
    upsertSearchAttributes([{ key: searchAttributes.runId, value: runId }]);
  }
  const progress: RunProgress = input.progress ?? {
    startedAt: new Date().toISOString(),
    paused: false,
    cursor: undefined,
    pages: 0,
    counts: emptyCounts(),
  };
  const { counts } = progress;
  const inFlight = new Set<number>();
  // With batches, the customers in flight are the lanes in use; the ids are those of the open batches.
  let batched = false;
  let lanesInUse = 0;
  let state: RunState = 'running';
  setHandler(progressQuery, () => ({
    runId,
    state: state === 'running' && progress.paused ? 'paused' : state,
    startedAt: progress.startedAt,
    counts,
    inFlight: batched ? lanesInUse : inFlight.size,
    inFlightIds: [...inFlight],
    retryOf: options.retryOf ?? null,
  }));
  setHandler(pauseSignal, () => void (progress.paused = true));
  setHandler(resumeSignal, () => void (progress.paused = false));

  const running: Promise<void>[] = [];
  let cancelled: Error | undefined;
  try {
    const page = await readUserIds({
      input: options.input,
      cursor: progress.cursor,
      pageSize: options.pageSize,
      runId,
    });
    counts.rows += page.ids.length + page.invalid.length;
    for (const row of page.invalid) {
      if (row.reason === 'duplicate') counts.duplicates += 1;
      else counts.invalid += 1;
    }
    batched = patched(customerBatchesPatch);
    if (batched) {
      const plan = batchPlan(options);
      for (let start = 0; start < page.ids.length; start += plan.size) {
        const batch = page.ids.slice(start, start + plan.size);
        await condition(() => !progress.paused && lanesFor(plan, lanesInUse) > 0);
        const window = lanesFor(plan, lanesInUse);
        lanesInUse += window;
        for (const row of batch) inFlight.add(row.id);
        const done = (): void => {
          lanesInUse -= window;
          for (const row of batch) inFlight.delete(row.id);
        };
        running.push(startBatch(runId, batch, window, options, counts).finally(done));
      }
    } else {
      for (const { id, line } of page.ids) {
        await condition(() => !progress.paused && inFlight.size < options.concurrency);
        inFlight.add(id);
        running.push(startCustomer(runId, id, line, options, counts).finally(() => inFlight.delete(id)));
      }
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
  }

  const exported = await CancellationScope.nonCancellable(async () => {
    await Promise.all(running);
    state = 'exporting';
    return exportResults({
      runId,
      input: options.input,
      output: options.output,
      sink: options.sink,
      startedAt: progress.startedAt,
      cancelled: cancelled !== undefined,
      retryOf: options.retryOf ?? null,
    });
  });
  if (cancelled) {
    state = 'cancelled';
    log.info('Run cancelled after exporting what was done', { runId, counts: exported.counts });
    throw cancelled;
  }
  state = 'completed';
  log.info('Run completed', { runId, counts: exported.counts });
  return {
    runId,
    startedAt: progress.startedAt,
    endedAt: exported.endedAt,
    counts: exported.counts,
    estimatedCostUsd: exported.estimatedCostUsd,
    exportPath: exported.exportPath,
    reportPath: exported.reportPath,
    htmlReportPath: exported.htmlReportPath,
  };
}
