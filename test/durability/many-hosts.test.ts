// Two workers that share no disk, as on two hosts, and one PostgreSQL record store: the export and the report of a
// run account for every customer whichever worker ran it, even with one worker killed mid-run.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { newRunId, startRun } from '../../src/client';
import type { Customer } from '../../src/customer';
import type { RunReport } from '../../src/report';
import { generateCustomers, startBankApi } from '../../src/simulators/bank-api';
import { startWorkerProcess } from '../../src/bench/processes';
import { defaultRunOptions, progressQuery } from '../../src/workflows/api';
import { csvOf, scratchDir, seed, writeCsv, scratchFolderEnv } from '../helpers';

// Two worker processes start here, each bundling the workflows as it starts: on a busy machine that takes minutes.
jest.setTimeout(10 * 60_000);

test('two "hosts" with their own data folders share one PostgreSQL store: loaded 300, exported and reported 300', async () => {
  const dir = scratchDir();
  // 50 ms a request and 5 customers in flight: the run cannot be over before the kill below.
  const bankApi = await startBankApi({ seed: [...seed(), ...generateCustomers(300, 61)], faults: { latencyMs: 50 } });
  const connection = await Connection.connect({ address: process.env.SDW_TEST_TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  const taskQueue = `hosts-${randomUUID()}`;
  const host = (name: string): Record<string, string> => ({
    TEMPORAL_ADDRESS: process.env.SDW_TEST_TEMPORAL_ADDRESS!,
    SDW_TASK_QUEUE: taskQueue,
    SDW_DATA_DIR: path.join(dir, name),
    ...scratchFolderEnv(),
    SDW_DATABASE_URL: process.env.SDW_TEST_DATABASE_URL!,
  });
  const [first, second] = [await startWorkerProcess(host('host-a')), await startWorkerProcess(host('host-b'))];
  try {
    const ids = Array.from({ length: 300 }, (_, i) => 61 + i);
    const runId = newRunId();
    const output = path.join(dir, 'SDW2023_final.json');
    const handle = await startRun(client, taskQueue, runId, {
      ...defaultRunOptions,
      input: writeCsv(dir, csvOf(ids)),
      output,
      apiUrl: bankApi.url,
      concurrency: 5,
      batchSize: 5,
    });
    // The cap only stops a broken run from hanging the test.
    for (let i = 0; i < 3000; i++) {
      const progress = await handle.query(progressQuery).catch(() => undefined);
      if (progress && progress.counts.loaded >= 60) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    first.process.kill('SIGKILL');
    const summary = await handle.result();
    expect(summary.counts).toMatchObject({ rows: 300, loaded: 300, failed: 0, skipped: 0 });
    const exported = JSON.parse(readFileSync(output, 'utf8')) as Customer[];
    expect(exported.map((u) => u.id)).toEqual(ids);
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as RunReport;
    expect(report.customers.filter((c) => c.status === 'loaded')).toHaveLength(300);
    for (const id of ids) expect(bankApi.users.get(id)!.news).toHaveLength(1);
  } finally {
    await first.stop();
    await second.stop();
    await connection.close();
    await bankApi.close();
  }
});
