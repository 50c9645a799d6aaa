import { createActivities } from '../../src/activities';
import type { FirstTries, FirstTry, Settled } from '../../src/activities/first-try';
import { createFileStore } from '../../src/activities/store/files';
import { failureTypes } from '../../src/failures';
import { startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { activityEnv, scratchDir, scratchFolders, seed } from '../helpers';

describe('firstTries: a batch’s customers, one attempt of each step, in one activity', () => {
  let api: BankApiSimulator;
  const store = createFileStore(scratchDir());
  /** The records each run's first tries counted as saved (the worker's metrics). */
  const counted: number[] = [];
  const { firstTries } = createActivities({
    store,
    apiUrl: 'http://127.0.0.1:1',
    llm: undefined,
    folders: scratchFolders(),
    observeSaved: (_runId, records) => counted.push(...records.map((r) => r.outcome.id)),
  });
  /** The first tries of `ids` (each on line id + 1) for a campaign and a run of their own, `window` at a time. */
  const args = (campaign: string, ids: number[], window = 2) => ({
    customers: ids.map((id) => ({ id, line: id + 1 })),
    window,
    apiUrl: api.url,
    sink: 'api' as const,
    locale: 'en' as const,
    kept: { campaign, runId: `run-${campaign}` },
  });
  const requests = (): number => api.requests.GET + api.requests.PUT;
  const settled = (tries: FirstTries, id: number) => (tries[id] as Settled).settled;
  beforeAll(async () => {
    api = await startBankApi({ seed: seed() });
  });
  afterAll(async () => {
    await api.close();
  });
  beforeEach(() => {
    api.faults.errorRate = 0;
    counted.length = 0;
  });

  test('each customer fetched, written and loaded once, then settled: its record saved, its outcome returned', async () => {
    const before = requests();
    const tries = await activityEnv().run(firstTries, args('all-steps', [2, 3]));
    const records = await store.readRecords('run-all-steps', [2, 3]);
    for (const id of [2, 3]) {
      const outcome = settled(tries, id);
      expect(outcome).toMatchObject({ id, line: id + 1, status: 'loaded', source: 'api', messageSource: 'template' });
      expect(outcome.attempts).toEqual({ fetch: 1, write: 1, load: 1 });
      expect(api.users.get(id)!.news!.at(-1)!.description).toBe(outcome.message);
      // The record holds the customer as the bank has it now; the result does not.
      expect(records.get(id)).toEqual({ outcome, customer: api.users.get(id) });
    }
    expect(JSON.stringify(tries)).not.toContain(api.users.get(2)!.account!.number!);
    // GET to fetch, GET and PUT to load, for each.
    expect(requests() - before).toBe(6);
    const ledger = await store.readCampaign('all-steps', [2, 3]);
    expect([...ledger.values()].map((entry) => entry.loadedBy)).toEqual(['run-all-steps', 'run-all-steps']);
    expect(counted.sort()).toEqual([2, 3]);
  });

  test('a retried attempt keeps the first tries its last heartbeat holds, and tries only the others', async () => {
    const done = await activityEnv().run(firstTries, args('resumed', [4]));
    const before = requests();
    counted.length = 0;
    const checkpoint: FirstTries = { 4: done[4]! };
    const tries = await activityEnv({ attempt: 2, heartbeatDetails: checkpoint }).run(
      firstTries,
      args('resumed', [4, 5]),
    );
    expect(tries[4]).toEqual(done[4]);
    expect(settled(tries, 5)).toMatchObject({ status: 'loaded' });
    // Customer 5 only: no request for 4, and 4 is not counted again.
    expect(requests() - before).toBe(3);
    expect(counted).toEqual([5]);
  });

  test('a retried attempt that settles a customer its dead predecessor saved counts it once', async () => {
    await activityEnv().run(firstTries, args('saved-twice', [11]));
    counted.length = 0;
    // The predecessor died before its heartbeat held customer 11: the steps run again and change nothing.
    const tries = await activityEnv({ attempt: 2 }).run(firstTries, args('saved-twice', [11]));
    expect(settled(tries, 11)).toMatchObject({ status: 'loaded' });
    expect(api.users.get(11)!.news!.filter((n) => n.description === settled(tries, 11).message)).toHaveLength(1);
    expect(counted).toEqual([]);
  });

  test('after a bank step fails as an outage would, no new customer starts: the gate decides', async () => {
    api.faults.errorRate = 1;
    const tries = await activityEnv().run(firstTries, args('outage', [6, 7, 8], 1));
    expect((tries[6] as FirstTry).stoppedAt).toMatchObject({ step: 'fetch', type: failureTypes.apiServerError });
    expect(Object.keys(tries)).toEqual(['6']);
    expect(await store.readRecords('run-outage', [6, 7, 8])).toEqual(new Map());
  });

  /** First tries whose store keeps a message only through `choose` (the store's own otherwise). */
  const triesKeepingWith = (choose: typeof store.chooseMessage) =>
    createActivities({
      store: { ...store, chooseMessage: choose },
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      folders: scratchFolders(),
    }).firstTries;

  test('the load’s GET goes out while the message is being kept, not after', async () => {
    const getsBefore = api.requests.GET;
    // Keeping the message waits for the bank to see two GETs for this one customer: the fetch's and the load's.
    const tries = await activityEnv().run(
      triesKeepingWith(async (...kept) => {
        for (let waited = 0; api.requests.GET - getsBefore < 2; waited += 5) {
          if (waited > 5_000) throw new Error('The load’s GET never went out while the message was being kept.');
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return store.chooseMessage(...kept);
      }),
      args('asked-ahead', [12], 1),
    );
    const outcome = settled(tries, 12);
    expect(outcome).toMatchObject({ status: 'loaded', attempts: { fetch: 1, write: 1, load: 1 } });
    expect(api.users.get(12)!.news!.at(-1)!.description).toBe(outcome.message);
    expect(api.requests.GET - getsBefore).toBe(2);
  });

  test('a message that cannot be kept stops the customer at its write: the GET sent ahead is left unread', async () => {
    const putsBefore = api.requests.PUT;
    const newsBefore = api.users.get(13)!.news!.length;
    const tries = await activityEnv().run(
      triesKeepingWith(() => Promise.reject(new Error('disk full'))),
      args('not-kept', [13], 1),
    );
    expect((tries[13] as FirstTry).stoppedAt).toMatchObject({ step: 'write', message: 'disk full' });
    expect(api.requests.PUT).toBe(putsBefore);
    expect(api.users.get(13)!.news!.length).toBe(newsBefore);
  });

  test('a customer whose campaign message reached the bank in another run is settled without a request', async () => {
    await store.chooseMessage('loaded-before', 9, {
      message: 'Invest early, Ana.',
      messageSource: 'template',
      model: null,
      tokens: { promptTokens: 0, completionTokens: 0 },
      runId: 'run-old',
    });
    await store.markLoaded('loaded-before', 'run-old', [9]);
    const before = requests();
    const tries = await activityEnv().run(firstTries, args('loaded-before', [9, 10]));
    expect(settled(tries, 9)).toMatchObject({ status: 'already_loaded', message: 'Invest early, Ana.' });
    expect(settled(tries, 9).error!.message).toContain('run-old');
    expect(settled(tries, 10)).toMatchObject({ status: 'loaded' });
    expect(requests() - before).toBe(3);
  });
});
