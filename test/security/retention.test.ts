// SDW_RETENTION: a worker deletes the records of runs that saved none for that long, as it starts and every hour
// after, and leaves younger runs alone.
import { existsSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { createFileStore } from '../../src/activities/store/files';
import { loadConfig } from '../../src/config';
import { newOutcome } from '../../src/outcomes';
import { createWorker } from '../../src/worker';
import { scratchDir, testConfig } from '../helpers';

const day = 86_400_000;
const record = (id: number) => ({ outcome: { ...newOutcome(id, 2), status: 'loaded' as const }, customer: null });

test('a worker with SDW_RETENTION=30d prunes a run last saved 40 days ago, and keeps one saved today', async () => {
  const dataDir = scratchDir();
  const store = createFileStore(dataDir);
  await store.saveRecords('run-of-long-ago', [record(2), record(3)]);
  await store.saveRecords('run-of-today', [record(4)]);
  const longAgo = new Date(Date.now() - 40 * day);
  utimesSync(path.join(dataDir, 'runs', 'run-of-long-ago', 'customers'), longAgo, longAgo);

  const { retentionMs } = loadConfig({ SDW_RETENTION: '30d' });
  expect(retentionMs).toBe(30 * day);
  const worker = await createWorker(testConfig({ dataDir, retentionMs }), {
    workflowBundle: { codePath: process.env.SDW_TEST_WORKFLOW_BUNDLE! },
  });
  let stop!: () => void;
  const running = worker.run(new Promise<void>((resolve) => (stop = resolve)));
  try {
    // The first sweep runs as the worker starts; the cap only stops a broken sweep from hanging the test.
    for (let i = 0; i < 300 && existsSync(path.join(dataDir, 'runs', 'run-of-long-ago')); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(existsSync(path.join(dataDir, 'runs', 'run-of-long-ago'))).toBe(false);
    expect(await store.readRecord('run-of-today', 4)).toEqual(record(4));
  } finally {
    stop();
    await running;
  }
});

test('a retention that is not a duration is refused in one sentence', () => {
  expect(() => loadConfig({ SDW_RETENTION: 'a month' })).toThrow(
    'SDW_RETENTION must be a duration such as 30d or 12h, got "a month".',
  );
  expect(() => loadConfig({ SDW_RETENTION: '0d' })).toThrow(
    'SDW_RETENTION must be a duration such as 30d or 12h, got "0d".',
  );
});
