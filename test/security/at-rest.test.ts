// Customer data at rest: record files only the worker's user can read, in folders only it can enter, and every
// record encrypted with the payload key when one is set, in either store.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { encryptedStore } from '../../src/activities/store/encrypted';
import { createFileStore } from '../../src/activities/store/files';
import { createPostgresStore } from '../../src/activities/store/postgres';
import type { CustomerRecord } from '../../src/activities/store/store';
import { parseEncryptionKeys } from '../../src/codec';
import { newOutcome } from '../../src/outcomes';
import { csvOf, scratchDir, sdwEtl, seed, startPipeline } from '../helpers';

const keys = parseEncryptionKeys(`rest1:${randomBytes(32).toString('base64')}`);
const user = seed().find((u) => u.id === 9)!;
const record = (): CustomerRecord => ({
  outcome: { ...newOutcome(9, 2), status: 'loaded', message: `${user.name!.split(' ')[0]}, invista hoje!` },
  customer: user,
});
const secrets = [user.name!, user.account!.number!, user.card!.number!];

test('a run’s record files are 0600 in 0700 folders', async () => {
  const pipeline = await startPipeline({ offline: true });
  try {
    const { runId, summary } = await pipeline.run(csvOf([2, 3]));
    expect(summary.counts.loaded).toBe(2);
    const folder = path.join(pipeline.config.dataDir, 'runs', runId, 'customers');
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    const files = readdirSync(folder);
    expect(files).toHaveLength(2);
    for (const file of files) expect(statSync(path.join(folder, file)).mode & 0o777).toBe(0o600);
  } finally {
    await pipeline.close();
  }
});

test('with an encryption key, the file store keeps no customer data in the clear, and reads it back whole', async () => {
  const dir = scratchDir();
  const store = encryptedStore(createFileStore(dir), keys);
  await store.saveRecords('at-rest-files', [record()]);
  const text = readFileSync(path.join(dir, 'runs', 'at-rest-files', 'customers', '9.json'), 'utf8');
  for (const secret of secrets) expect(text).not.toContain(secret);
  expect(await store.readRecord('at-rest-files', 9)).toEqual(record());
  expect(await createFileStore(dir).readRecord('at-rest-files', 9)).not.toEqual(record());
});

test('with an encryption key, PostgreSQL keeps no customer data in the clear, and reads it back whole', async () => {
  const url = process.env.SDW_TEST_DATABASE_URL!;
  const store = encryptedStore(await createPostgresStore(url), keys);
  const runId = `at-rest-${randomUUID()}`;
  try {
    await store.saveRecords(runId, [record()]);
    expect(await store.readRecord(runId, 9)).toEqual(record());
    expect((await store.readRecords(runId, [9, 10])).get(9)).toEqual(record());
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ text: string }>(
        'SELECT record::text AS text FROM customer_records WHERE run_id = $1',
        [runId],
      );
      expect(rows).toHaveLength(1);
      for (const secret of secrets) expect(rows[0]!.text).not.toContain(secret);
    } finally {
      await client.end();
    }
  } finally {
    await store.close();
  }
});

test('sdw-etl prune --older-than 30d deletes the records of old runs and says what it removed, in either store', async () => {
  const dir = scratchDir();
  const files = createFileStore(dir);
  await files.saveRecords('run-old', [record(), { ...record(), outcome: { ...record().outcome, id: 10 } }]);
  await files.saveRecords('run-new', [record()]);
  const longAgo = new Date(Date.now() - 40 * 86_400_000);
  utimesSync(path.join(dir, 'runs', 'run-old', 'customers'), longAgo, longAgo);
  const pruned = await sdwEtl(['prune', '--older-than', '30d'], { SDW_DATA_DIR: dir }, dir);
  expect(pruned.code).toBe(0);
  expect(pruned.stdout).toMatch(
    new RegExp(`^Deleted 2 customer records of 1 run from ${dir}, none saved since .*: run-old\\.$`, 'm'),
  );
  expect(existsSync(path.join(dir, 'runs', 'run-old'))).toBe(false);
  expect(await files.readRecord('run-new', 9)).toEqual(record());

  const url = process.env.SDW_TEST_DATABASE_URL!;
  const store = await createPostgresStore(url);
  const [oldRun, newRun] = [`old-${randomUUID()}`, `new-${randomUUID()}`];
  try {
    await store.saveRecords(oldRun, [record()]);
    await store.saveRecords(newRun, [record()]);
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query("UPDATE customer_records SET saved_at = now() - interval '40 days' WHERE run_id = $1", [oldRun]);
    await client.end();
    const fromDb = await sdwEtl(['prune', '--older-than', '30d'], { SDW_DATABASE_URL: url }, dir);
    expect(fromDb.code).toBe(0);
    expect(fromDb.stdout).toContain(`from the PostgreSQL store, none saved since`);
    expect(fromDb.stdout).toContain(oldRun);
    expect(fromDb.stdout).not.toContain(newRun);
    expect(await store.readRecord(oldRun, 9)).toBeUndefined();
    expect(await store.readRecord(newRun, 9)).toEqual(record());
  } finally {
    await store.close();
  }
});
