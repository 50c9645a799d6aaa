import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { newRunId, startRun } from '../../src/client';
import type { CustomerOutcome } from '../../src/outcomes';
import { estimateCostUsd } from '../../src/pricing';
import { defaultRunOptions } from '../../src/workflows/api';
import { llmBatchWorkflowId, pollsPerRun } from '../../src/workflows/llm-batch';
import { generateCustomers, startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { startDevServer, startWorkerProcess, type WorkerProcess } from '../../src/bench/processes';
import { csvOf, downUrl, scratchDir, seed, writeCsv, scratchFolderEnv } from '../helpers';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
// A batch that takes 2 minutes, two worker processes (each bundling the workflows), two server starts and 1,000
// customers loaded: several minutes on a busy machine. The cap only stops a run that hangs.
jest.setTimeout(15 * 60_000);
const customers = 1000;
const batchDurationMs = 2 * 60_000;
/** Events of the llmBatch workflow's history: its start and submission, then per poll a timer, an activity and tasks. */
const eventsAtStart = 20;
const eventsPerPoll = 12;

test('a 1,000-customer run in batch mode whose batch takes 2 minutes survives its worker killed and its server restarted while it waits: every customer loaded once from the batch, at the batch price', async () => {
  const dir = scratchDir();
  const port = Number(new URL(await downUrl()).port);
  const address = `127.0.0.1:${port}`;
  const dbFile = path.join(dir, 'temporal.db');
  let server = await startDevServer(dbFile, port);
  const users = seed();
  const bankApi = await startBankApi({ seed: [...users, ...generateCustomers(customers + 10, users.length + 1)] });
  // Every reply worded differently, as a live model's: a message loaded twice would show as a second news item.
  const llm = await startLlm({ faults: { uniqueReplies: true, batchDurationMs } });
  let client: Client | undefined;
  const workers: WorkerProcess[] = [];
  try {
    const taskQueue = `llm-batch-${randomUUID()}`;
    const env = {
      TEMPORAL_ADDRESS: address,
      SDW_TASK_QUEUE: taskQueue,
      SDW_DATA_DIR: dir,
      ...scratchFolderEnv(),
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-batch-test',
    };
    workers.push(await startWorkerProcess(env));
    client = new Client({ connection: await Connection.connect({ address }) });
    const ids = Array.from({ length: customers }, (_, i) => i + 2); // user 1 cannot be updated
    const newsBefore = new Map(ids.map((id) => [id, bankApi.users.get(id)!.news!.length]));
    const runId = newRunId();
    const handle = await startRun(client, taskQueue, runId, {
      ...defaultRunOptions,
      input: writeCsv(dir, csvOf(ids)),
      output: path.join(dir, 'SDW2023_final.json'),
      apiUrl: bankApi.url,
      llmMode: 'batch',
    });

    // While the batch runs: the worker is killed, then the server, which comes back on the same database.
    while (llm.batches.batches.size === 0) await sleep(50);
    const [batchId] = [...llm.batches.batches.keys()];
    await sleep(20_000);
    workers[0]!.process.kill('SIGKILL');
    await new Promise((resolve) => workers[0]!.process.once('exit', resolve));
    server.process.kill('SIGKILL');
    await new Promise((resolve) => server.process.once('exit', resolve));
    await sleep(10_000);
    server = await startDevServer(dbFile, port);
    workers.push(await startWorkerProcess(env));
    expect(bankApi.requests.PUT).toBe(0);

    const summary = await handle.result();
    expect(summary.counts).toMatchObject({ rows: customers, loaded: customers, failed: 0, skipped: 0, templated: 0 });
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as { customers: CustomerOutcome[] };
    for (const c of report.customers) {
      const news = bankApi.users.get(c.id)!.news!;
      expect(news.slice(newsBefore.get(c.id))).toEqual([expect.objectContaining({ description: c.message })]);
      expect(c.tokens.pricing).toBe('batch');
    }
    // One batch made, however often the worker and server went away; no message asked for one by one.
    expect([...llm.batches.batches.keys()]).toEqual([batchId]);
    expect(llm.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
    // The report prices every token at the batch price, half the sync price, and says what that saved.
    const syncCost = report.customers.reduce(
      (sum, c) => sum + estimateCostUsd(c.model, c.tokens.promptTokens, c.tokens.completionTokens),
      0,
    );
    expect(summary.estimatedCostUsd).toBeCloseTo(syncCost / 2, 12);
    expect(summary.batchSavingUsd).toBeCloseTo(syncCost / 2, 12);

    // The waiting workflow's history: a few events per poll, and it continues as new before it grows past a bound.
    const page = [
      { id: ids[0]!, line: 2 },
      { id: ids.at(-1)!, line: customers + 1 },
    ];
    const history = await client.workflow.getHandle(llmBatchWorkflowId(runId, page)).fetchHistory();
    const polls = (history.events ?? []).filter((e) => e.timerStartedEventAttributes).length;
    const events = history.events?.length ?? 0;
    console.log(`llmBatch history: ${events} events, ${polls} polls for a ${batchDurationMs / 1000} s batch`);
    expect(polls).toBeGreaterThanOrEqual(4);
    expect(events).toBeLessThanOrEqual(eventsAtStart + eventsPerPoll * polls);
    expect(eventsAtStart + eventsPerPoll * pollsPerRun).toBeLessThan(1000);
  } finally {
    for (const worker of workers) await worker.stop();
    await client?.connection.close();
    await server.stop();
    await bankApi.close();
    await llm.close();
  }
});
