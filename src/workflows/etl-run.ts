import {
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  workflowInfo,
  WorkflowIdReusePolicy,
  type RetryPolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  customerWorkflowId,
  defaultRunOptions,
  emptyCounts,
  failureTypes,
  progressQuery,
  searchAttributes,
  type Counts,
  type CustomerOutcome,
  type EtlRunInput,
  type RunOptions,
  type RunProgress,
  type RunState,
  type RunSummary,
} from '../shared';
import { personalizeCustomer } from './personalize-customer';

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
const exportRetry: RetryPolicy = {
  ...readRetry,
  nonRetryableErrorTypes: [failureTypes.inputInvalid, failureTypes.exportFailed],
};

const { readUserIds } = proxyActivities<Activities>({ startToCloseTimeout: readTimeout, retry: readRetry });
const { exportResults } = proxyActivities<Activities>({ startToCloseTimeout: exportTimeout, retry: exportRetry });

function tally(counts: Counts, outcome: CustomerOutcome): void {
  counts[outcome.status] += 1;
  if (outcome.source === 'mock') counts.fromMock += 1;
  if (outcome.messageSource === 'template') counts.templated += 1;
  counts.promptTokens += outcome.tokens.promptTokens;
  counts.completionTokens += outcome.tokens.completionTokens;
}

/**
 * A whole run: pages of customer ids from the CSV, a sliding window of `concurrency` customer workflows,
 * continue-as-new after each page so history stays bounded, then the export and the report.
 */
export async function etlRun(input: EtlRunInput): Promise<RunSummary> {
  const options: RunOptions = { ...defaultRunOptions, ...input };
  const { workflowId: runId } = workflowInfo();
  const progress: RunProgress = input.progress ?? {
    startedAt: new Date().toISOString(),
    cursor: undefined,
    pages: 0,
    counts: emptyCounts(),
  };
  const { counts } = progress;
  const inFlight = new Set<number>();
  let state: RunState = 'running';
  setHandler(progressQuery, () => ({
    runId,
    state,
    startedAt: progress.startedAt,
    counts,
    inFlight: inFlight.size,
    inFlightIds: [...inFlight],
  }));

  const page = await readUserIds({ input: options.input, cursor: progress.cursor, pageSize: options.pageSize });
  counts.rows += page.ids.length + page.invalid.length;
  for (const row of page.invalid) {
    if (row.reason === 'duplicate') counts.duplicates += 1;
    else counts.invalid += 1;
  }

  const running: Promise<void>[] = [];
  for (const { id, line } of page.ids) {
    await condition(() => inFlight.size < options.concurrency);
    inFlight.add(id);
    const child = executeChild(personalizeCustomer, {
      workflowId: customerWorkflowId(runId, id),
      args: [
        {
          runId,
          id,
          line,
          apiUrl: options.apiUrl,
          sink: options.sink,
          onApiFailure: options.onApiFailure,
          onLlmFailure: options.onLlmFailure,
          locale: options.locale,
        },
      ],
      // A customer is processed once per run: an id seen on an earlier page is a duplicate row.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: searchAttributes.runId, value: runId },
        { key: searchAttributes.customerId, value: id },
      ],
    })
      .then(
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
      )
      .finally(() => inFlight.delete(id));
    running.push(child);
  }
  await Promise.all(running);
  progress.pages += 1;

  if (page.next) {
    progress.cursor = page.next;
    await continueAsNew<typeof etlRun>({ ...options, progress });
  }

  state = 'exporting';
  const exported = await exportResults({
    runId,
    input: options.input,
    output: options.output,
    sink: options.sink,
    startedAt: progress.startedAt,
  });
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
  };
}
