// The record stores, on files and in PostgreSQL, held to the same behaviours (the PostgreSQL is the one jest's global
// setup starts for the run).
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/bench/processes';
import { createFileStore } from '../../src/activities/store/files';
import { createPostgresStore } from '../../src/activities/store/postgres';
import type { CustomerRecord, RecordStore } from '../../src/activities/store/store';
import { newOutcome } from '../../src/outcomes';
import { createActivities } from '../../src/activities';
import { activityEnv, scratchDir, writeCsv, scratchFolders } from '../helpers';

/** A store under test, with a look behind it: how many records it holds for a run. */
interface OpenStore {
  store: RecordStore;
  count(runId: string): Promise<number>;
  close(): Promise<void>;
}

function testDatabaseUrl(): string {
  const url = process.env.SDW_TEST_DATABASE_URL;
  if (!url) throw new Error('The test PostgreSQL is not running (jest global setup sets SDW_TEST_DATABASE_URL).');
  return url;
}

async function countRows(url: string, runId: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM customer_records WHERE run_id = $1', [
      runId,
    ]);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

const factories: [string, () => Promise<OpenStore>][] = [
  [
    'the file store',
    () => {
      const dir = scratchDir();
      return Promise.resolve({
        store: createFileStore(dir),
        count: (runId) => Promise.resolve(readdirSync(path.join(dir, 'runs', runId, 'customers')).length),
        close: () => Promise.resolve(),
      });
    },
  ],
  [
    'the PostgreSQL store',
    async () => {
      const store = await createPostgresStore(testDatabaseUrl());
      return { store, count: (runId) => countRows(testDatabaseUrl(), runId), close: () => store.close() };
    },
  ],
];

function record(id: number, message = `Cliente ${id}, invista!`): CustomerRecord {
  return {
    outcome: { ...newOutcome(id, id + 1), status: 'loaded', source: 'api', messageSource: 'llm', message },
    customer: {
      id,
      name: `Cliente ${id}`,
      account: { id, number: `00${id}-1`, agency: '0001', balance: 1234.56, limit: 500 },
      card: { id, number: `xxxx xxxx xxxx ${1000 + id}`, limit: 1000 },
      features: [],
      news: [{ icon: 'https://example.test/icon.svg', description: message }],
    },
  };
}

const newRunId = (): string => `run-${randomUUID()}`;

