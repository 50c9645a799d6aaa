import { newsIcon } from '../../src/personalize';
import { maxBatchSize } from '../../src/workflows/api';
import { byId, csvOf, seed, startPipeline, type Pipeline, downUrl } from '../helpers';

const seedUsers = new Map(seed().map((u) => [u.id, u]));
const accountAndCardNumbers = [...seedUsers.values()].flatMap((u) => [u.account!.number, u.card!.number]);

describe('the pipeline on a real Temporal server, with the LLM simulator', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline();
  });
  afterAll(async () => {
    await pipeline.close();
  });
  beforeEach(() => {
    Object.assign(pipeline.bankApi.faults, { errorRate: 0, rateLimitRate: 0 });
    Object.assign(pipeline.llm.faults, { rejectKey: false, badReplyRate: 0 });
  });
  /** The news items a customer has now that the seed did not give it. */
  const newsAdded = (id: number) => pipeline.bankApi.users.get(id)!.news!.slice(seedUsers.get(id)!.news!.length);

  test('a full batch of 100 of the largest ids a CSV may hold: the batch starts, and its ids find it', async () => {
    const ids = Array.from({ length: maxBatchSize }, (_, i) => Number.MAX_SAFE_INTEGER - i);
    const { report, summary, runId } = await pipeline.run(csvOf(ids), { concurrency: 100, batchSize: 100 });
    expect(summary.counts).toMatchObject({ rows: 100, loaded: 0, failed: 100 });
    expect(new Set(report.customers.map((c) => c.error?.reason))).toEqual(new Set(['not_found']));
    // The ids, as the search attribute SdwCustomerIds, fit the server's limit and find the batch.
    const query = `SdwRunId = '${runId}' AND SdwCustomerIds = '${ids[99]}'`;
    // Visibility is written after the batch starts; the cap only stops a broken server from hanging the test.
    const found: string[] = [];
    for (const deadline = Date.now() + 60_000; found.length === 0 && Date.now() < deadline;) {
      for await (const w of pipeline.client.workflow.list({ query })) found.push(w.workflowId);
      if (found.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(found).toEqual([`${runId}/lines-2-101`]);
  });

  test('happy path: every customer gets an LLM message loaded into its news and exported in CSV order', async () => {
    const ids = [7, 3, 12, 5];
    const { report, exported, summary } = await pipeline.run(csvOf(ids));
    expect(summary.counts).toMatchObject({ rows: 4, loaded: 4, skipped: 0, failed: 0, fromMock: 0, templated: 0 });
    expect(exported?.map((u) => u.id)).toEqual(ids);
    for (const customer of report.customers) {
      expect(customer).toMatchObject({ status: 'loaded', source: 'api', messageSource: 'llm', error: null });
      expect(customer.model).toBe('gpt-4o-mini-simulated');
      expect(customer.tokens.completionTokens).toBeGreaterThan(0);
      const inBank = pipeline.bankApi.users.get(customer.id)!;
      expect(inBank.news!.filter((n) => n.description === customer.message)).toEqual([
        expect.objectContaining({ icon: newsIcon, description: customer.message }),
      ]);
      expect(customer.message!.startsWith(inBank.name!.split(' ')[0]!)).toBe(true);
      expect([...customer.message!].length).toBeLessThanOrEqual(100);
      expect(exported?.find((u) => u.id === customer.id)?.news?.at(-1)?.description).toBe(customer.message);
    }
    expect(summary.estimatedCostUsd).toBeGreaterThan(0);
  });

  test('an API answering 15% 500 and 10% 429 still gets every customer loaded from its real data', async () => {
    // A load is two requests, so an attempt fails 41% of the time; all 12 of a customer's attempts failing (three
    // rounds of four) happens once in 40,000 customers. Higher rates make that a real outcome, and this test flaky.
    Object.assign(pipeline.bankApi.faults, { errorRate: 0.15, rateLimitRate: 0.1 });
    const ids = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29];
    const { summary, report } = await pipeline.run(csvOf(ids));
    expect(summary.counts).toMatchObject({ loaded: 10, fromMock: 0, skipped: 0, failed: 0 });
    expect(report.customers.every((c) => c.source === 'api')).toBe(true);
    // With a quarter of requests failing, some customers needed more than one attempt, and the report says so.
    const retried = report.customers.filter((c) => c.attempts.fetch > 1 || c.attempts.load > 1);
    expect(retried.length).toBeGreaterThan(0);
    for (const c of report.customers) {
      expect(newsAdded(c.id)).toEqual([expect.objectContaining({ icon: newsIcon, description: c.message })]);
    }
  });

  test('the bank API down: mock data fills in, flagged as such, never written over the bank, and exported', async () => {
    const down = await downUrl();
    const both = await pipeline.run(csvOf([30, 31]), { apiUrl: down, apiOutageWaitMs: 2000 });
    expect(both.summary.counts).toMatchObject({ loaded: 0, skipped: 2, fromMock: 2 });
    for (const c of both.report.customers) {
      expect(c).toMatchObject({ status: 'skipped', source: 'mock', error: { reason: 'mock_not_loaded' } });
      expect(c.attempts.fetch).toBe(4);
    }
    expect(both.exported?.map((u) => [u.id, u.name])).toEqual([
      [30, 'Cliente 30'],
      [31, 'Cliente 31'],
    ]);

    const fileOnly = await pipeline.run(csvOf([32, 33]), { apiUrl: down, apiOutageWaitMs: 2000, sink: 'file' });
    expect(fileOnly.summary.counts).toMatchObject({ loaded: 2, fromMock: 2, failed: 0, skipped: 0 });
    expect(fileOnly.report.customers.map((c) => [c.status, c.source, c.error?.reason])).toEqual([
      ['loaded', 'mock', 'api_down'],
      ['loaded', 'mock', 'api_down'],
    ]);
    expect(fileOnly.exported?.map((u) => u.news!.at(-1)?.description)).toEqual(
      fileOnly.report.customers.map((c) => c.message),
    );
  });

  test('with --on-api-failure skip or fail, a customer the API does not answer for is not made up', async () => {
    const down = await downUrl();
    const skipped = await pipeline.run(csvOf([34]), { apiUrl: down, apiOutageWaitMs: 2000, onApiFailure: 'skip' });
    expect(skipped.report.customers[0]).toMatchObject({
      status: 'skipped',
      source: null,
      error: { reason: 'api_down' },
    });
    const failed = await pipeline.run(csvOf([35]), { apiUrl: down, apiOutageWaitMs: 2000, onApiFailure: 'fail' });
    expect(failed.report.customers[0]).toMatchObject({
      status: 'failed',
      source: null,
      error: { reason: 'api_down' },
    });
    expect(failed.exported).toEqual([]);
  });

  test('an LLM that rejects the key (401): template messages per policy, one request per customer, reported', async () => {
    pipeline.llm.faults.rejectKey = true;
    const before = pipeline.llm.requests.length;
    const { summary, report } = await pipeline.run(csvOf([40, 41, 42]));
    expect(pipeline.llm.requests.length - before).toBe(3);
    expect(summary.counts).toMatchObject({ loaded: 3, templated: 3 });
    for (const c of report.customers) {
      expect(c).toMatchObject({ status: 'loaded', messageSource: 'template', error: { reason: 'llm_rejected' } });
      expect(c.error?.message).toContain('401');
      expect(c.error?.message).not.toContain('sk-test-key-for-the-simulator');
      expect(c.attempts.write).toBe(1);
    }
  });

  test('an over-long or empty reply is asked for again, then replaced by a template', async () => {
    pipeline.llm.faults.badReplyRate = 1;
    const before = pipeline.llm.requests.length;
    const { report } = await pipeline.run(csvOf([43]));
    expect(pipeline.llm.requests.length - before).toBe(4);
    const [c] = report.customers;
    expect(c).toMatchObject({ status: 'loaded', messageSource: 'template', error: { reason: 'llm_bad_reply' } });
    expect(c!.attempts.write).toBe(4);
    // The reply check's reason reaches the customer's write error.
    expect(c!.stepErrors.write?.message).toMatch(
      /^The LLM's reply was not usable: the reply (is empty|is over 100 characters)\.$/,
    );
  });

  test('user 1, which the API refuses to update, ends failed with the 422 reason after one attempt', async () => {
    const { summary, report, exported } = await pipeline.run(csvOf([1, 44]));
    expect(summary.counts).toMatchObject({ loaded: 1, failed: 1 });
    const user1 = byId(report.customers).get(1)!;
    expect(user1).toMatchObject({ status: 'failed', source: 'api', error: { reason: 'api_rejected' } });
    expect(user1.error?.message).toContain('User with ID 1 can not be updated.');
    expect(user1.attempts.load).toBe(1);
    // The export is the bank's truth: user 1 as the bank has it, the message it would have got in the report only.
    expect(exported?.find((u) => u.id === 1)).toEqual(pipeline.bankApi.users.get(1));
    expect(user1.message).toEqual(expect.any(String));
  });

  test('an id the bank does not know ends failed with reason not_found and no mock data', async () => {
    const { report, exported } = await pipeline.run(csvOf([999]));
    expect(report.customers[0]).toMatchObject({
      id: 999,
      status: 'failed',
      source: null,
      error: { reason: 'not_found' },
    });
    expect(report.customers[0]!.attempts.fetch).toBe(1);
    expect(exported).toEqual([]);
  });

  test('bad CSV rows are reported with their line numbers and the good ones still run', async () => {
    const { summary, report } = await pipeline.run('\uFEFFUserID\r\n 45 \r\nabc\r\n\r\n-4\r\n45\r\n0\r\n46\r\n');
    expect(summary.counts).toMatchObject({ rows: 6, invalid: 3, duplicates: 1, loaded: 2 });
    expect(report.invalidRows).toEqual([
      { line: 3, value: 'abc', reason: 'not a whole number' },
      { line: 5, value: '-4', reason: 'not a positive integer' },
      { line: 6, value: '45', reason: 'duplicate' },
      { line: 7, value: '0', reason: 'not a positive integer' },
    ]);
    expect(report.customers.map((c) => [c.id, c.line])).toEqual([
      [45, 2],
      [46, 8],
    ]);
  });

  test('a duplicate on a later page is caught too, and every page runs (continue-as-new)', async () => {
    const { summary, report } = await pipeline.run(csvOf([47, 48, 49, 47, 50]), { pageSize: 2 });
    expect(summary.counts).toMatchObject({ rows: 5, duplicates: 1, loaded: 4 });
    expect(report.customers.map((c) => c.id)).toEqual([47, 48, 49, 50]);
    expect(report.invalidRows).toEqual([{ line: 5, value: '47', reason: 'duplicate' }]);
  });

  test('the same list run twice leaves exactly one news item per customer', async () => {
    const ids = [51, 52, 53];
    const first = await pipeline.run(csvOf(ids));
    const second = await pipeline.run(csvOf(ids));
    expect(second.summary.counts.loaded).toBe(3);
    for (const id of ids) {
      const message = byId(first.report.customers).get(id)!.message;
      expect(newsAdded(id)).toEqual([expect.objectContaining({ icon: newsIcon, description: message })]);
    }
  });

  test('the LLM receives the first name and nothing of the account or card', async () => {
    const ids = [54, 55, 56];
    const before = pipeline.llm.requests.length;
    await pipeline.run(csvOf(ids));
    const sent = JSON.stringify(pipeline.llm.requests.slice(before));
    expect(pipeline.llm.requests.length - before).toBe(3);
    for (const id of ids) {
      const user = pipeline.bankApi.users.get(id)!;
      const [first, ...rest] = user.name!.split(' ');
      expect(sent).toContain(first);
      for (const surname of rest) expect(sent).not.toContain(surname);
    }
    for (const number of accountAndCardNumbers) expect(sent).not.toContain(number);
    expect(sent).not.toMatch(/balance|limit|agency/i);
  });
});

describe('the pipeline with no LLM configured', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ offline: true });
  });
  afterAll(async () => {
    await pipeline.close();
  });

  test('writes offline template messages in the chosen language, marked as templates, with no LLM call', async () => {
    const pt = await pipeline.run(csvOf([57]));
    const en = await pipeline.run(csvOf([58]), { locale: 'en' });
    expect(pt.report.customers[0]).toMatchObject({
      status: 'loaded',
      messageSource: 'template',
      model: null,
      error: null,
    });
    expect(pt.report.customers[0]!.message).toMatch(/invest|invist/i);
    expect(en.report.customers[0]!.message).toMatch(/invest/);
    expect(en.report.customers[0]!.message).not.toMatch(/ç|ã|você/);
    expect(pipeline.llm.requests).toHaveLength(0);
  });
});
