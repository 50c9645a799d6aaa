// The one place that is a Temporal client: start runs, follow them, query them, read their history back.
import { randomBytes } from 'node:crypto';
import {
  Client,
  Connection,
  isGrpcServiceError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { LoadedDataConverter, Payload } from '@temporalio/common';
import { requiredTsToDate } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import {
  decodeFromPayloadsAtIndex,
  decodeOptionalFailureToOptionalError,
} from '@temporalio/common/lib/internal-non-workflow';
import { dataConverterFor } from './codec';
import type { Config } from './config';
import { pricesTakenOn } from './pricing';
import { reported, type ReportedCustomer, type ReportState, type RunReport } from './report';
import {
  defaultRunOptions,
  emptyCounts,
  newOutcome,
  progressQuery,
  searchAttributes,
  tally,
  type CustomerOutcome,
  type EtlRunInput,
  type InvalidRow,
  type PersonalizeCustomerInput,
  type Progress,
  type RunOptions,
  type RunSummary,
  type UserIdPage,
} from './shared';
import type { etlRun } from './workflows';

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect({ ...config.temporal.connection, connectTimeout: '5 seconds' });
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config.encryption),
  });
}

/** A run id that sorts by start time and reads well in the Web UI: sdw-etl-20261125-164512-a1b2. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `sdw-etl-${stamp}-${randomBytes(2).toString('hex')}`;
}

export const validRunId = (id: string): boolean => /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(id);

export async function startRun(
  client: Client,
  taskQueue: string,
  runId: string,
  options: RunOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof etlRun>> {
  return client.workflow.start<typeof etlRun>('etlRun', {
    taskQueue,
    workflowId: runId,
    args: [options],
    // A run id names one run for good: its record is the audit trail.
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [{ key: searchAttributes.runId, value: runId }],
  });
}

/** Waits for a run's result, calling `onProgress` with the progress query's answer as it goes. */
export async function followRun(
  handle: WorkflowHandle<typeof etlRun>,
  onProgress: (progress: Progress) => void,
  everyMs = 500,
): Promise<RunSummary> {
  let done = false;
  const result = handle.result().finally(() => {
    done = true;
  });
  const poll = (async () => {
    while (!done) {
      try {
        onProgress(await handle.query(progressQuery));
      } catch {
        // Between continue-as-new runs the query can miss; the next poll answers.
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  const summary = await result;
  await poll;
  return summary;
}

export const runUrl = (config: Config, runId: string): string =>
  `${config.temporal.webUiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(runId)}`;

export const runHandle = (client: Client, runId: string): WorkflowHandle<typeof etlRun> =>
  client.workflow.getHandle<typeof etlRun>(runId);

/** A value from a history, decoded the way the client encoded it (decrypted when encryption is on). */
function decodePayload<T>(
  converter: LoadedDataConverter,
  payloads: { payloads?: Payload[] | null } | null | undefined,
): Promise<T> {
  return decodeFromPayloadsAtIndex<T>(converter, 0, payloads?.payloads);
}

/** The options a run was started with, read back from its history (the latest run of its chain). */
export async function runOptionsOf(handle: WorkflowHandle<typeof etlRun>): Promise<RunOptions> {
  const history = await handle.fetchHistory();
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input;
  if (!input) throw new Error(`Run ${handle.workflowId} has no input in its history.`);
  const decoded = await decodePayload<EtlRunInput>(handle.client.options.loadedDataConverter, input);
  const { progress: _progress, ...options } = decoded;
  return { ...defaultRunOptions, ...options };
}

/** How a run ended, from the last event of its history; running while it has not. */
function stateOf(event: temporal.api.history.v1.IHistoryEvent | undefined): ReportState {
  if (event?.workflowExecutionCompletedEventAttributes) return 'completed';
  if (event?.workflowExecutionCanceledEventAttributes) return 'cancelled';
  if (event?.workflowExecutionFailedEventAttributes) return 'failed';
  if (event?.workflowExecutionTerminatedEventAttributes) return 'terminated';
  if (event?.workflowExecutionTimedOutEventAttributes) return 'timed_out';
  return 'running';
}

const eventDate = (event: temporal.api.history.v1.IHistoryEvent): string =>
  requiredTsToDate(event.eventTime, 'eventTime').toISOString();

/**
 * A run's report rebuilt from Temporal alone, for when the report file is gone or out of reach. It walks the run's
 * continue-as-new chain from the latest run back to the first, one history in memory at a time, and takes the pages
 * each run read, the customers it started and the outcome each customer workflow returned.
 */
export async function rebuildReport(client: Client, runId: string): Promise<RunReport> {
  const converter = client.options.loadedDataConverter;
  const customers: ReportedCustomer[] = [];
  const invalidRows: InvalidRow[] = [];
  let options: EtlRunInput | undefined;
  let startedAt: string | undefined;
  let summary: RunSummary | undefined;
  let state: ReportState | undefined;
  let endedAt: string | null = null;
  let executionRunId: string | undefined; // undefined: the latest run of the chain
  do {
    const history = await client.workflow
      .getHandle(runId, executionRunId)
      .fetchHistory()
      .catch((err: unknown) => {
        if (isGrpcServiceError(err) && err.code === grpcStatus.NOT_FOUND)
          throw new WorkflowNotFoundError(`Run ${runId} is not known to Temporal.`, runId, executionRunId);
        throw err;
      });
    const events = history.events ?? [];
    const start = events[0]?.workflowExecutionStartedEventAttributes;
    if (!start) throw new Error(`Run ${runId} has no start event in its history.`);
    if (state === undefined) {
      const last = events[events.length - 1];
      state = stateOf(last);
      if (state !== 'running') endedAt = eventDate(last!);
    }
    startedAt = eventDate(events[0]!); // the first run's, once the walk is done
    const activityTypes = new Map<string, string>();
    const started = new Map<string, PersonalizeCustomerInput>();
    for (const event of events) {
      const eventId = String(event.eventId);
      if (event.workflowExecutionStartedEventAttributes) {
        options ??= await decodePayload<EtlRunInput>(converter, event.workflowExecutionStartedEventAttributes.input);
      } else if (event.activityTaskScheduledEventAttributes) {
        activityTypes.set(eventId, event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
      } else if (event.activityTaskCompletedEventAttributes) {
        const { scheduledEventId, result } = event.activityTaskCompletedEventAttributes;
        if (activityTypes.get(String(scheduledEventId)) === 'readUserIds')
          invalidRows.push(...(await decodePayload<UserIdPage>(converter, result)).invalid);
      } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
        const input = event.startChildWorkflowExecutionInitiatedEventAttributes.input;
        started.set(eventId, await decodePayload<PersonalizeCustomerInput>(converter, input));
      } else if (event.startChildWorkflowExecutionFailedEventAttributes) {
        // The customer's workflow id was taken: the id was already on an earlier page.
        const child = started.get(String(event.startChildWorkflowExecutionFailedEventAttributes.initiatedEventId));
        if (child) invalidRows.push({ line: child.line, value: String(child.id), reason: 'duplicate' });
      } else if (event.childWorkflowExecutionCompletedEventAttributes) {
        const { result } = event.childWorkflowExecutionCompletedEventAttributes;
        customers.push(reported(await decodePayload<CustomerOutcome>(converter, result)));
      } else if (event.workflowExecutionCompletedEventAttributes) {
        const { result } = event.workflowExecutionCompletedEventAttributes;
        summary = await decodePayload<RunSummary>(converter, result);
      } else {
        // A customer workflow that ended without an outcome: a bug or an operator's hand, not a customer's fate.
        const ended =
          event.childWorkflowExecutionFailedEventAttributes ??
          event.childWorkflowExecutionTerminatedEventAttributes ??
          event.childWorkflowExecutionCanceledEventAttributes ??
          event.childWorkflowExecutionTimedOutEventAttributes;
        const child = ended ? started.get(String(ended.initiatedEventId)) : undefined;
        if (!child) continue;
        const failure = event.childWorkflowExecutionFailedEventAttributes?.failure;
        const error = await decodeOptionalFailureToOptionalError(converter, failure);
        const message = error?.message ?? 'The customer workflow was terminated, cancelled or timed out.';
        customers.push(
          reported({ ...newOutcome(child.id, child.line), error: { reason: 'workflow_failed', message } }),
        );
      }
    }
    executionRunId = start.continuedExecutionRunId || undefined;
  } while (executionRunId);

  customers.sort((a, b) => a.line - b.line);
  invalidRows.sort((a, b) => a.line - b.line);
  let counts = summary?.counts;
  if (!counts) {
    counts = emptyCounts();
    for (const customer of customers) tally(counts, customer);
    for (const row of invalidRows) counts[row.reason === 'duplicate' ? 'duplicates' : 'invalid'] += 1;
    counts.rows = customers.length + invalidRows.length;
  }
  const run: RunOptions = { ...defaultRunOptions, ...options! };
  return {
    runId,
    // The run's own clock (the export's) when it finished; otherwise when Temporal started its first run.
    startedAt: summary?.startedAt ?? options?.progress?.startedAt ?? startedAt,
    endedAt: summary?.endedAt ?? endedAt,
    state,
    retryOf: run.retryOf ?? null,
    input: run.input,
    export: summary ? summary.exportPath : null,
    sink: run.sink,
    counts,
    estimatedCostUsd: customers.reduce((sum, customer) => sum + customer.estimatedCostUsd, 0),
    pricesTakenOn,
    madeFrom: 'temporal',
    invalidRows,
    customers,
  };
}
