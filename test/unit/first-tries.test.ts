import { createActivities } from '../../src/activities';
import type { FirstTries } from '../../src/activities/first-try';
import { createFileStore } from '../../src/activities/store/files';
import { failureTypes } from '../../src/failures';
import { startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { activityEnv, scratchDir, scratchFolders, seed } from '../helpers';

describe('firstTries: a batch’s customers, one attempt of each step, in one activity', () => {
  let api: BankApiSimulator;
  const store = createFileStore(scratchDir());
  const { firstTries } = createActivities({
    store,
    apiUrl: 'http://127.0.0.1:1',
    llm: undefined,
    folders: scratchFolders(),
  });
  /** The first tries of `ids` for a campaign of their own, `window` at a time. */
  const args = (campaign: string, ids: number[], window = 2) => ({
    ids,
    window,
    apiUrl: api.url,
    sink: 'api' as const,
    locale: 'en' as const,
    kept: { campaign, runId: 'run-now' },
  });
  const requests = (): number => api.requests.GET + api.requests.PUT;
  beforeAll(async () => {
    api = await startBankApi({ seed: seed() });
  });
  afterAll(async () => {
    await api.close();
  });
  beforeEach(() => {
    api.faults.errorRate = 0;
  });

  test('each customer fetched, written and loaded once; the message kept in the campaign', async () => {
    const before = requests();
    const { loadedBefore, tries } = await activityEnv().run(firstTries, args('all-steps', [2, 3]));
    expect(loadedBefore).toEqual([]);
    for (const id of [2, 3]) {
      expect(tries[id]).toMatchObject({
        loaded: { status: 'loaded', wrote: true },
        written: { messageSource: 'template' },
      });
      expect(tries[id]!.stoppedAt).toBeUndefined();
      expect(api.users.get(id)!.news!.at(-1)!.description).toBe(tries[id]!.written!.message);
    }
    // GET to fetch, GET and PUT to load, for each.
    expect(requests() - before).toBe(6);
    expect((await store.readCampaign('all-steps', [2, 3])).size).toBe(2);
  });

  test('a retried attempt keeps the first tries its last heartbeat holds, and tries only the others', async () => {
    const done = (await activityEnv().run(firstTries, args('resumed', [4]))).tries;
    const before = requests();
    const checkpoint: FirstTries = { 4: done[4]! };
    const { tries } = await activityEnv({ attempt: 2, heartbeatDetails: checkpoint }).run(
      firstTries,
      args('resumed', [4, 5]),
    );
    expect(tries[4]).toEqual(done[4]);
    expect(tries[5]).toMatchObject({ loaded: { status: 'loaded' } });
    // Customer 5 only: no request for 4.
    expect(requests() - before).toBe(3);
  });

  test('after a bank step fails as an outage would, no new customer starts: the gate decides', async () => {
    api.faults.errorRate = 1;
    const { tries } = await activityEnv().run(firstTries, args('outage', [6, 7, 8], 1));
    expect(tries[6]!.stoppedAt).toMatchObject({ step: 'fetch', type: failureTypes.apiServerError });
    expect(Object.keys(tries)).toEqual(['6']);
  });

  test('a customer whose campaign message reached the bank in another run is left alone', async () => {
    await store.chooseMessage('loaded-before', 9, {
      message: 'Invest early, Ana.',
      messageSource: 'template',
      model: null,
      tokens: { promptTokens: 0, completionTokens: 0 },
      runId: 'run-old',
    });
    await store.markLoaded('loaded-before', 'run-old', [9]);
    const before = requests();
    const { loadedBefore, tries } = await activityEnv().run(firstTries, args('loaded-before', [9, 10]));
    expect(loadedBefore).toEqual([{ id: 9, message: 'Invest early, Ana.', loadedBy: 'run-old' }]);
    expect(Object.keys(tries)).toEqual(['10']);
    expect(requests() - before).toBe(3);
  });
});
