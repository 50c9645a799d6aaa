// Batch mode's activities against the LLM simulator's Files and Batches endpoints, through the real `openai` client:
// a submission made twice makes one batch, replies with unknown or repeated custom_ids are ignored and counted, and
// the JSONL files keep to the provider's request limit.
import { createBatchActivities, batchFiles, maxRequestsPerBatch } from '../../src/activities/llm/batch';
import { createLlmClient } from '../../src/activities/llm/client';
import { createFileStore } from '../../src/activities/store/files';
import { startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { startLlm, type LlmSimulator } from '../../src/simulators/llm';
import { activityEnv, scratchDir, seed } from '../helpers';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let bank: BankApiSimulator;
let llm: LlmSimulator;
beforeAll(async () => {
  bank = await startBankApi({ seed: seed() });
  llm = await startLlm({ faults: { batchDurationMs: 0 } });
});
afterAll(async () => {
  await bank.close();
  await llm.close();
});

const newActivities = () => {
  const store = createFileStore(scratchDir());
  const client = createLlmClient({ baseURL: llm.baseURL, apiKey: 'sk-unit', model: 'gpt-4o-mini' });
  return { store, activities: createBatchActivities({ store, llm: client, apiUrl: bank.url }) };
};
const input = { runId: 'run-unit', campaign: 'unit', apiUrl: undefined, locale: 'pt-BR' as const, key: 'run-unit/p1' };

test('a submission made again after a crash finds the batch it made instead of making a second one', async () => {
  const { activities } = newActivities();
  const env = activityEnv();
  const first = await env.run(activities.submitLlmBatches, { ...input, ids: [2, 3, 4] });
  const again = await env.run(activities.submitLlmBatches, { ...input, ids: [2, 3, 4] });
  expect(first).toEqual([{ batchId: expect.any(String) as string, ids: [2, 3, 4] }]);
  expect(again).toEqual(first);
  const ours = [...llm.batches.batches.values()].filter((b) => b.batch.metadata?.sdw_run === 'run-unit');
  expect(ours).toHaveLength(1);
});

test('replies with an unknown or a repeated custom_id, or that are no JSON, are ignored and counted; the rest are kept batch-priced', async () => {
  const { store, activities } = newActivities();
  const env = activityEnv();
  const [made] = await env.run(activities.submitLlmBatches, { ...input, runId: 'run-stray', ids: [2, 3] });
  await sleep(5);
  const state = await env.run(activities.pollLlmBatch, { batchId: made!.batchId });
  expect(state).toMatchObject({ status: 'completed', total: 2, completed: 2, failed: 0 });
  // The provider's output with a line repeated, a customer the batch never asked for, and a broken line added.
  const output = llm.batches.files.get(state.outputFileId!)!;
  const [line] = output.content.split('\n');
  const stranger = line!.replace(/"custom_id":"customer-\d+"/, '"custom_id":"customer-999"');
  output.content += `${line}\n${stranger}\nnot json\n`;

  const collected = await env.run(activities.collectLlmBatch, {
    runId: 'run-stray',
    campaign: 'unit',
    locale: 'pt-BR',
    batch: state,
    ids: made!.ids,
  });
  expect(collected).toMatchObject({ accepted: 2, rejected: 0, failedLines: 0, ignored: 3 });
  expect(collected.ignoredCustomIds).toEqual([expect.stringMatching(/^customer-[23]$/), 'customer-999']);
  const kept = await store.readCampaign('unit', [2, 3, 999]);
  expect([...kept.keys()].sort()).toEqual([2, 3]);
  for (const entry of kept.values()) {
    expect(entry).toMatchObject({ messageSource: 'llm', runId: 'run-stray', tokens: { pricing: 'batch' } });
  }
});

test("a batch's JSONL files hold at most the provider's 50,000 requests each", () => {
  const files = batchFiles(Array.from({ length: maxRequestsPerBatch + 1 }, (_, i) => `{"custom_id":"customer-${i}"}`));
  expect(files.map((f) => f.split('\n').length - 1)).toEqual([maxRequestsPerBatch, 1]);
});
