// The one place that is a Temporal client: connect, start runs, follow them, and read a run's options back.
import { randomBytes } from 'node:crypto';
import {
  Client,
  Connection,
  WorkflowIdReusePolicy,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { LoadedDataConverter, Payload } from '@temporalio/common';
import { dataConverterFor } from './codec';
import { loadTelemetryConfig, type Config } from './config';
import { startTracing } from './telemetry/tracing';
import {
  progressQuery,
  resolveRunOptions,
  searchAttributes,
  type EtlRunInput,
  type Progress,
  type ResolvedRunOptions,
  type RunOptions,
  type RunSummary,
} from './workflows/api';
import type { etlRun } from './workflows';

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect({ ...config.temporal.connection, connectTimeout: '5 seconds' });
  // With OTEL_EXPORTER_OTLP_ENDPOINT set, a run's trace starts here, at the client that starts it.
  const tracing = startTracing(loadTelemetryConfig());
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config.encryption),
    interceptors: tracing ? { workflow: [tracing.clientInterceptor] } : undefined,
  });
}

/** A run id that sorts by start time and reads well in the Web UI: sdw-etl-20261125-164512-a1b2. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `sdw-etl-${stamp}-${randomBytes(2).toString('hex')}`;
}

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
    typedSearchAttributes: [
      { key: searchAttributes.runId, value: runId },
      ...(options.retryOf ? [{ key: searchAttributes.retryOf, value: options.retryOf }] : []),
    ],
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
export async function decodePayload<T>(
  converter: LoadedDataConverter,
  payloads: { payloads?: Payload[] | null } | null | undefined,
): Promise<T> {
  let decoded = payloads?.payloads ?? [];
  for (const codec of [...converter.payloadCodecs].reverse()) decoded = await codec.decode(decoded);
  if (decoded[0] === undefined) throw new Error('A history event holds no value where one was expected.');
  return converter.payloadConverter.fromPayload<T>(decoded[0]);
}

/** The input of the latest run of a run's chain, read back from its history: its options, and its progress so far. */
export async function latestRunInput(handle: WorkflowHandle<typeof etlRun>): Promise<EtlRunInput> {
  const history = await handle.fetchHistory();
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input;
  if (!input) throw new Error(`Run ${handle.workflowId} has no input in its history.`);
  return decodePayload<EtlRunInput>(handle.client.options.loadedDataConverter, input);
}

/** The options a run was started with. */
export async function runOptionsOf(handle: WorkflowHandle<typeof etlRun>): Promise<ResolvedRunOptions> {
  return resolveRunOptions(await latestRunInput(handle));
}
