// Campaigns on a real Temporal server, with an LLM simulator that words every reply differently (as a live model
// does): one message per customer per campaign, however often and however concurrently its list is run.
import { newsIcon } from '../../src/personalize';
import { csvOf, scratchDir, sdwEtl, seed, startPipeline, type Pipeline } from '../helpers';

const seedUsers = new Map(seed().map((u) => [u.id, u]));

describe('campaigns', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ llmFaults: { uniqueReplies: true } });
  });
  afterAll(async () => {
    await pipeline.close();
  });
  beforeEach(() => {
    Object.assign(pipeline.llm.faults, { errorRate: 0, rejectKey: false });
  });
  /** The news items sdw-etl added to a customer: those the seed did not give it. */
  const added = (id: number) =>
    pipeline.bankApi.users
      .get(id)!
      .news!.slice(seedUsers.get(id)!.news!.length)
      .filter((n) => n.icon === newsIcon);
  const completions = (): number => pipeline.llm.requests.filter((r) => r.status === 200).length;

  test('the same list run twice in one campaign: one message each, and the second run loads, asks and spends nothing', async () => {
    const ids = [40, 41, 42, 43, 44, 45];
    const first = await pipeline.run(csvOf(ids), { campaign: 'twice' });
    expect(first.summary.counts).toMatchObject({ loaded: 6, alreadyLoaded: 0 });
    expect(first.summary.campaign).toBe('twice');
    const asked = completions();

    const second = await pipeline.run(csvOf(ids), { campaign: 'twice', locale: 'en' });
    expect(second.summary.counts).toMatchObject({ loaded: 0, alreadyLoaded: 6, failed: 0, skipped: 0 });
    expect(second.summary.counts.promptTokens + second.summary.counts.completionTokens).toBe(0);
    expect(completions()).toBe(asked);
    for (const id of ids) {
      expect(added(id)).toHaveLength(1);
      const outcome = second.report.customers.find((c) => c.id === id)!;
      expect(outcome).toMatchObject({ status: 'already_loaded', message: added(id)[0]!.description });
      expect(outcome.error?.message).toContain(first.runId);
      expect(outcome.attempts).toEqual({ fetch: 0, write: 0, load: 0 });
    }
  });

  test('a new campaign on the same list sends one more message each', async () => {
    const ids = [46, 47, 48];
    await pipeline.run(csvOf(ids), { campaign: 'spring' });
    const autumn = await pipeline.run(csvOf(ids), { campaign: 'autumn' });
    expect(autumn.summary.counts).toMatchObject({ loaded: 3, alreadyLoaded: 0 });
    for (const id of ids) {
      expect(added(id)).toHaveLength(2);
      expect(added(id)[0]!.description).not.toBe(added(id)[1]!.description);
    }
  });

  test('two runs of one campaign started at the same moment: one message each, and every customer accounted for in both', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => 10 + i);
    const [a, b] = await Promise.all([
      pipeline.run(csvOf(ids), { campaign: 'at-once', concurrency: 10, batchSize: 5 }),
      pipeline.run(csvOf(ids), { campaign: 'at-once', concurrency: 10, batchSize: 5 }),
    ]);
    for (const id of ids) expect(added(id)).toHaveLength(1);
    for (const run of [a, b]) {
      expect(run.summary.counts.loaded + run.summary.counts.alreadyLoaded).toBe(ids.length);
    }
    // Each customer is loaded by one run at least; a customer both runs put in the feed at once is still one item.
    for (const id of ids) {
      const statuses = [a, b].map((run) => run.report.customers.find((c) => c.id === id)!.status);
      expect(statuses).toContain('loaded');
    }
  });

  test('a template written during an LLM outage is the campaign message: running the list again adds nothing', async () => {
    const ids = [50, 51];
    Object.assign(pipeline.llm.faults, { errorRate: 1 });
    const during = await pipeline.run(csvOf(ids), { campaign: 'outage' });
    expect(during.summary.counts).toMatchObject({ loaded: 2, templated: 2 });
    Object.assign(pipeline.llm.faults, { errorRate: 0 });
    const after = await pipeline.run(csvOf(ids), { campaign: 'outage' });
    expect(after.summary.counts).toMatchObject({ loaded: 0, alreadyLoaded: 2 });
    for (const id of ids) expect(added(id)).toHaveLength(1);
  });

  test('a file-only run previews the messages; the bank run of the campaign sends those same words, asking nothing', async () => {
    const ids = [52, 53];
    const preview = await pipeline.run(csvOf(ids), { campaign: 'preview', sink: 'file' });
    expect(preview.summary.counts.loaded).toBe(2);
    for (const id of ids) expect(added(id)).toHaveLength(0);
    const asked = completions();
    const sent = await pipeline.run(csvOf(ids), { campaign: 'preview', sink: 'api' });
    expect(sent.summary.counts).toMatchObject({ loaded: 2, alreadyLoaded: 0, promptTokens: 0 });
    expect(completions()).toBe(asked);
    for (const id of ids) {
      const previewed = preview.report.customers.find((c) => c.id === id)!.message;
      expect(added(id).map((n) => n.description)).toEqual([previewed]);
    }
  });

  test('a campaign name that could climb out of a folder fails the run before anything is read', async () => {
    const failed = await pipeline.run(csvOf([54]), { campaign: '../etc' }).catch((err: Error) => err);
    expect(((failed as Error).cause as Error | undefined)?.message).toMatch(/^The campaign "\.\.\/etc" must be/);
    expect(added(54)).toHaveLength(0);
  });

  test('sdw-etl campaigns lists each campaign with its customers and those loaded', async () => {
    const listed = await sdwEtl(['campaigns'], { SDW_DATA_DIR: pipeline.config.dataDir }, scratchDir());
    expect(listed.code).toBe(0);
    const line = (name: string) => listed.stdout.split('\n').find((l) => l.startsWith(`${name} `));
    // "twice": 6 customers, all loaded; "preview": previewed in a file, then sent; "outage": templates, loaded.
    expect(line('twice')).toMatch(/^twice\s+6\s+6 /);
    expect(line('preview')).toMatch(/^preview\s+2\s+2 /);
    expect(line('outage')).toMatch(/^outage\s+2\s+2 /);
  });
});
