import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startWorkerProcess } from '../../src/bench/processes';
import { newRunId, startRun } from '../../src/client';
import { defaultRunOptions } from '../../src/workflows/api';
import { startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';
import { createActivities } from '../../src/activities';
import { createLlmClient } from '../../src/activities/llm/client';
import { createFileStore } from '../../src/activities/store/files';
import {
  activityEnv,
  batchHistories,
  csvOf,
  failureOf,
  scratchDir,
  scratchFolders,
  seed,
  writeCsv,
  scratchFolderEnv,
} from '../helpers';

test('the OpenAI key never reaches workflow input, history, logs, the report or the export, even when the LLM echoes it', async () => {
  const secret = `sk-proj-SECRET-${randomUUID()}`;
  const dir = scratchDir();
  const bankApi = await startBankApi({ seed: seed() });
  const llm = await startLlm({ faults: { rejectKey: true } });
  const client = new Client({
    connection: await Connection.connect({ address: process.env.SDW_TEST_TEMPORAL_ADDRESS }),
  });
  const taskQueue = `secrets-${randomUUID()}`;
  const worker = await startWorkerProcess({
    TEMPORAL_ADDRESS: process.env.SDW_TEST_TEMPORAL_ADDRESS!,
    SDW_TASK_QUEUE: taskQueue,
    SDW_DATA_DIR: dir,
    ...scratchFolderEnv(),
    OPENAI_BASE_URL: llm.baseURL,
    OPENAI_API_KEY: secret,
  });
  try {
    const runId = newRunId();
    const output = path.join(dir, 'SDW2023_final.json');
    const handle = await startRun(client, taskQueue, runId, {
      ...defaultRunOptions,
      input: writeCsv(dir, csvOf([2, 3])),
      output,
      apiUrl: bankApi.url,
    });
    const summary = await handle.result();
    // The key really was sent and refused, and the refusal echoed it.
    expect(JSON.stringify(llm.requests)).not.toContain(secret); // the log holds bodies, not headers
    expect(summary.counts.templated).toBe(2);

    const places = {
      history: JSON.stringify([
        await client.workflow.getHandle(runId).fetchHistory(),
        ...(await batchHistories(client, runId)),
      ]),
      workerLog: worker.output(),
      report: readFileSync(summary.reportPath, 'utf8'),
      export: readFileSync(output, 'utf8'),
    };
    expect(places.report).toContain('Incorrect API key provided: [redacted].');
    for (const [where, text] of Object.entries(places)) {
      expect({ where, leaks: text.includes(secret) }).toEqual({ where, leaks: false });
    }
  } finally {
    await worker.stop();
    await client.connection.close();
    await bankApi.close();
    await llm.close();
  }
});

test.each(['k', 'ab1', 'sk-12345'])(
  'a key of any length, even %p, is redacted from what an LLM that echoes it says',
  async (shortKey) => {
    const llm = await startLlm({ faults: { rejectKey: true } });
    try {
      const { writeMessage } = createActivities({
        store: createFileStore(scratchDir()),
        apiUrl: 'http://127.0.0.1:1',
        llm: createLlmClient({ baseURL: llm.baseURL, apiKey: shortKey, model: 'gpt-4o-mini' }),
        folders: scratchFolders(),
      });
      const failure = await failureOf(activityEnv().run(writeMessage, { id: 9, firstName: 'Joana', locale: 'pt-BR' }));
      expect(failure.message).toContain('[redacted].');
      expect(failure.message.replaceAll('[redacted]', '')).not.toContain(shortKey);
    } finally {
      await llm.close();
    }
  },
);
