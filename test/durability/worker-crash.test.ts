import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { newRunId, startRun } from '../../src/client';
import type { Customer } from '../../src/customer';
import type { CustomerOutcome } from '../../src/outcomes';
import { defaultRunOptions } from '../../src/workflows/api';
import { generateCustomers, startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { startLlm, type LlmSimulator } from '../../src/simulators/llm';
import { startWorkerProcess } from '../../src/bench/processes';
import { csvOf, scratchDir, seed, writeCsv, scratchFolderEnv } from '../helpers';

const customers = 300;
// Two worker processes start here, each bundling the workflows as it starts, then 300 customers run: on a busy
// machine that takes minutes. The cap only stops a run that hangs.
jest.setTimeout(10 * 60_000);

describe('a worker killed mid-run', () => {
  let bankApi: BankApiSimulator;
  let llm: LlmSimulator;
  let client: Client;
  beforeAll(async () => {
    const users = seed();
    bankApi = await startBankApi({
      seed: [...users, ...generateCustomers(customers, users.length + 1)],
      faults: { latencyMs: 5 },
    });
    // Every reply worded differently, as a live model's: a message asked for twice would show as a second news item.
    llm = await startLlm({ faults: { latencyMs: 20, uniqueReplies: true } });
    client = new Client({ connection: await Connection.connect({ address: process.env.SDW_TEST_TEMPORAL_ADDRESS }) });
  });
  afterAll(async () => {
    await client.connection.close();
    await bankApi.close();
    await llm.close();
  });

  test('with kill -9 at a random moment, a new worker finishes the run: every customer exported and loaded exactly once, its message asked for once', async () => {
    const dataDir = scratchDir();
    const taskQueue = `crash-${randomUUID()}`;
    const env = {
      TEMPORAL_ADDRESS: process.env.SDW_TEST_TEMPORAL_ADDRESS!,
      SDW_TASK_QUEUE: taskQueue,
      SDW_DATA_DIR: dataDir,
      ...scratchFolderEnv(),
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-crash-test',
    };
    const ids = Array.from({ length: customers }, (_, i) => i + 2); // user 1 cannot be updated
    const newsBefore = new Map(ids.map((id) => [id, bankApi.users.get(id)!.news!.length]));
    const runId = newRunId();
    const output = path.join(dataDir, 'SDW2023_final.json');
    const first = await startWorkerProcess(env);
    const handle = await startRun(client, taskQueue, runId, {
      ...defaultRunOptions,
      input: writeCsv(dataDir, csvOf(ids)),
      output,
      apiUrl: bankApi.url,
      pageSize: 100,
    });
    // Somewhere between the first loads and the middle of the run.
    const killAfter = 10 + Math.floor(Math.random() * 100);
    while (bankApi.requests.PUT < killAfter) await new Promise((resolve) => setTimeout(resolve, 20));
    first.process.kill('SIGKILL');
    await new Promise((resolve) => first.process.once('exit', resolve));
    const putsAtKill = bankApi.requests.PUT;
    expect(putsAtKill).toBeLessThan(customers);

    const second = await startWorkerProcess(env);
    try {
      const summary = await handle.result();
      expect(summary.counts).toMatchObject({ rows: customers, loaded: customers, failed: 0, skipped: 0 });
      const exported = JSON.parse(readFileSync(output, 'utf8')) as Customer[];
      expect(exported.map((u) => u.id)).toEqual(ids);
      const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as { customers: CustomerOutcome[] };
      for (const c of report.customers) {
        const news = bankApi.users.get(c.id)!.news!;
        expect(news.slice(newsBefore.get(c.id))).toEqual([expect.objectContaining({ description: c.message })]);
      }
      // Only the calls in flight when the worker died (at most one per lane) were asked again.
      const answered = llm.requests.filter((r) => r.status === 200).length;
      expect(answered).toBeGreaterThanOrEqual(customers);
      expect(answered - customers).toBeLessThanOrEqual(defaultRunOptions.concurrency);
    } finally {
      await second.stop();
    }
  });
});
