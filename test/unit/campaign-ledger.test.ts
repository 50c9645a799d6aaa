// The campaign ledger in each store (files, PostgreSQL, and sealed with a key): one message per customer per
// campaign whoever asks first, the first run to load it kept, campaigns listed and pruned.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { encryptedStore } from '../../src/activities/store/encrypted';
import { createFileStore } from '../../src/activities/store/files';
import { createPostgresStore } from '../../src/activities/store/postgres';
import type { ChosenMessage, RecordStore } from '../../src/activities/store/store';
import { parseEncryptionKeys } from '../../src/codec';
import { scratchDir } from '../helpers';

const keys = parseEncryptionKeys(`ledger1:${randomBytes(32).toString('base64')}`);

function testDatabaseUrl(): string {
  const url = process.env.SDW_TEST_DATABASE_URL;
  if (!url) throw new Error('The test PostgreSQL is not running (jest global setup sets SDW_TEST_DATABASE_URL).');
  return url;
}

/** A store under test, and what it keeps on disk or in the table for a campaign, as raw text. */
interface Opened {
  store: RecordStore;
  rawText(campaign: string): Promise<string>;
  close(): Promise<void>;
}

async function rawRows(campaign: string): Promise<string> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT * FROM campaign_messages WHERE campaign = $1', [campaign]);
    return JSON.stringify(rows);
  } finally {
    await client.end();
  }
}

function rawFiles(dir: string, campaign: string): string {
  const folder = path.join(dir, 'campaigns', encodeURIComponent(campaign));
  return readdirSync(folder)
    .map((f) => readFileSync(path.join(folder, f), 'utf8'))
    .join('\n');
}

const stores: [string, () => Promise<Opened>][] = [
  [
    'the file store',
    () => {
      const dir = scratchDir();
      return Promise.resolve({
        store: createFileStore(dir),
        rawText: (campaign: string) => Promise.resolve(rawFiles(dir, campaign)),
        close: () => Promise.resolve(),
      });
    },
  ],
  [
    'the PostgreSQL store',
    async () => {
      const store = await createPostgresStore(testDatabaseUrl());
      return { store, rawText: rawRows, close: () => store.close() };
    },
  ],
  [
    'the PostgreSQL store with a key',
    async () => {
      const store = await createPostgresStore(testDatabaseUrl());
      return { store: encryptedStore(store, keys), rawText: rawRows, close: () => store.close() };
    },
  ],
];

const chosen = (runId: string, message: string): ChosenMessage => ({
  message,
  messageSource: 'llm',
  model: 'gpt-4o-mini',
  tokens: { promptTokens: 40, completionTokens: 20 },
  runId,
});
const newCampaign = (): string => `campaign ${randomUUID()}`;

describe.each(stores)('the campaign ledger in %s', (_name, open) => {
  let opened: Opened;
  beforeAll(async () => {
    opened = await open();
  });
  afterAll(() => opened.close());

  test('the first message chosen for a customer is kept; a later choice gets it back', async () => {
    const campaign = newCampaign();
    const first = await opened.store.chooseMessage(campaign, 7, chosen('run-a', 'Ana, invista com calma.'));
    const second = await opened.store.chooseMessage(campaign, 7, chosen('run-b', 'Ana, diversifique sempre.'));
    expect(first).toEqual({ ...chosen('run-a', 'Ana, invista com calma.'), loadedBy: null });
    expect(second).toEqual(first);
    expect((await opened.store.readCampaign(campaign, [7, 8])).get(7)).toEqual(first);
    expect((await opened.store.readCampaign(campaign, [7, 8])).has(8)).toBe(false);
  });

  test('twenty runs choosing at the same moment all get the one message kept', async () => {
    const campaign = newCampaign();
    const kept = await Promise.all(
      Array.from({ length: 20 }, (_, i) => opened.store.chooseMessage(campaign, 5, chosen(`run-${i}`, `Msg ${i}`))),
    );
    expect(new Set(kept.map((k) => k.message)).size).toBe(1);
    expect(new Set(kept.map((k) => k.runId)).size).toBe(1);
  });

  test('another campaign chooses its own message for the same customer', async () => {
    const [one, two] = [newCampaign(), newCampaign()];
    await opened.store.chooseMessage(one, 3, chosen('run-a', 'Primeira campanha'));
    const other = await opened.store.chooseMessage(two, 3, chosen('run-b', 'Segunda campanha'));
    expect(other.message).toBe('Segunda campanha');
  });

  test('the first run that loads a message is kept as the one that loaded it', async () => {
    const campaign = newCampaign();
    await opened.store.chooseMessage(campaign, 1, chosen('run-a', 'Um'));
    await opened.store.chooseMessage(campaign, 2, chosen('run-a', 'Dois'));
    await opened.store.markLoaded(campaign, 'run-a', [1]);
    await opened.store.markLoaded(campaign, 'run-b', [1, 2]);
    const read = await opened.store.readCampaign(campaign, [1, 2]);
    expect(read.get(1)?.loadedBy).toBe('run-a');
    expect(read.get(2)?.loadedBy).toBe('run-b');
    const listed = (await opened.store.listCampaigns()).find((c) => c.campaign === campaign);
    expect(listed).toMatchObject({ campaign, customers: 2, loaded: 2 });
    expect(Date.parse(listed!.lastChangedAt)).toBeGreaterThanOrEqual(Date.parse(listed!.firstChosenAt));
  });

  test('a load marked for a customer with no message in the ledger marks nothing', async () => {
    const campaign = newCampaign();
    await opened.store.markLoaded(campaign, 'run-a', [6]);
    await opened.store.chooseMessage(campaign, 6, chosen('run-b', 'Seis'));
    expect((await opened.store.readCampaign(campaign, [6])).get(6)?.loadedBy).toBeNull();
  });

  test('prune deletes a campaign unchanged since the cut-off, and keeps one changed after it', async () => {
    const [old, recent] = [newCampaign(), newCampaign()];
    await opened.store.chooseMessage(old, 1, chosen('run-a', 'Velha'));
    const cut = new Date(Date.now() + 1000);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the clock passes the cut-off
    await opened.store.chooseMessage(recent, 1, chosen('run-a', 'Nova'));
    const { campaigns } = await opened.store.pruneRuns(cut);
    expect(campaigns).toContain(old);
    expect(campaigns).not.toContain(recent);
    expect((await opened.store.readCampaign(old, [1])).size).toBe(0);
    expect((await opened.store.readCampaign(recent, [1])).get(1)?.message).toBe('Nova');
  });

  test('a message with the first name in it is sealed at rest when a key is set', async () => {
    const campaign = newCampaign();
    const message = 'Joaquina, pense no longo prazo.';
    expect((await opened.store.chooseMessage(campaign, 4, chosen('run-a', message))).message).toBe(message);
    const sealed = _name.includes('key');
    expect((await opened.rawText(campaign)).includes('Joaquina')).toBe(!sealed);
  });
});

test("the file ledger's folders and files are the worker user's only", async () => {
  const dir = scratchDir();
  const store = createFileStore(dir);
  await store.chooseMessage('SDW2023', 9, chosen('run-a', 'Nove'));
  const folder = path.join(dir, 'campaigns', 'SDW2023');
  expect(statSync(folder).mode & 0o777).toBe(0o700);
  expect(statSync(path.join(folder, '9.json')).mode & 0o777).toBe(0o600);
});

test('a campaign name that could climb out of the data folder is refused', async () => {
  const store = createFileStore(scratchDir());
  await expect(store.chooseMessage('../../etc', 1, chosen('run-a', 'x'))).rejects.toThrow(/campaign/);
});
