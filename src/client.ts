// The one place that is a Temporal client: start runs, follow them, query them.
import { randomBytes } from 'node:crypto';
import {
  Client,
  Connection,
  WorkflowIdReusePolicy,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { dataConverterFor, EncryptionCodec } from './codec';
import type { Config } from './config';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  defaultRunOptions,
  progressQuery,
  searchAttributes,
  type EtlRunInput,
  type Progress,
  type RunOptions,
  type RunSummary,
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

/** The options a run was started with, read back from its history (the latest run of its chain). */
export async function runOptionsOf(handle: WorkflowHandle<typeof etlRun>, config: Config): Promise<RunOptions> {
  const history = await handle.fetchHistory();
  const raw = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!raw) throw new Error(`Run ${handle.workflowId} has no input in its history.`);
  // History comes back as stored: decrypt it first when encryption is on.
  const [payload] = config.encryption ? await new EncryptionCodec(config.encryption).decode([raw]) : [raw];
  const { progress: _progress, ...options } = defaultPayloadConverter.fromPayload<EtlRunInput>(payload!);
  return { ...defaultRunOptions, ...options };
}
