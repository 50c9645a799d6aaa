// The worker process: the workflows and every activity of sdw-etl on one task queue, bound to this host's clients.
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogEntry,
  type WorkerOptions,
} from '@temporalio/worker';
import { setFlagsFromString } from 'node:v8';
import { createActivities } from './activities';
import { firstTryFailed } from './activities/first-try';
import { createLlmClient } from './activities/llm/client';
import { openLlmQuota, type LlmQuota } from './activities/llm/quota';
import { openRecordStore, type OpenStore } from './activities/store';
import { dataConverterFor } from './codec';
import { customerSchemas } from './customer';
import type { Config } from './config';
import { startRetention } from './retention';
import { checkNamespace } from './temporal-checks';
import { workerIdentity } from './worker-identity';
import { maxConcurrency } from './workflows/api';
import { sdwActivityInterceptors } from './telemetry/activity-interceptors';
import { createWorkerMetrics } from './telemetry/metrics';
import { currentTracing } from './telemetry/tracing';
import { prebuiltBundle, workflowInterceptorModules } from './workflow-bundles';

/**
 * Routes the SDK's log to stderr at WARN and above, for commands whose own output matters (a run's progress,
 * test output). Left out: activity failures and steps failed on a first try, which are retried and which the run's
 * report records.
 */
export function installQuietLogging(): void {
  const write = (entry: LogEntry): void => {
    if (entry.message === 'Activity failed' || entry.message === firstTryFailed) return;
    // eslint-disable-next-line no-console -- this is the log sink itself
    console.error(`${entry.level} ${entry.message}`, entry.meta ?? '');
  };
  try {
    Runtime.install({ logger: new DefaultLogger('WARN', write) });
  } catch {
    // The runtime is already installed in this process.
  }
}

/**
 * Between full collections V8 lets a heap grow to up to four times what survived the last one: at a worker's
 * allocation rate (about 300 KB a customer, nearly all garbage) that held its RSS near 400 MiB. Growing by a quarter
 * brings it to about 290 MiB for about 8% more CPU (docs/benchmarks.md, "What the worker's memory is").
 */
const heapGrowingPercent = 25;

export interface SdwWorker {
  /** Runs until `until` settles (or until shut down), then closes the connection the worker made. */
  run(until?: Promise<unknown>): Promise<void>;
  shutdown(): void;
}

/**
 * A worker for the workflows and every step of a batch of customers (local activities, LLM calls under the
 * fleet's quota when SDW_LLM_RPM is set). Refuses to start, in one sentence, on a namespace that is missing or lacks the search
 * attributes.
 */
export async function createWorker(
  config: Config,
  options: { workflowBundle?: WorkerOptions['workflowBundle']; connection?: NativeConnection } = {},
): Promise<SdwWorker> {
  const connection = options.connection ?? (await NativeConnection.connect(config.temporal.connection));
  const ownsConnection = !options.connection;
  let worker: Worker;
  let store: OpenStore | undefined;
  let llmQuota: LlmQuota | undefined;
  const closeStores = async (): Promise<void> => {
    await store?.close?.();
    await llmQuota?.close();
  };
  try {
    await checkNamespace(connection, config);
    store = await openRecordStore(config);
    llmQuota = await openLlmQuota(config);
    const metrics = createWorkerMetrics(Runtime.instance().metricMeter, config.llm?.model);
    const tracing = currentTracing();
    // The build's bundle, unless tracing adds its own workflow interceptors: then the code is bundled at start.
    const workflowBundle = options.workflowBundle ?? (tracing ? undefined : prebuiltBundle(!!config.encryption));
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      // Its build and key fingerprints, for sdw-etl doctor to compare with the client's.
      identity: workerIdentity(config.encryption),
      dataConverter: dataConverterFor(config.encryption, 'worker'),
      ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
      activities: createActivities({
        store,
        apiUrl: config.apiUrl,
        llm: config.llm ? createLlmClient(config.llm) : undefined,
        llmQuota,
        folders: config.folders,
        observeStep: (step, seconds, result) => metrics.stepAttempt(step, seconds, result),
        observeSaved: (runId, records) => metrics.savedOutcomes(runId, records),
      }),
      interceptors: {
        // Outermost first: a step's span is open while sdw-etl's interceptor measures it and names its customer.
        activity: [...(tracing ? [tracing.activityInterceptors] : []), sdwActivityInterceptors(metrics, store)],
        // A prebuilt bundle carries the workflow interceptors itself (bundleWorkflowCode's workflowInterceptorModules).
        ...(workflowBundle
          ? {}
          : { workflowModules: [...(tracing?.workflowModules ?? []), ...workflowInterceptorModules] }),
      },
      ...(tracing ? { sinks: tracing.sinks } : {}),
      // A customer retried after its first try runs its steps as local activities, and each batch's first tries are
      // one activity: as many slots of each as a run's largest concurrency.
      maxConcurrentLocalActivityExecutions: maxConcurrency,
      maxConcurrentActivityTaskExecutions: maxConcurrency,
    });
    // Once the worker is loaded (its start is not slowed by more collections); process-wide, so the workflow
    // thread's heap grows the same way.
    setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
  } catch (err) {
    await closeStores();
    if (ownsConnection) await connection.close();
    throw err;
  }
  const openStore = store;
  return {
    async run(until) {
      // The customer schema is built as the worker starts polling rather than on its first fetch, when the first
      // batches' workflow tasks wait for this thread too.
      setImmediate(customerSchemas);
      const stopRetention =
        config.retentionMs === undefined
          ? undefined
          : startRetention(openStore, config.retentionMs, Runtime.instance().logger);
      try {
        await (until ? worker.runUntil(until) : worker.run());
      } finally {
        stopRetention?.();
        await closeStores();
        if (ownsConnection) await connection.close();
      }
    },
    shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
