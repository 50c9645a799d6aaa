import { randomUUID } from 'node:crypto';
import { createLlmQuota, openLlmQuota, type LlmQuota } from '../../src/activities/llm/quota';
import { ConfigError } from '../../src/config';
import { failureTypes } from '../../src/failures';
import { activityEnv, failureOf, scratchDir, sdwEtl } from '../helpers';

const url = (): string => process.env.SDW_TEST_DATABASE_URL!;
const llm = { baseURL: 'http://127.0.0.1:1/v1', apiKey: 'sk-x', model: 'gpt-4o-mini' };

describe('the fleet-wide LLM quota in the shared PostgreSQL store (SDW_LLM_RPM)', () => {
  const env = activityEnv();
  const opened: LlmQuota[] = [];
  afterAll(async () => {
    for (const quota of opened) await quota.close();
  });

  test('two workers drawing on one quota get slots spaced (window + 1 s) / calls apart, on the database clock', async () => {
    const name = `quota-${randomUUID()}`;
    const config = { calls: 12, windowMs: 1_200 }; // slots 183 ms apart
    const a = await createLlmQuota(url(), name, config);
    const b = await createLlmQuota(url(), name, config);
    opened.push(a, b);
    const granted: number[] = [];
    const started = Date.now(); // before the first slot, which is taken on the database's clock once this runs
    const take = (quota: LlmQuota) => env.run(async () => (await quota.take(), granted.push(Date.now())));
    await Promise.all([a, b, a, b, a, b].map(take));
    // Six calls: the first at once, the sixth no sooner than five spacings later (a timer never fires early).
    expect(Math.max(...granted) - started).toBeGreaterThanOrEqual(5 * ((1_200 + 1_000) / 12) - 2);
  });

  test('a slot more than 10 s away is not taken: the call fails as rate limited, to be retried when the slot comes', async () => {
    const quota = await createLlmQuota(url(), `quota-${randomUUID()}`, { calls: 1, windowMs: 14_000 });
    opened.push(quota);
    await env.run(() => quota.take()); // the first call goes at once; the next slot is 15 s on
    const refused = await failureOf(env.run(() => quota.take()));
    expect(refused).toMatchObject({ type: failureTypes.llmRateLimited, nonRetryable: false });
    expect(refused.nextRetryDelay).toBeGreaterThan(10_000);
    expect(refused.nextRetryDelay).toBeLessThanOrEqual(15_000);
    // The refused call took no slot: the next free one is still 15 s after the first, not 30 s.
    expect((await failureOf(env.run(() => quota.take()))).nextRetryDelay).toBeLessThanOrEqual(15_000);
  });

  test('a quota with no shared store is refused in one sentence; with no LLM (templates) there is nothing to cap', async () => {
    const quota = { calls: 600, windowMs: 60_000 };
    await expect(openLlmQuota({ llm, llmQuota: quota, databaseUrl: undefined })).rejects.toThrow(
      new ConfigError(
        'SDW_LLM_RPM (--llm-rpm) needs SDW_DATABASE_URL: the quota is kept in the shared PostgreSQL store so that every worker on every host draws on the same one (scripts/postgres.sh start prints a URL).',
      ),
    );
    await expect(openLlmQuota({ llm: undefined, llmQuota: quota, databaseUrl: undefined })).resolves.toBeUndefined();
  });

  test('sdw-etl worker --llm-rpm with no SDW_DATABASE_URL exits 1 with that sentence', async () => {
    const ran = await sdwEtl(
      ['worker', '--llm-rpm', '600'],
      { TEMPORAL_ADDRESS: process.env.SDW_TEST_TEMPORAL_ADDRESS!, OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' },
      scratchDir(),
    );
    expect(ran.code).toBe(1);
    expect(ran.stderr.trim()).toBe(
      'sdw-etl: SDW_LLM_RPM (--llm-rpm) needs SDW_DATABASE_URL: the quota is kept in the shared PostgreSQL store so that every worker on every host draws on the same one (scripts/postgres.sh start prints a URL).',
    );
  });
});
