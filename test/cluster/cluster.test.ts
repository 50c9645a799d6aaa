// The pipeline on a Temporal cluster of scripts/cluster.sh (four services as processes, PostgreSQL): two worker
// "hosts" with data folders of their own and one PostgreSQL record store, 300 customers with faults on the bank API
// and the LLM; then the history service killed mid-run and started again, the matching service killed, the frontend
// restarted. Each run: every customer accounted for once, one news item each; each recovery time measured and printed.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { newRunId, startRun } from '../../src/client';
import type { Customer } from '../../src/customer';
import type { RunReport } from '../../src/report';
import { generateCustomers, startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { noLlmFaults, startLlm, type LlmSimulator } from '../../src/simulators/llm';
import { sleep, startWorkerProcess, type WorkerProcess } from '../../src/bench/processes';
import { defaultRunOptions, progressQuery, type RunSummary } from '../../src/workflows/api';
import { batchHistories, csvOf, scratchDir, scratchFolderEnv, seed, writeCsv } from '../helpers';
import { clusterEnv, clusterUp, servicePid } from './cluster';

// Two worker processes bundle the workflows as they start, and four runs of 300 go through a cluster whose services
// are killed and started again: on a busy machine that takes minutes. The cap only stops a run that hangs.
jest.setTimeout(10 * 60_000);

const customersPerRun = 300;

let bankApi: BankApiSimulator;
let llm: LlmSimulator;
let client: Client;
let workers: WorkerProcess[] = [];
let dir: string;
const taskQueue = `cluster-${randomUUID()}`;
let nextId = seed().length + 1;

beforeAll(async () => {
  dir = scratchDir();
  const users = seed();
  // 20 ms a request and 10 customers in flight: a run of 300 lasts long enough to kill a service in the middle.
  bankApi = await startBankApi({
    seed: [...users, ...generateCustomers(4 * customersPerRun, users.length + 1)],
    faults: { latencyMs: 20 },
  });
  llm = await startLlm({ faults: { latencyMs: 20 } });
  const address = process.env.SDW_TEST_TEMPORAL_ADDRESS!;
  client = new Client({ connection: await Connection.connect({ address }) });
  const host = (name: string): Record<string, string> => ({
    TEMPORAL_ADDRESS: address,
    SDW_TASK_QUEUE: taskQueue,
    SDW_DATA_DIR: path.join(dir, name),
    ...scratchFolderEnv(),
    SDW_DATABASE_URL: process.env.SDW_TEST_DATABASE_URL!,
    OPENAI_BASE_URL: llm.baseURL,
    OPENAI_API_KEY: 'sk-cluster-test',
  });
  workers = [await startWorkerProcess(host('host-a')), await startWorkerProcess(host('host-b'))];
});

afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await client?.connection.close();
  await bankApi?.close();
  await llm?.close();
});

/** Starts a run of 300 customers not used before; `result` checks what a user would: all loaded, once each. */
async function startRunOf300(): Promise<{ handle: WorkflowHandle; result: () => Promise<RunSummary> }> {
  const ids = Array.from({ length: customersPerRun }, (_, i) => nextId + i);
  nextId += customersPerRun;
  const runId = newRunId();
  const output = path.join(dir, `${runId}.json`);
  const handle = await startRun(client, taskQueue, runId, {
    ...defaultRunOptions,
    input: writeCsv(dir, csvOf(ids), `${runId}.csv`),
    output,
    apiUrl: bankApi.url,
    concurrency: 10,
    batchSize: 10,
  });
  const result = async (): Promise<RunSummary> => {
    const summary = await handle.result();
    expect(summary.counts).toMatchObject({ rows: 300, loaded: 300, failed: 0, skipped: 0 });
    const exported = JSON.parse(readFileSync(output, 'utf8')) as Customer[];
    expect(exported.map((u) => u.id)).toEqual(ids);
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as RunReport;
    expect(report.customers.map((c) => c.id).sort((a, b) => a - b)).toEqual(ids);
    for (const c of report.customers) {
      expect(c.status).toBe('loaded');
      expect(bankApi.users.get(c.id)!.news).toEqual([expect.objectContaining({ description: c.message })]);
    }
    return summary;
  };
  return { handle, result };
}