describe.each(factories)('%s', (_name, open) => {
  let opened: OpenStore;
  beforeAll(async () => {
    opened = await open();
  });
  afterAll(() => opened.close());

  test('a saved record reads back', async () => {
    const runId = newRunId();
    await opened.store.saveRecords(runId, [record(7)]);
    expect(await opened.store.readRecord(runId, 7)).toEqual(record(7));
  });

  test('saving a record again leaves one, the one saved last', async () => {
    const runId = newRunId();
    await opened.store.saveRecords(runId, [record(7, 'first')]);
    await opened.store.saveRecords(runId, [record(7, 'second')]);
    expect(await opened.store.readRecord(runId, 7)).toEqual(record(7, 'second'));
    expect(await opened.count(runId)).toBe(1);
  });

  test('a batch naming a customer twice saves one record of the two', async () => {
    const runId = newRunId();
    await opened.store.saveRecords(runId, [record(7, 'first'), record(8), record(7, 'second')]);
    expect([record(7, 'first'), record(7, 'second')]).toContainEqual(await opened.store.readRecord(runId, 7));
    expect(await opened.count(runId)).toBe(2);
  });

  test("a record of another run is not read, and neither run's save touches the other's", async () => {
    const [runA, runB] = [newRunId(), newRunId()];
    await opened.store.saveRecords(runA, [record(7, 'in A')]);
    expect(await opened.store.readRecord(runB, 7)).toBeUndefined();
    await opened.store.saveRecords(runB, [record(7, 'in B')]);
    expect(await opened.store.readRecord(runA, 7)).toEqual(record(7, 'in A'));
  });

  test('an unknown id is undefined', async () => {
    const runId = newRunId();
    await opened.store.saveRecords(runId, [record(7)]);
    expect(await opened.store.readRecord(runId, 8)).toBeUndefined();
    expect(await opened.store.readRecord(newRunId(), 7)).toBeUndefined();
  });

  test('a batch of 100 records is saved in one call', async () => {
    const runId = newRunId();
    const ids = Array.from({ length: 100 }, (_, i) => 1000 + i);
    await opened.store.saveRecords(
      runId,
      ids.map((id) => record(id)),
    );
    expect(await opened.count(runId)).toBe(100);
    const read = await Promise.all(ids.map((id) => opened.store.readRecord(runId, id)));
    expect(read).toEqual(ids.map((id) => record(id)));
  });

  test('an empty batch is saved as nothing', async () => {
    const runId = newRunId();
    await opened.store.saveRecords(runId, []);
    expect(await opened.store.readRecord(runId, 7)).toBeUndefined();
  });

  test('readRecords gives the records of the ids asked, by id, and none of another run or no one', async () => {
    const [runId, otherRun] = [newRunId(), newRunId()];
    await opened.store.saveRecords(runId, [record(7), record(8), record(9)]);
    await opened.store.saveRecords(otherRun, [record(10)]);
    const read = await opened.store.readRecords(runId, [9, 7, 10, 11]);
    expect([...read.entries()].sort(([a], [b]) => a - b)).toEqual([
      [7, record(7)],
      [9, record(9)],
    ]);
    expect(await opened.store.readRecords(runId, [])).toEqual(new Map());
  });

  test('the export reads every record of a run longer than one read, in CSV order', async () => {
    const dir = scratchDir();
    const runId = newRunId();
    const ids = Array.from({ length: 700 }, (_, i) => 700 - i);
    // Ids with no record (every tenth) are reported not processed; repeated and invalid rows read nothing.
    const saved = ids.filter((id) => id % 10 !== 0);
    for (let i = 0; i < saved.length; i += 100) {
      await opened.store.saveRecords(
        runId,
        saved.slice(i, i + 100).map((id) => record(id)),
      );
    }
    const csv = ['UserID', ...ids.flatMap((id) => (id % 100 === 0 ? [id, 'x', id] : [id]))].join('\n');
    const { exportResults } = createActivities({
      store: opened.store,
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      folders: scratchFolders(),
    });
    const result = await activityEnv().run(exportResults, {
      runId,
      input: writeCsv(dir, `${csv}\n`),
      output: path.join(dir, 'out.json'),
      sink: 'file',
      startedAt: '',
      cancelled: false,
      retryOf: null,
      campaign: 'ids',
      bankApiOutages: [],
    });
    expect(result.counts).toMatchObject({ rows: 714, invalid: 7, duplicates: 7, loaded: 630, notProcessed: 70 });
    const exported = JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8')) as { id: number }[];
    expect(exported.map((user) => user.id)).toEqual(saved);
  });

  test('unicode, nested JSON and the numbers of a record come back intact', async () => {
    const runId = newRunId();
    const message = 'Olá, João! Ação: 投资 💸🚀 «قرض» e\u0301 "aspas" \\ barra\ttab\nlinha';
    const saved = record(9, message);
    saved.outcome.error = { reason: 'template', message: 'ñ' };
    saved.outcome.stepErrors = { write: { reason: 'llm_failed', message: '{"nested": "json in a string"}' } };
    saved.outcome.tokens = { promptTokens: 0, completionTokens: 9_007_199_254_740_991 };
    saved.customer = {
      ...saved.customer!,
      name: 'Zoë Ångström-Nguyễn',
      account: { ...saved.customer!.account, balance: -0.1 + 0.3, limit: 1e21 },
      features: [{ id: null, icon: null, description: null }],
      extra: { deep: { deeper: [1, [2, [3, { deepest: 'ß' }]]], empty: {}, none: [] } },
    };
    await opened.store.saveRecords(runId, [saved]);
    expect(await opened.store.readRecord(runId, 9)).toEqual(saved);
  });
});

describe('the PostgreSQL store, starting', () => {
  test('workers starting at once on a new database each create the table or wait for the one that does', async () => {
    const admin = new Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    const database = `sdw_etl_migration_${randomUUID().replaceAll('-', '')}`;
    await admin.query(`CREATE DATABASE ${database}`);
    try {
      const url = new URL(testDatabaseUrl());
      url.pathname = `/${database}`;
      const starts = await Promise.allSettled(Array.from({ length: 8 }, () => createPostgresStore(url.toString())));
      const stores = starts.flatMap((start) => (start.status === 'fulfilled' ? [start.value] : []));
      try {
        expect(starts.flatMap((start) => (start.status === 'rejected' ? [String(start.reason)] : []))).toEqual([]);
        const runId = newRunId();
        await stores[0]!.saveRecords(runId, [record(7)]);
        expect(await stores[7]!.readRecord(runId, 7)).toEqual(record(7));
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    } finally {
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      await admin.end();
    }
  });

  test('a database that does not answer fails the start', async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/sdw_etl`;
    await expect(createPostgresStore(url)).rejects.toThrow(/ECONNREFUSED/);
  });
});
