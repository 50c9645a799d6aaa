// Checks that the Temporal namespace, search attributes and workers sdw-etl needs are there, so a misconfigured
// cluster is one sentence naming what is missing and the command that fixes it, not a run that hangs.
import { temporal } from '@temporalio/proto';
import type { Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { ConfigError, type Config } from './config';
import { searchAttributes } from './workflows/api';

type Services = Pick<Connection | NativeConnection, 'workflowService' | 'operatorService'>;

/** gRPC status codes the checks tell apart. */
const grpcNotFound = 5;
const grpcPermissionDenied = 7;
const grpcUnimplemented = 12;
const codeOf = (err: unknown): number | undefined => (err as { code?: unknown }).code as number | undefined;

/** How long a run waits for a worker's first poll (a worker started a moment ago) before saying there is none. */
const workerWaitMs = 5_000;

/** The namespace exists and holds every search attribute sdw-etl tags runs and batches with. */
export async function checkNamespace(services: Services, config: Config): Promise<void> {
  const { namespace, connection } = config.temporal;
  try {
    await services.workflowService.describeNamespace({ namespace });
  } catch (err) {
    if (codeOf(err) !== grpcNotFound) throw err;
    throw new ConfigError(
      `The Temporal namespace ${namespace} does not exist at ${connection.address}: create it with temporal operator namespace create -n ${namespace}.`,
    );
  }
  let known: Set<string>;
  try {
    const listed = await services.operatorService.listSearchAttributes({ namespace });
    known = new Set(Object.keys(listed.customAttributes ?? {}));
  } catch (err) {
    // Some servers (Temporal Cloud) do not serve the operator API: the attributes are checked when a run starts.
    if (codeOf(err) === grpcUnimplemented || codeOf(err) === grpcPermissionDenied) return;
    throw err;
  }
  const missing = Object.values(searchAttributes)
    .map((key) => key.name)
    .filter((name) => !known.has(name));
  if (missing.length > 0) {
    throw new ConfigError(
      `The Temporal namespace ${namespace} lacks the search attribute${missing.length === 1 ? '' : 's'} ${missing.join(', ')}: register them with TEMPORAL_ADDRESS=${connection.address} TEMPORAL_NAMESPACE=${namespace} scripts/register-search-attributes.sh.`,
    );
  }
}

/** The identities of the workers that polled the task queue's workflow tasks lately (see worker-identity.ts). */
export async function pollerIdentities(services: Services, config: Config): Promise<string[]> {
  const { namespace, taskQueue } = config.temporal;
  const described = await services.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (described.pollers ?? []).map((poller) => poller.identity ?? '');
}

/** Whether a worker polls the task queue, waiting a few seconds for one that is just starting. */
export async function workerPolls(services: Services, config: Config): Promise<boolean> {
  const deadline = Date.now() + workerWaitMs;
  for (;;) {
    if ((await pollerIdentities(services, config)).length > 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The sentence for a task queue no worker polls. */
export const noWorkerMessage = (config: Config): string =>
  `No worker polls the task queue ${config.temporal.taskQueue} in namespace ${config.temporal.namespace}: start one with npx sdw-etl worker (same TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and SDW_TASK_QUEUE).`;
