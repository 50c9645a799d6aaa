// Two workers that share no disk, as on two hosts, a third place for the CLI, and one PostgreSQL store: the CLI
// streams the CSV into the store, the workers read it from there, and the CLI's host writes the export and the
// report of all 300 customers, even with one worker killed mid-run.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { runHandle } from '../../src/client';
import type { Customer } from '../../src/customer';
import type { RunReport } from '../../src/report';
import { generateCustomers, startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { startWorkerProcess } from '../../src/bench/processes';
import { progressQuery } from '../../src/workflows/api';
import { csvOf, scratchDir, scratchFolderEnv, sdwEtl, seed, writeCsv } from '../helpers';

// Two worker processes start here, each bundling the workflows as it starts: on a busy machine that takes minutes.
jest.setTimeout(10 * 60_000);

test('two "hosts" and the CLI share only PostgreSQL: loaded 300, exported and reported 300 by the CLI\'s host', async () => {
  const dir = scratchDir();
  // 50 ms a request and 5 customers in flight: the run cannot be over before the kill below.
  const bankApi = await startBankApi({ seed: [...seed(), ...generateCustomers(300, 61)], faults: { latencyMs: 50 } });
  const llm = await startLlm({ faults: { uniqueReplies: true } });
  const connection = await Connection.connect({ address: process.env.SDW_TEST_TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  const taskQueue = `hosts-${randomUUID()}`;
  const place = (name: string): Record<string, string> => {
    mkdirSync(path.join(dir, name));
    return {
      TEMPORAL_ADDRESS: process.env.SDW_TEST_TEMPORAL_ADDRESS!,
      SDW_TASK_QUEUE: taskQueue,
      SDW_DATA_DIR: path.join(dir, name, 'data'),
      SDW_DATABASE_URL: process.env.SDW_TEST_DATABASE_URL!,
      ...scratchFolderEnv(),
      SDW_API_URL: bankApi.url,
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-many-hosts',
    };
  };
  const [first, second] = [await startWorkerProcess(place('host-a')), await startWorkerProcess(place('host-b'))];
  const cli = place('cli');
  const cliDir = path.join(dir, 'cli');
  try {
    const ids = Array.from({ length: 300 }, (_, i) => 61 + i);
    const csv = writeCsv(cliDir, csvOf(ids), 'november.csv');
    const detached = await sdwEtl(
      ['run', '--input', csv, '--concurrency', '5', '--batch-size', '5', '--detach'],
      cli,
      cliDir,
    );
    expect(detached.code).toBe(0);
    expect(detached.stderr).toMatch(/Stored 300 rows of .*november\.csv in the shared store/);
    const runId = detached.stdout.trim().split('\n').at(-1)!;
    // The rows are in the store: no one needs the file any more.
    rmSync(csv);
    const handle = runHandle(client, runId);
    // The cap only stops a broken run from hanging the test.
    for (let i = 0; i < 3000; i++) {
      const progress = await handle.query(progressQuery).catch(() => undefined);
      if (progress && progress.counts.loaded >= 60) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    first.process.kill('SIGKILL');
    const summary = await handle.result();
    expect(summary.counts).toMatchObject({ rows: 300, loaded: 300, failed: 0, skipped: 0 });
    expect(summary.campaign).toBe('november');

    const out = path.join(cliDir, 'exports', 'november-final.json');
    const exported = await sdwEtl(['export', runId, '--out', out], cli, cliDir);
    expect(exported.code).toBe(0);
    expect((JSON.parse(readFileSync(out, 'utf8')) as Customer[]).map((u) => u.id)).toEqual(ids);
    const report = JSON.parse(readFileSync(path.join(cliDir, 'exports', `${runId}.report.json`), 'utf8')) as RunReport;
    expect(report.customers.filter((c) => c.status === 'loaded')).toHaveLength(300);
    expect(report.campaign).toBe('november');
    // An LLM that never repeats itself, and one worker killed: still one news item each.
    for (const id of ids) expect(bankApi.users.get(id)!.news).toHaveLength(1);
  } finally {
    await first.stop();
    await second.stop();
    await connection.close();
    await bankApi.close();
    await llm.close();
  }
});
