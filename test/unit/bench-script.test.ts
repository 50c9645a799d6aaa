// The benchmark's concurrent script and its clock: the script does sdw-etl's work (one checked message appended to
// each customer's news), and the simulators' record of it gives each customer four requests, matched to it.
import { checkReply } from '../../src/activities/llm/reply-check';
import { runConcurrentScript } from '../../src/bench/concurrent-script';
import { analyse, now, portOf, RequestRecorder, type Span } from '../../src/bench/timeline';
import { firstName } from '../../src/personalize';
import { generateCustomers, startBankApi } from '../../src/simulators/bank-api';
import { startLlm } from '../../src/simulators/llm';

test('the concurrent script loads one checked message per customer, and each customer shows four requests', async () => {
  const recorder = new RequestRecorder();
  const bank = await startBankApi({ seed: generateCustomers(31, 1), faults: { latencyMs: 5 } });
  const llm = await startLlm({ faults: { latencyMs: 50 } });
  try {
    const ids = Array.from({ length: 30 }, (_, i) => i + 2);
    const start = now();
    const outcomes = await runConcurrentScript(ids, 5, {
      apiUrl: bank.url,
      llmBaseURL: llm.baseURL,
      apiKey: 'sk-test',
      model: 'gpt-4o-mini',
      locale: 'pt-BR',
    });
    const end = now();
    expect(outcomes).toEqual(ids.map(() => 'loaded'));
    for (const id of ids) {
      const user = bank.users.get(id)!;
      expect(user.news).toHaveLength(1);
      const name = firstName(user.name, 'pt-BR');
      expect(checkReply(user.news![0]!.description, 'pt-BR', name)).toEqual({ message: user.news![0]!.description });
    }
    const timeline = analyse(
      recorder.take([portOf(bank.url), portOf(llm.url)]),
      portOf(bank.url),
      (id) => firstName(bank.users.get(id)?.name ?? null, 'pt-BR'),
      5,
      { start, end },
    );
    expect(timeline.customers).toBe(30);
    expect(timeline.requestsPerCustomer).toBe(4);
    expect(timeline.unmatchedLlm).toBe(0);
    expect(timeline.breakdownMs.llm.p50).toBeGreaterThanOrEqual(50);
    expect(timeline.breakdownMs.getCustomer.p50).toBeGreaterThanOrEqual(5);
    expect(timeline.lanesInUse.mean).toBeLessThanOrEqual(5);
  } finally {
    recorder.close();
    await bank.close();
    await llm.close();
  }
});

test('lanes in use count the lanes idle while customers were still waiting, not those idle at the end', () => {
  const bankPort = 18080;
  const customer = (id: number, start: number, end: number): Span => ({
    port: bankPort,
    method: 'GET',
    path: `/users/${id}`,
    start,
    end,
    status: 200,
  });
  // Two lanes, four customers, the first request 50 ms after the start: a lane idle from 150 to 250 ms while the
  // fourth customer waited, then both idle, then one lane for the fourth alone.
  const timeline = analyse(
    [customer(2, 50, 150), customer(3, 50, 150), customer(4, 150, 250), customer(5, 350, 450)],
    bankPort,
    () => '',
    2,
    { start: 0, end: 450 },
  );
  // Samples every 50 ms: 0, 2, 2, 1, 1 while two or more were yet to end; then 0, 0, 1, 1.
  expect(timeline.lanesInUseWhileWorkLeft).toEqual({
    fromStart: { mean: 1.2, p10: 0 },
    fromFirstRequest: { mean: 1.5, p10: 1 },
  });
  expect(timeline.lanesInUse).toEqual({ mean: 0.9, p10: 0 });
  expect(timeline.beforeFirstRequestMs).toBe(50);
});
