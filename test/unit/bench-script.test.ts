// The benchmark's concurrent script and its clock: the script does sdw-etl's work (one checked message appended to
// each customer's news), and the simulators' record of it gives each customer four requests, matched to it.
import { checkReply } from '../../src/activities/llm/reply-check';
import { runConcurrentScript } from '../../src/bench/concurrent-script';
import { analyse, now, portOf, RequestRecorder } from '../../src/bench/timeline';
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
