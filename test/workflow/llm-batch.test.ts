// Batch mode (--llm-mode batch) against the LLM simulator's Files and Batches endpoints, through the real `openai`
// client: failed lines and refused replies go sync, an expired batch is submitted again, a failed one twice, a cancel
// cancels the provider's batch.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { newRunId, startRun } from '../../src/client';
import type { Counts, CustomerOutcome } from '../../src/outcomes';
import { reportPathFor } from '../../src/report';
import { rebuildReport } from '../../src/report-from-history';
import { estimateCostUsd } from '../../src/pricing';
import { defaultRunOptions } from '../../src/workflows/api';
import type { LlmBatchView } from '../../src/workflows/llm-batch-api';
import { llmBatchWorkflowId } from '../../src/workflows/llm-batch';
import { cliEnv, csvOf, sdwEtl, startPipeline, writeCsv, type Pipeline } from '../helpers';

// Each batch is polled first after 5 s; the failed-batch case waits for three of them.
jest.setTimeout(180_000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 2); // user 1 cannot be updated
const syncCalls = (p: Pipeline): number => p.llm.requests.filter((r) => r.path === '/v1/chat/completions').length;

let pipeline: Pipeline;
beforeAll(async () => {
  // Every reply worded differently, as a live model's: a customer loaded twice would show as a second news item.
  pipeline = await startPipeline({ customers: 120, llmFaults: { uniqueReplies: true } });
});
afterAll(() => pipeline.close());
beforeEach(() => {
  Object.assign(pipeline.llm.faults, { batchDurationMs: 500, batchLineErrorRate: 0, batchOutcome: 'completed' });
  pipeline.llm.faults.badReplyRate = 0;
  pipeline.llm.requests.length = 0;
  pipeline.llm.batches.batches.clear();
});

/** Each customer's news gained exactly one item since `before`: its message. */
function expectOneNewsItemEach(customers: CustomerOutcome[], before: Map<number, number>): void {
  for (const c of customers) {
    const news = pipeline.bankApi.users.get(c.id)!.news!;
    expect(news.slice(before.get(c.id))).toEqual([expect.objectContaining({ description: c.message })]);
  }
}
const newsCounts = (list: number[]): Map<number, number> =>
  new Map(list.map((id) => [id, pipeline.bankApi.users.get(id)!.news!.length]));

/** The page's llmBatch workflow's batches, as it returned them. */
async function batchesOf(runId: string, list: number[]): Promise<LlmBatchView[]> {
  const workflowId = llmBatchWorkflowId(runId, [
    { id: list[0]!, line: 2 },
    { id: list.at(-1)!, line: list.length + 1 },
  ]);
  return pipeline.client.workflow.getHandle(workflowId).result() as Promise<LlmBatchView[]>;
}

test('failed lines and refused replies go the sync way; the rest are loaded from the batch at the batch price', async () => {
  Object.assign(pipeline.llm.faults, { batchLineErrorRate: 0.2, badReplyRate: 0.1 });
  const list = ids(60);
  const before = newsCounts(list);
  const { report, summary, runId } = await pipeline.run(csvOf(list), { llmMode: 'batch' });

  expect(summary.counts).toMatchObject({ rows: 60, loaded: 60, failed: 0, templated: 0 });
  expectOneNewsItemEach(report.customers, before);
  const [batch, ...more] = await batchesOf(runId, list);
  expect(more).toEqual([]);
  const collected = batch!.collected!;
  expect(collected.failedLines).toBeGreaterThan(0);
  expect(collected.accepted + collected.rejected + collected.failedLines).toBe(60);
  expect(collected.ignored).toBe(0);
  // Batch-priced exactly those the batch answered well; the others were asked one by one (bad replies again, too).
  const batchPriced = report.customers.filter((c) => c.tokens.pricing === 'batch');
  expect(batchPriced).toHaveLength(collected.accepted);
  expect(syncCalls(pipeline)).toBeGreaterThanOrEqual(collected.rejected + collected.failedLines);
  // The report prices batch tokens at half the sync price and shows the saving.
  const syncPrice = batchPriced.reduce(
    (sum, c) => sum + estimateCostUsd(c.model, c.tokens.promptTokens, c.tokens.completionTokens),
    0,
  );
  const full = report as unknown as { estimatedCostUsd: number; batchSavingUsd: number };
  expect(full.batchSavingUsd).toBeCloseTo(syncPrice / 2, 12);
  expect(summary.batchSavingUsd).toBeCloseTo(syncPrice / 2, 12);
  // `sdw-etl report RUN` rebuilds the same report from Temporal's history, the llmBatch child aside.
  const rebuilt = await rebuildReport(pipeline.client, runId, pipeline.config);
  expect(rebuilt.customers).toEqual(report.customers);
  expect(rebuilt.batchSavingUsd).toBeCloseTo(syncPrice / 2, 12);
});

