// A run's report and one customer's outcome, read back from Temporal's history of the run: for any past run, from
// any machine, whether or not its report files are there.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { LoadedDataConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { runInputRows, type CsvCursor, type UserIdPage } from './activities/extract';
import { openRecordStore } from './activities/store';
import { decodePayload } from './client';
import type { Config } from './config';
import {
  emptyCounts,
  newOutcome,
  notProcessed,
  tally,
  tallyInvalid,
  type CustomerOutcome,
  type CustomerRow,
  type InvalidRow,
} from './outcomes';
import { pricesTakenOn } from './pricing';
import { costOf, reported, type ReportedCustomer, type ReportState, type RunReport } from './report';
import {
  resolveRunOptions,
  searchAttributes,
  type BatchOutcome,
  type EtlRunInput,
  type PersonalizeBatchInput,
  type RunSummary,
} from './workflows/api';
import type { personalizeBatch } from './workflows';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** How a run ended, from the last event of its history; running while it has not. */
function stateOf(event: HistoryEvent | undefined): ReportState {
  if (event?.workflowExecutionCompletedEventAttributes) return 'completed';
  if (event?.workflowExecutionCanceledEventAttributes) return 'cancelled';
  if (event?.workflowExecutionFailedEventAttributes) return 'failed';
  if (event?.workflowExecutionTerminatedEventAttributes) return 'terminated';
  if (event?.workflowExecutionTimedOutEventAttributes) return 'timed_out';
  return 'running';
}

function eventDate(event: HistoryEvent): string {
  const seconds = event.eventTime?.seconds ?? 0;
  const whole = typeof seconds === 'number' ? seconds : seconds.toNumber();
  return new Date(whole * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6)).toISOString();
}

/** A failure's message; with encryption on, it sits encrypted in the failure's encoded attributes. */
async function failureMessage(
  converter: LoadedDataConverter,
  failure: temporal.api.failure.v1.IFailure | null | undefined,
): Promise<string | undefined> {
  if (!failure) return undefined;
  if (!failure.encodedAttributes) return failure.message ?? undefined;
  return (await decodePayload<{ message?: string }>(converter, { payloads: [failure.encodedAttributes] })).message;
}

/** A run stopped from outside before its end, which may have left customers it never reached. */
const stoppedEarly = (state: ReportState): boolean =>
  state === 'cancelled' || state === 'terminated' || state === 'timed_out';

/**
 * The customers a stopped run never reached, added as `not_processed` the way its export adds them: those of its last
 * page that no batch took, then the rows after that page (`unread`), read again from the run's input (the CSV, or the
 * shared store) with their invalid rows and repeats set aside. Temporal's history holds no row the run did not read.
 */
async function addNeverReached(
  config: Config,
  run: { runId: string; input: string; inputStored?: boolean; cancelled: boolean },
  lastPage: UserIdPage | undefined,
  unread: { from: CsvCursor | undefined } | undefined,
  customers: ReportedCustomer[],
  invalidRows: InvalidRow[],
): Promise<void> {
  const reached = new Set(customers.map((customer) => customer.id));
  const add = (row: CustomerRow): void => {
    reached.add(row.id);
    customers.push(reported(notProcessed(row.id, row.line, run.cancelled)));
  };
  for (const row of lastPage?.ids ?? []) if (!reached.has(row.id)) add(row);
  if (!unread) return;
  const store = run.inputStored ? await openRecordStore(config) : undefined;
  try {
    if (store?.inputRows && (await store.inputRows.readInputRows(run.runId, 0, 1)).length === 0)
      throw new Error('its input is no longer in the shared store (pruned).');
    if (
      !run.inputStored &&
      !(await access(run.input, constants.R_OK).then(
        () => true,
        () => false,
      ))
    )
      throw new Error(`its input file ${run.input} is gone or cannot be read.`);
    for await (const row of runInputRows(run, store?.inputRows, unread.from)) {
      if ('invalid' in row) invalidRows.push(row.invalid);
      else if (reached.has(row.id)) invalidRows.push({ line: row.line, value: String(row.id), reason: 'duplicate' });
      else add(row);
    }
  } catch (err) {
    throw new Error(
      `Run ${run.runId} stopped before reading all its rows, and the customers it never reached cannot be listed here: ${(err as Error).message}`,
    );
  } finally {
    await store?.close?.();
  }
}

/**
 * A run's report rebuilt from Temporal. It walks the run's continue-as-new chain from the latest run back to the
 * first, one history in memory at a time, and takes the pages each run read, the batches it started and the outcome
 * of each of their customers. A run stopped before its end also lists the customers it never reached, from its input
 * (`config` opens the shared store that holds it, if it is there).
 */