/** Customers loaded so far as the run reports them, or undefined while the cluster cannot answer. */
const loaded = (handle: WorkflowHandle): Promise<number | undefined> =>
  handle.query(progressQuery).then(
    (p) => p.counts.loaded,
    () => undefined,
  );

async function waitForLoaded(handle: WorkflowHandle, atLeast: number): Promise<number> {
  for (;;) {
    const n = await loaded(handle);
    if (n !== undefined && n >= atLeast) return n;
    await sleep(100);
  }
}

async function waitForExit(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
      const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
      if (state === 'Z') return;
    } catch {
      return;
    }
    await sleep(50);
  }
}

/**
 * Stops a service mid-run (after 60 customers), leaves it down for `downMs`, starts it again with `cluster.sh up`,
 * and gives the seconds from that start until the run reports more customers loaded than before the stop.
 */
async function interrupt(service: string, signal: NodeJS.Signals, downMs: number): Promise<void> {
  const { handle, result } = await startRunOf300();
  const before = await waitForLoaded(handle, 60);
  const pid = servicePid(clusterEnv(), service);
  process.kill(pid, signal);
  await waitForExit(pid);
  await sleep(downMs);
  const restarted = Date.now();
  await clusterUp(clusterEnv());
  const upSeconds = (Date.now() - restarted) / 1000;
  const after = await waitForLoaded(handle, before + 1);
  const recovery = (Date.now() - restarted) / 1000;
  console.log(
    `${service} ${signal === 'SIGKILL' ? 'killed (kill -9)' : 'stopped'} at ${before} of 300 loaded, down ` +
      `${(downMs / 1000).toFixed(0)} s; cluster.sh up took ${upSeconds.toFixed(1)} s; the run reported progress ` +
      `(${after} loaded) ${recovery.toFixed(1)} s after the restart`,
  );
  const summary = await result();
  expect(Date.parse(summary.endedAt)).toBeGreaterThan(restarted);
}

test('two "hosts" run 300 customers on the cluster with faults on the bank API and the LLM: each loaded once', async () => {
  Object.assign(bankApi.faults, { errorRate: 0.1, rateLimitRate: 0.05 });
  Object.assign(llm.faults, { errorRate: 0.05, rateLimitRate: 0.05, badReplyRate: 0.05 });
  try {
    const { handle, result } = await startRunOf300();
    const summary = await result();
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as RunReport;
    // The faults were met and ridden out: some customers needed more than one attempt.
    expect(report.customers.some((c) => c.attempts.fetch > 1 || c.attempts.load > 1)).toBe(true);
    expect(report.customers.some((c) => c.attempts.write > 1)).toBe(true);
    // Both hosts took part: the batches' workflow tasks were completed by two identities.
    const identities = new Set<string>();
    for (const history of await batchHistories(client, handle.workflowId))
      for (const event of history.events ?? []) {
        const identity = event.workflowTaskCompletedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    expect(identities.size).toBe(2);
  } finally {
    Object.assign(bankApi.faults, { errorRate: 0, rateLimitRate: 0 });
    Object.assign(llm.faults, { ...noLlmFaults(), latencyMs: 20 });
  }
});

test('the history service killed (kill -9) mid-run and started again 5 s later: the run finishes, each customer loaded once', async () => {
  await interrupt('history', 'SIGKILL', 5000);
});

test('the matching service killed (kill -9) mid-run and started again: the run finishes, each customer loaded once', async () => {
  await interrupt('matching', 'SIGKILL', 0);
});

test('the frontend restarted mid-run: the workers and the client reconnect, each customer loaded once', async () => {
  await interrupt('frontend', 'SIGTERM', 0);
});
