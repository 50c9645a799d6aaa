import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { newRunId, startRun } from '../../src/client';
import { defaultRunOptions } from '../../src/workflows/api';
import { startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { startWorkerProcess } from '../../src/bench/processes';
import { batchHistories, csvOf, scratchDir, seed, writeCsv, scratchFolderEnv } from '../helpers';

// Slots (60 s + 1 s) / 600 = 102 ms apart.
const llmRpm = 600;
// Two worker processes start here, each bundling the workflows as it starts: on a busy machine that takes minutes.
// The cap only stops a run that hangs.
jest.setTimeout(10 * 60_000);

test('two worker processes share the batches of a run, and their LLM calls together keep to one --llm-rpm quota', async () => {
  const dir = scratchDir();
  const bankApi = await startBankApi({ seed: seed() });
  const llm = await startLlm();
  const client = new Client({
    connection: await Connection.connect({ address: process.env.SDW_TEST_TEMPORAL_ADDRESS }),
  });
  const taskQueue = `workers-${randomUUID()}`;
  const env = {
    TEMPORAL_ADDRESS: process.env.SDW_TEST_TEMPORAL_ADDRESS!,
    SDW_TASK_QUEUE: taskQueue,
    SDW_DATA_DIR: dir,
    SDW_DATABASE_URL: process.env.SDW_TEST_DATABASE_URL!,
    ...scratchFolderEnv(),
    OPENAI_BASE_URL: llm.baseURL,
    OPENAI_API_KEY: 'sk-x',
  };
  const workers = [
    await startWorkerProcess(env, ['--llm-rpm', String(llmRpm)]),
    await startWorkerProcess(env, ['--llm-rpm', String(llmRpm)]),
  ];
  try {
    const ids = Array.from({ length: 48 }, (_, i) => i + 2);
    const runId = newRunId();
    const handle = await startRun(client, taskQueue, runId, {
      ...defaultRunOptions,
      input: writeCsv(dir, csvOf(ids)),
      output: path.join(dir, 'SDW2023_final.json'),
      apiUrl: bankApi.url,
      concurrency: 48,
      batchSize: 3, // sixteen batches: both workers get some
    });
    const summary = await handle.result();
    expect(summary.counts.loaded).toBe(ids.length);

    // Both processes did work: the batches' workflow tasks were completed by two identities.
    const identities = new Set<string>();
    for (const history of await batchHistories(client, runId))
      for (const event of history.events ?? []) {
        const identity = event.workflowTaskCompletedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    expect(identities.size).toBe(2);

    // The two processes drew their slots from one quota, so their 48 calls are spread over 47 spacings at least,
    // less the second a call may be late: a timer never fires early, so only calls closer than the quota allows fail
    // this, however busy the machine.
    const times = llm.requests.map((r) => Date.parse(r.at)).sort((a, b) => a - b);
    expect(times).toHaveLength(ids.length);
    const spacingMs = 61_000 / llmRpm;
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual((ids.length - 1) * spacingMs - 1000);
  } finally {
    for (const worker of workers) await worker.stop();
    await client.connection.close();
    await bankApi.close();
    await llm.close();
  }
});
