import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { newRunId, startRun } from '../../src/client';
import type { Customer } from '../../src/customer';
import { defaultRunOptions, type CustomerOutcome } from '../../src/shared';
import { generateCustomers, startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { searchAttributeFlags } from '../global-setup';
import { csvOf, downUrl, scratchDir, seed, spawnWorker, writeCsv } from '../helpers';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A dev server of this test's own, on a SQLite file, so it can be killed and started again on the same history. */
function startServer(port: number, dbFile: string): ChildProcess {
  return spawn(
    process.env.SDW_TEST_TEMPORAL_CLI!,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--headless',
      '--db-filename',
      dbFile,
      '--log-level',
      'error',
      '--dynamic-config-value',
      'frontend.enableServerVersionCheck=false',
      ...searchAttributeFlags(),
    ],
    { stdio: 'ignore' },
  );
}

async function waitUntilAnswering(address: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1 s' });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      return;
    } catch {
      await sleep(200);
    }
  }
  throw new Error(`no Temporal server answered on ${address}`);
}

test('a Temporal server killed mid-run and started again on the same database finishes the run, each customer loaded once', async () => {
  const dir = scratchDir();
  const port = Number(new URL(await downUrl()).port);
  const address = `127.0.0.1:${port}`;
  const dbFile = path.join(dir, 'temporal.db');
  let server = startServer(port, dbFile);
  const users = seed();
  const bankApi = await startBankApi({
    seed: [...users, ...generateCustomers(200, users.length + 1)],
    faults: { latencyMs: 5 },
  });
  const llm = await startLlm({ faults: { latencyMs: 20 } });
  let client: Client | undefined;
  let worker: Awaited<ReturnType<typeof spawnWorker>> | undefined;
  try {
    await waitUntilAnswering(address);
    const taskQueue = `server-crash-${randomUUID()}`;
    const env = {
      TEMPORAL_ADDRESS: address,
      SDW_TASK_QUEUE: taskQueue,
      SDW_DATA_DIR: dir,
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-x',
    };
    worker = await spawnWorker(env);
    client = new Client({ connection: await Connection.connect({ address }) });
    const ids = Array.from({ length: 200 }, (_, i) => i + 2);
    const output = path.join(dir, 'SDW2023_final.json');
    const handle = await startRun(client, taskQueue, newRunId(), {
      ...defaultRunOptions,
      input: writeCsv(dir, csvOf(ids)),
      output,
      apiUrl: bankApi.url,
      pageSize: 100,
    });
    while (bankApi.requests.PUT < 30) await sleep(20);
    server.kill('SIGKILL');
    await new Promise((resolve) => server.once('exit', resolve));
    const putsWhileDown = bankApi.requests.PUT;
    await sleep(2000);
    server = startServer(port, dbFile);
    await waitUntilAnswering(address);

    const summary = await handle.result();
    expect(putsWhileDown).toBeLessThan(ids.length);
    expect(summary.counts).toMatchObject({ rows: 200, loaded: 200, failed: 0, skipped: 0 });
    expect((JSON.parse(readFileSync(output, 'utf8')) as Customer[]).map((u) => u.id)).toEqual(ids);
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as { customers: CustomerOutcome[] };
    for (const c of report.customers) {
      expect(bankApi.users.get(c.id)!.news.filter((n) => n.description === c.message)).toHaveLength(1);
    }
  } finally {
    if (worker) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await client?.connection.close();
    server.kill('SIGKILL');
    await bankApi.close();
    await llm.close();
  }
});
