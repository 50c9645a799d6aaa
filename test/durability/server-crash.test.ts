import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { newRunId, startRun } from '../../src/client';
import type { Customer } from '../../src/customer';
import type { CustomerOutcome } from '../../src/outcomes';
import { defaultRunOptions } from '../../src/workflows/api';
import { generateCustomers, startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { startDevServer, startWorkerProcess, type WorkerProcess } from '../../src/bench/processes';
import { csvOf, downUrl, scratchDir, seed, writeCsv, scratchFolderEnv } from '../helpers';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
// A worker process (bundling the workflows as it starts), two server starts and 200 customers: on a busy machine
// that takes minutes. The cap only stops a run that hangs.
jest.setTimeout(10 * 60_000);
/** How long the server stays down: long enough that every workflow task in flight times out. */
const serverDownMs = 15_000;

test('a Temporal server killed for 15 s mid-run and started again on the same database finishes the run, each customer loaded once with a message asked for once', async () => {
  const dir = scratchDir();
  const port = Number(new URL(await downUrl()).port);
  const address = `127.0.0.1:${port}`;
  const dbFile = path.join(dir, 'temporal.db');
  let server = await startDevServer(dbFile, port);
  const users = seed();
  const bankApi = await startBankApi({
    seed: [...users, ...generateCustomers(200, users.length + 1)],
    faults: { latencyMs: 5 },
  });
  // Every reply worded differently, as a live model's: a message asked for twice would show as a second news item.
  const llm = await startLlm({ faults: { latencyMs: 20, uniqueReplies: true } });
  let client: Client | undefined;
  let worker: WorkerProcess | undefined;
  try {
    const taskQueue = `server-crash-${randomUUID()}`;
    const env = {
      TEMPORAL_ADDRESS: address,
      SDW_TASK_QUEUE: taskQueue,
      SDW_DATA_DIR: dir,
      ...scratchFolderEnv(),
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-x',
    };
    worker = await startWorkerProcess(env);
    client = new Client({ connection: await Connection.connect({ address }) });
    const ids = Array.from({ length: 200 }, (_, i) => i + 2);
    const newsBefore = new Map(ids.map((id) => [id, bankApi.users.get(id)!.news!.length]));
    const output = path.join(dir, 'SDW2023_final.json');
    const handle = await startRun(client, taskQueue, newRunId(), {
      ...defaultRunOptions,
      input: writeCsv(dir, csvOf(ids)),
      output,
      apiUrl: bankApi.url,
      pageSize: 100,
    });
    while (bankApi.requests.PUT < 30) await sleep(20);
    server.process.kill('SIGKILL');
    await new Promise((resolve) => server.process.once('exit', resolve));
    const putsWhileDown = bankApi.requests.PUT;
    await sleep(serverDownMs);
    server = await startDevServer(dbFile, port);

    const summary = await handle.result();
    expect(putsWhileDown).toBeLessThan(ids.length);
    expect(summary.counts).toMatchObject({ rows: 200, loaded: 200, failed: 0, skipped: 0 });
    expect((JSON.parse(readFileSync(output, 'utf8')) as Customer[]).map((u) => u.id)).toEqual(ids);
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as { customers: CustomerOutcome[] };
    for (const c of report.customers) {
      const news = bankApi.users.get(c.id)!.news!;
      expect(news.slice(newsBefore.get(c.id))).toEqual([expect.objectContaining({ description: c.message })]);
    }
    // The worker kept running through the outage: no message was asked for twice.
    expect(llm.requests.filter((r) => r.status === 200)).toHaveLength(ids.length);
  } finally {
    await worker?.stop();
    await client?.connection.close();
    await server.stop();
    await bankApi.close();
    await llm.close();
  }
});