export async function rebuildReport(client: Client, runId: string, config: Config): Promise<RunReport> {
  const converter = client.options.loadedDataConverter;
  const customers: ReportedCustomer[] = [];
  const invalidRows: InvalidRow[] = [];
  let options: EtlRunInput | undefined;
  /** What the latest run of the chain carried in: its bank API outages so far. */
  let latestProgress: EtlRunInput['progress'];
  let startedAt: string | undefined;
  let summary: RunSummary | undefined;
  let state: ReportState | undefined;
  let endedAt: string | null = null;
  let executionRunId: string | undefined; // undefined: the latest run of the chain
  /** The page the latest run read, if it read one: the run may have stopped before every batch of it started. */
  let lastPage: UserIdPage | undefined;
  let latestRun = true;
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
    /** The customers of each batch started, by the event that started it. */
    const started = new Map<string, CustomerRow[]>();
    for (const event of events) {
      const eventId = String(event.eventId);
      if (event.workflowExecutionStartedEventAttributes) {
        const input = await decodePayload<EtlRunInput>(converter, event.workflowExecutionStartedEventAttributes.input);
        if (options === undefined) latestProgress = input.progress;
        options = input; // the first run's, once the walk is done
      } else if (event.activityTaskScheduledEventAttributes) {
        activityTypes.set(eventId, event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
      } else if (event.activityTaskCompletedEventAttributes) {
        const { scheduledEventId, result } = event.activityTaskCompletedEventAttributes;
        if (activityTypes.get(String(scheduledEventId)) === 'readUserIds') {
          const page = await decodePayload<UserIdPage>(converter, result);
          invalidRows.push(...page.invalid);
          if (latestRun) lastPage = page;
        }
      } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
        const child = event.startChildWorkflowExecutionInitiatedEventAttributes;
        // Only batches of customers hold outcomes (batch mode's llmBatch children hold none).
        if (child.workflowType?.name !== 'personalizeBatch') continue;
        const input = await decodePayload<PersonalizeBatchInput>(converter, child.input);
        started.set(eventId, input.customers);
      } else if (event.childWorkflowExecutionCompletedEventAttributes) {
        const { result, initiatedEventId } = event.childWorkflowExecutionCompletedEventAttributes;
        if (!started.has(String(initiatedEventId))) continue;
        customers.push(...(await decodePayload<BatchOutcome>(converter, result)).outcomes.map(reported));
      } else if (event.workflowExecutionCompletedEventAttributes) {
        const { result } = event.workflowExecutionCompletedEventAttributes;
        summary = await decodePayload<RunSummary>(converter, result);
      } else {
        // A batch that ended without outcomes: a bug or an operator's hand, not the customers' fate.
        const ended =
          event.childWorkflowExecutionFailedEventAttributes ??
          event.childWorkflowExecutionTerminatedEventAttributes ??
          event.childWorkflowExecutionCanceledEventAttributes ??
          event.childWorkflowExecutionTimedOutEventAttributes;
        const rows = ended ? started.get(String(ended.initiatedEventId)) : undefined;
        if (!rows) continue;
        const message =
          (await failureMessage(converter, event.childWorkflowExecutionFailedEventAttributes?.failure)) ??
          'The batch workflow was terminated, cancelled or timed out.';
        for (const row of rows)
          customers.push(reported({ ...newOutcome(row.id, row.line), error: { reason: 'workflow_failed', message } }));
      }
    }
    executionRunId = start.continuedExecutionRunId || undefined;
    latestRun = false;
  } while (executionRunId);

  if (stoppedEarly(state)) {
    // Rows after the last page read, or after where the latest run was to start reading when it read none.
    const unread = lastPage ? (lastPage.next ? { from: lastPage.next } : undefined) : { from: latestProgress?.cursor };
    const { input, inputStored } = options!;
    const run = { runId, input, inputStored, cancelled: state === 'cancelled' };
    await addNeverReached(config, run, lastPage, unread, customers, invalidRows);
  }

  customers.sort((a, b) => a.line - b.line);
  invalidRows.sort((a, b) => a.line - b.line);
  let counts = summary?.counts;
  if (!counts) {
    counts = emptyCounts();
    for (const customer of customers) tally(counts, customer);
    for (const row of invalidRows) tallyInvalid(counts, row);
    counts.rows = customers.length + invalidRows.length;
  }
  const run = resolveRunOptions(options!);
  return {
    runId,
    // The run's own clock (the export's) when it finished; otherwise when Temporal started its first run.
    startedAt: summary?.startedAt ?? latestProgress?.startedAt ?? startedAt,
    endedAt: summary?.endedAt ?? endedAt,
    state,
    retryOf: run.retryOf ?? null,
    campaign: run.campaign,
    input: run.input,
    export: summary ? summary.exportPath : null,
    sink: run.sink,
    counts,
    ...costOf(customers),
    pricesTakenOn,
    bankApiOutages: summary?.bankApiOutages ?? latestProgress?.bankApiOutages ?? [],
    madeFrom: 'temporal',
    invalidRows,
    customers,
  };
}

/**
 * One customer's outcome in a run, and the batch workflow that holds it (found through the SdwCustomerIds search
 * attribute). Waits for the customer while its batch is still in flight; undefined when the run has no such customer.
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
  return undefined;
}