test('an expired batch keeps what it answered and submits the rest again, which completes', async () => {
  pipeline.llm.faults.batchOutcome = 'expired';
  const list = ids(40);
  const before = newsCounts(list);
  const flip = (async () => {
    while (pipeline.llm.batches.batches.size === 0) await sleep(20);
    pipeline.llm.faults.batchOutcome = 'completed';
  })();
  const [{ report, summary, runId }] = await Promise.all([pipeline.run(csvOf(list), { llmMode: 'batch' }), flip]);

  expect(summary.counts).toMatchObject({ rows: 40, loaded: 40, failed: 0, templated: 0 });
  expectOneNewsItemEach(report.customers, before);
  const batches = await batchesOf(runId, list);
  expect(batches.map((b) => [b.round, b.status, b.total])).toEqual([
    [0, 'expired', 40],
    [1, 'completed', 20],
  ]);
  expect(report.customers.every((c) => c.tokens.pricing === 'batch')).toBe(true);
  expect(syncCalls(pipeline)).toBe(0);
});

test('a batch that keeps failing is submitted twice more, then its customers go the sync way', async () => {
  pipeline.llm.faults.batchOutcome = 'failed';
  const list = ids(10);
  const { report, summary, runId } = await pipeline.run(csvOf(list), { llmMode: 'batch' });

  expect(summary.counts).toMatchObject({ rows: 10, loaded: 10, failed: 0, templated: 0 });
  expect((await batchesOf(runId, list)).map((b) => [b.round, b.status])).toEqual([
    [0, 'failed'],
    [1, 'failed'],
    [2, 'failed'],
  ]);
  expect(syncCalls(pipeline)).toBe(10);
  expect(report.customers.some((c) => c.tokens.pricing === 'batch')).toBe(false);
  expect(summary.batchSavingUsd).toBeUndefined();
});

test("cancelling a run that waits for its batch cancels the provider's batch; no customer is loaded", async () => {
  pipeline.llm.faults.batchDurationMs = 10 * 60_000;
  const list = ids(20);
  const before = newsCounts(list);
  const runId = newRunId();
  const output = path.join(pipeline.dir, `${runId}-SDW2023_final.json`);
  const handle = await startRun(pipeline.client, pipeline.config.temporal.taskQueue, runId, {
    ...defaultRunOptions,
    apiUrl: pipeline.bankApi.url,
    input: writeCsv(pipeline.dir, csvOf(list), `${runId}.csv`),
    output,
    llmMode: 'batch',
  });
  while (pipeline.llm.batches.batches.size === 0) await sleep(20);
  const [batchId] = [...pipeline.llm.batches.batches.keys()];
  // `status` shows the batch the run waits for, once the run has noted it.
  let status = '';
  while (!status.includes('LLM batch'))
    status = (await sdwEtl(['status', runId], cliEnv(pipeline), pipeline.dir)).stdout;
  expect(status).toMatch(
    new RegExp(`LLM batch +${batchId}: (validating|in_progress) since \\S+ \\(0/20 done, 0 failed\\)`),
  );
  await handle.cancel();
  await expect(handle.result()).rejects.toThrow();

  const report = JSON.parse(readFileSync(reportPathFor(output, runId), 'utf8')) as { counts: Counts };
  expect(report.counts).toMatchObject({ rows: 20, notProcessed: 20, loaded: 0 });
  // Read as a user of the provider would: the real client against the simulator.
  const openai = new OpenAI({ baseURL: pipeline.llm.baseURL, apiKey: 'sk-test', maxRetries: 0 });
  expect((await openai.batches.retrieve(batchId!)).status).toBe('cancelled');
  expect(syncCalls(pipeline)).toBe(0);
  expect([...newsCounts(list)]).toEqual([...before]);
});
