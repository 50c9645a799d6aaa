import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogEntry,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities } from './activities';
import { createLlmClient } from './activities/llm';
import { dataConverterFor } from './codec';
import type { Config } from './config';
import { llmTaskQueueFor, maxConcurrency } from './shared';

/**
 * Routes the SDK's log to stderr at WARN and above, for commands whose own output matters (a run's progress,
 * test output). Left out: the LLM worker's expected "no workflows registered", and activity failures, which
 * Temporal retries and the run's report records.
 */
export function installQuietLogging(): void {
  const write = (entry: LogEntry): void => {
    if (entry.message.startsWith('No workflows registered') || entry.message === 'Activity failed') return;
    // eslint-disable-next-line no-console -- this is the log sink itself
    console.error(`${entry.level} ${entry.message}`, entry.meta ?? '');
  };
  try {
    Runtime.install({ logger: new DefaultLogger('WARN', write) });
  } catch {
    // The runtime is already installed in this process.
  }
}

export interface Workers {
  /** Runs both workers until `until` settles (or forever), then shuts them down. */
  run(until?: Promise<unknown>): Promise<void>;
  shutdown(): void;
}

/**
 * The worker process: one Temporal worker for the workflows and every step of a batch of customers (local
 * activities, LLM calls paced per process by SDW_LLM_RPS), and one on the LLM task queue, which serves the
 * per-customer workflows of runs started before customer batches (capped server-side there).
 */
export async function createWorkers(
  config: Config,
  options: { workflowBundle?: WorkerOptions['workflowBundle']; connection?: NativeConnection } = {},
): Promise<Workers> {
  const connection = options.connection ?? (await NativeConnection.connect(config.temporal.connection));
  const activities = createActivities({
    dataDir: config.dataDir,
    apiUrl: config.apiUrl,
    llm: config.llm ? createLlmClient(config.llm) : undefined,
    llmRatePerSecond: config.llmRatePerSecond,
  });
  const common = {
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config.encryption),
  };
  const main = await Worker.create({
    ...common,
    taskQueue: config.temporal.taskQueue,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('./workflows') }),
    activities,
    // Every customer in flight runs its steps as local activities: as many slots as a run's largest concurrency.
    maxConcurrentLocalActivityExecutions: maxConcurrency,
  });
  const llm = await Worker.create({
    ...common,
    taskQueue: llmTaskQueueFor(config.temporal.taskQueue),
    activities: { writeMessage: activities.writeMessage },
    maxTaskQueueActivitiesPerSecond: config.llmRatePerSecond,
  });
  const ownsConnection = !options.connection;
  return {
    async run(until?: Promise<unknown>) {
      try {
        if (until) await Promise.all([main.runUntil(until), llm.runUntil(until)]);
        else await Promise.all([main.run(), llm.run()]);
      } finally {
        if (ownsConnection) await connection.close();
      }
    },
    shutdown() {
      for (const worker of [main, llm]) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
