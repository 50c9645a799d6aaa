// A run's input streamed into the PostgreSQL store (as the CLI does with a shared store) and paged through from there
// by readUserIds and the export, with the same rows, lines and reasons as read from the file.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../../src/activities';
import type { CsvCursor } from '../../src/activities/extract';
import { createFileStore } from '../../src/activities/store/files';
import { createPostgresStore, type PostgresStore } from '../../src/activities/store/postgres';
import { storeInput } from '../../src/cli/stored-input';
import type { Customer } from '../../src/customer';
import { activityEnv, failureOf, scratchDir, scratchFolders, writeCsv } from '../helpers';

const env = activityEnv();
let store: PostgresStore;
beforeAll(async () => {
  store = await createPostgresStore(process.env.SDW_TEST_DATABASE_URL!);
});
afterAll(() => store.close());

const csv = 'Nome;UserID\nAna;10\n\nBia;abc\nCaio;11\nDani;10\nEva;12\n';

test('pages of a stored input hold the rows, lines and reasons the file gives, each row once', async () => {
  const dir = scratchDir();
  const input = writeCsv(dir, csv);
  const runId = `run-${randomUUID()}`;
  expect(await storeInput(store.inputRows, runId, input, 'customers.csv')).toBe(5);
  const activities = createActivities({
    store,
    apiUrl: 'http://127.0.0.1:1',
    llm: undefined,
    folders: scratchFolders(),
  });
  const pagesOf = async (inputStored: boolean) => {
    const pages = [];
    let cursor: CsvCursor | undefined;
    do {
      const page = await env.run(activities.readUserIds, { runId, input, inputStored, cursor, pageSize: 2 });
      pages.push({ ids: page.ids, invalid: page.invalid });
      cursor = page.next;
    } while (cursor);
    return pages;
  };
  const fromStore = await pagesOf(true);
  expect(fromStore).toEqual(await pagesOf(false));
  expect(fromStore.flatMap((p) => p.ids)).toEqual([
    { id: 10, line: 2 },
    { id: 11, line: 5 },
    { id: 10, line: 6 },
    { id: 12, line: 7 },
  ]);
  expect(fromStore.flatMap((p) => p.invalid)).toEqual([{ line: 4, value: 'abc', reason: 'not a whole number' }]);
});

test('the export of a run whose input is stored follows the stored rows, with no file to read', async () => {
  const dir = scratchDir();
  const runId = `run-${randomUUID()}`;
  await storeInput(store.inputRows, runId, writeCsv(dir, 'UserID\n3\n2\n'), 'customers.csv');
  const { exportResults } = createActivities({
    store,
    apiUrl: 'http://127.0.0.1:1',
    llm: undefined,
    folders: scratchFolders(),
  });
  const output = path.join(dir, 'out.json');
  const result = await env.run(exportResults, {
    runId,
    input: path.join(dir, 'gone.csv'),
    inputStored: true,
    output,
    sink: 'file',
    startedAt: new Date().toISOString(),
    cancelled: true,
    retryOf: null,
    campaign: 'customers',
    bankApiOutages: [],
  });
  expect(result.counts).toMatchObject({ rows: 2, notProcessed: 2, failed: 0 });
  expect(JSON.parse(readFileSync(output, 'utf8')) as Customer[]).toEqual([]);
});

test('a worker without the shared store refuses a stored input in one sentence, not retried', async () => {
  const { readUserIds } = createActivities({
    store: createFileStore(scratchDir()),
    apiUrl: 'http://127.0.0.1:1',
    llm: undefined,
    folders: scratchFolders(),
  });
  const failure = await failureOf(
    env.run(readUserIds, { runId: 'run-x', input: 'ids.csv', inputStored: true, cursor: undefined, pageSize: 10 }),
  );
  expect(failure.message).toBe(
    'Run run-x keeps its input in the shared store, and this worker has none: set SDW_DATABASE_URL as the CLI has it.',
  );
  expect(failure.nonRetryable).toBe(true);
});
