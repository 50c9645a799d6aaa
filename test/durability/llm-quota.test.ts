// Four workers, each with its own connections to Temporal and to PostgreSQL, under one LLM quota: the LLM
// simulator's request log shows no window over the cap and at least 90% of it used while there is work. A window of
// 20 s instead of a minute keeps the test short; the rule is the same (docs/architecture.md has the 600/min figure).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { newRunId, startRun } from '../../src/client';
import type { CustomerOutcome } from '../../src/outcomes';
import { generateCustomers, startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { defaultRunOptions } from '../../src/workflows/api';
import { createWorker, type SdwWorker } from '../../src/worker';
import { csvOf, scratchDir, seed, testConfig, writeCsv } from '../helpers';

// 120 calls at about 2.9 a second: under a minute. The cap only stops a run that hangs.
jest.setTimeout(4 * 60_000);

const quota = { calls: 60, windowMs: 20_000 };

/** The most requests in any closed window of `windowMs` (a window from each request's time onwards). */
function busiestWindow(times: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! - times[i]! <= windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

test('four workers under one quota of 60 calls per 20 s: no window over 60, at least 90% of the quota used, 429s still honoured', async () => {
  const dir = scratchDir();
  const users = seed();
  const ids = Array.from({ length: 120 }, (_, i) => users.length + 1 + i);
  const bankApi = await startBankApi({ seed: [...users, ...generateCustomers(120, users.length + 1)] });
  // One request in twenty refused with 429 and Retry-After: 1 s; each such attempt took a slot, and so counts.
  const llm = await startLlm({ faults: { rateLimitRate: 0.05, retryAfterSeconds: 1 } });
  const config = testConfig({
    apiUrl: bankApi.url,
    llm: { baseURL: llm.baseURL, apiKey: 'sk-test', model: 'gpt-4o-mini' },
    databaseUrl: process.env.SDW_TEST_DATABASE_URL!,
    llmQuota: quota,
  });
  const connections: NativeConnection[] = [];
  const workers: SdwWorker[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const running: Promise<void>[] = [];
  const client = new Client({ connection: await Connection.connect(config.temporal.connection) });
  try {
    for (let i = 0; i < 4; i++) {
      const connection = await NativeConnection.connect(config.temporal.connection);
      connections.push(connection);
      const worker = await createWorker(config, {
        connection,
        workflowBundle: { codePath: process.env.SDW_TEST_WORKFLOW_BUNDLE! },
      });
      workers.push(worker);
      running.push(worker.run(stopped));
    }
    const runId = newRunId();
    const handle = await startRun(client, config.temporal.taskQueue, runId, {
      ...defaultRunOptions,
      input: writeCsv(dir, csvOf(ids)),
      output: path.join(dir, 'SDW2023_final.json'),
      apiUrl: bankApi.url,
      // Twenty customers waiting for a slot 350 ms apart: a queue of 7 s, inside the 10 s a call waits for its slot.
      concurrency: 20,
      batchSize: 5,
    });
    const summary = await handle.result();
    // Every message from the LLM: no call ran out of attempts waiting for a slot or after a 429. When one did, the
    // failure shows why (the write step's last error, from the report).
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as { customers: CustomerOutcome[] };
    const templatedBecause = report.customers
      .filter((customer) => customer.messageSource === 'template')
      .map(({ id, attempts, error, stepErrors }) => ({
        id,
        attempts: attempts.write,
        error,
        writeError: stepErrors.write,
      }));
    expect({ counts: summary.counts, templatedBecause }).toMatchObject({
      counts: { rows: 120, loaded: 120, failed: 0, templated: 0 },
      templatedBecause: [],
    });

    const times = llm.requests.map((r) => Date.parse(r.at)).sort((a, b) => a - b);
    expect(llm.requests.filter((r) => r.status === 200)).toHaveLength(120);
    const most = busiestWindow(times, quota.windowMs);
    const busySeconds = (times.at(-1)! - times[0]!) / 1000;
    const used = (times.length - 1) / busySeconds / (quota.calls / (quota.windowMs / 1000));
    console.log(
      `LLM quota of ${quota.calls} per ${quota.windowMs / 1000} s over 4 workers: ${times.length} requests ` +
        `(${times.length - 120} answered 429) in ${busySeconds.toFixed(1)} s, busiest window ${most}, ` +
        `${(used * 100).toFixed(1)}% of the quota used`,
    );
    expect(most).toBeLessThanOrEqual(quota.calls);
    expect(used).toBeGreaterThanOrEqual(0.9);
  } finally {
    stop();
    await Promise.all(running);
    for (const connection of connections) await connection.close();
    await client.connection.close();
    await bankApi.close();
    await llm.close();
  }
});
