import { newsIcon } from '../../src/shared';
import { csvOf, startPipeline, type Pipeline } from '../helpers';

describe('the pipeline on a real Temporal server', () => {
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
      expect(inBank.news.filter((n) => n.description === customer.message)).toEqual([
        expect.objectContaining({ icon: newsIcon, description: customer.message }),
      ]);
      const firstName = inBank.name.split(' ')[0]!;
      expect(customer.message!.startsWith(firstName)).toBe(true);
      expect([...customer.message!].length).toBeLessThanOrEqual(100);
    }
    expect(summary.estimatedCostUsd).toBeGreaterThan(0);
  });
});
