// A misconfigured cluster, as an operator meets it: each problem is one sentence naming it and the command that fixes it.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { csvOf, scratchDir, sdwEtl, writeCsv, createBareNamespace, scratchFolderEnv } from '../helpers';

describe('a misconfigured Temporal cluster', () => {
  const address = process.env.SDW_TEST_TEMPORAL_ADDRESS!;
  const dir = scratchDir();
  const input = writeCsv(dir, csvOf([2]), 'one.csv');
  const env = (more: Record<string, string>): Record<string, string> => ({
    TEMPORAL_ADDRESS: address,
    ...scratchFolderEnv(),
    ...more,
  });

  test('a namespace that does not exist is named with the command that creates it', async () => {
    const ran = await sdwEtl(['run', '--input', input], env({ TEMPORAL_NAMESPACE: 'no-such-namespace' }), dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([
      1,
      `sdw-etl: The Temporal namespace no-such-namespace does not exist at ${address}: create it with temporal operator namespace create -n no-such-namespace.`,
    ]);
  });

  test('a namespace without sdw-etl’s search attributes is refused by run and by the worker, naming them', async () => {
    const namespace = createBareNamespace('bare');
    const sentence = `sdw-etl: The Temporal namespace ${namespace} lacks the search attributes SdwRunId, SdwRetryOf, SdwCustomerIds, SdwOutcomes, SdwCustomerSources: register them with TEMPORAL_ADDRESS=${address} TEMPORAL_NAMESPACE=${namespace} scripts/register-search-attributes.sh.`;
    const ran = await sdwEtl(['run', '--input', input], env({ TEMPORAL_NAMESPACE: namespace }), dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([1, sentence]);
    const worker = await sdwEtl(['worker'], env({ TEMPORAL_NAMESPACE: namespace }), dir);
    expect([worker.code, worker.stderr.trim()]).toEqual([1, sentence]);
  });

  test('a task queue no worker polls: run refuses to start; a detached run starts and says it waits', async () => {
    const taskQueue = `nobody-${randomUUID()}`;
    const more = env({ SDW_TASK_QUEUE: taskQueue });
    const noWorker = `No worker polls the task queue ${taskQueue} in namespace default: start one with npx sdw-etl worker (same TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and SDW_TASK_QUEUE).`;
    const ran = await sdwEtl(['run', '--input', input, '--id', `unpolled-${taskQueue}`], more, dir);
    expect([ran.code, ran.stderr.trim()]).toEqual([1, `sdw-etl: ${noWorker} The run was not started.`]);

    const runId = `detached-${taskQueue}`;
    const detached = await sdwEtl(['run', '--input', input, '--id', runId, '--detach'], more, dir);
    expect([detached.code, detached.stdout.trim().split('\n').at(-1), detached.stderr.trim()]).toEqual([
      0,
      runId,
      `sdw-etl: ${noWorker} The run waits for one.`,
    ]);
    const connection = await Connection.connect({ address });
    try {
      const handle = new Client({ connection }).workflow.getHandle(runId);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.terminate('test over');
    } finally {
      await connection.close();
    }
  });
});
