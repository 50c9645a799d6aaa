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
  customerWorkflowId,
  defaultRunOptions,
  emptyCounts,
  newOutcome,
  progressQuery,
  searchAttributes,
  tally,
  type BatchOutcome,
  type CustomerOutcome,
  type CustomerRow,
  type EtlRunInput,
  type InvalidRow,
  type PersonalizeBatchInput,
  type PersonalizeCustomerInput,
  type Progress,
  type RunOptions,
  type RunSummary,
  type UserIdPage,
} from './shared';
import type { etlRun, personalizeBatch, personalizeCustomer } from './workflows';

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
    /** The customers of each child workflow started: one in a customer's workflow, many in a batch. */
    const started = new Map<string, CustomerRow[]>();
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
        const input = await decodePayload<PersonalizeCustomerInput | PersonalizeBatchInput>(
          converter,
          event.startChildWorkflowExecutionInitiatedEventAttributes.input,
        );
        started.set(eventId, 'customers' in input ? input.customers : [{ id: input.id, line: input.line }]);
      } else if (event.startChildWorkflowExecutionFailedEventAttributes) {
        // A customer's workflow id was taken: the id was already on an earlier page.
        const rows = started.get(String(event.startChildWorkflowExecutionFailedEventAttributes.initiatedEventId));
        for (const row of rows ?? []) invalidRows.push({ line: row.line, value: String(row.id), reason: 'duplicate' });
      } else if (event.childWorkflowExecutionCompletedEventAttributes) {
        const { result, workflowType } = event.childWorkflowExecutionCompletedEventAttributes;
        if (workflowType?.name === 'personalizeBatch') {
          customers.push(...(await decodePayload<BatchOutcome>(converter, result)).outcomes.map(reported));
        } else customers.push(reported(await decodePayload<CustomerOutcome>(converter, result)));
      } else if (event.workflowExecutionCompletedEventAttributes) {
        const { result } = event.workflowExecutionCompletedEventAttributes;
        summary = await decodePayload<RunSummary>(converter, result);
      } else {
        // A child workflow that ended without outcomes: a bug or an operator's hand, not the customers' fate.
        const ended =
          event.childWorkflowExecutionFailedEventAttributes ??
          event.childWorkflowExecutionTerminatedEventAttributes ??
          event.childWorkflowExecutionCanceledEventAttributes ??
          event.childWorkflowExecutionTimedOutEventAttributes;
        const rows = ended ? started.get(String(ended.initiatedEventId)) : undefined;
        if (!rows) continue;
        const failure = event.childWorkflowExecutionFailedEventAttributes?.failure;
        const error = await decodeOptionalFailureToOptionalError(converter, failure);
        const message = error?.message ?? 'The customer workflow was terminated, cancelled or timed out.';
        for (const row of rows)
          customers.push(reported({ ...newOutcome(row.id, row.line), error: { reason: 'workflow_failed', message } }));
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

/**
 * One customer's outcome in a run, and the workflow that holds it: the batch whose ids name the customer (found
 * through the SdwCustomerIds search attribute), or the customer's own workflow in runs made before batches.
 * Waits for the customer while it is still in flight; undefined when the run has no such customer.
 */
export async function customerOutcome(
  client: Client,
  runId: string,
  id: number,
): Promise<{ outcome: CustomerOutcome; workflowId: string } | undefined> {
  const query = `${searchAttributes.runId.name} = '${runId}' AND ${searchAttributes.customerIds.name} = '${id}'`;
  for await (const batch of client.workflow.list({ query })) {
    const { outcomes } = await client.workflow.getHandle<typeof personalizeBatch>(batch.workflowId).result();
    const outcome = outcomes.find((o) => o.id === id);
    if (outcome) return { outcome, workflowId: batch.workflowId };
  }
  const workflowId = customerWorkflowId(runId, id);
  try {
    return { outcome: await client.workflow.getHandle<typeof personalizeCustomer>(workflowId).result(), workflowId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
