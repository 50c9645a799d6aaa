// npm run bench -- --telemetry both: the pipeline's worker serves /metrics and sends its spans to the bench, whose
// figures set the scrapes beside its own: the counters equal the run's summary, the spans are counted.
import { runPipeline } from '../../src/bench/systems';
import { RequestRecorder } from '../../src/bench/timeline';

test('with --telemetry both, the counters at the end equal the summary and every customer sends its spans', async () => {
  const recorder = new RequestRecorder();
  try {
    const customers = 30;
    const result = await runPipeline(
      {
        customers,
        llmLatencyMs: 20,
        apiLatencyMs: 5,
        concurrency: 10,
        batchSize: 10,
        pageSize: 5000,
        telemetry: 'both',
      },
      recorder,
    );
    expect(result.loaded).toBe(customers);
    const metrics = result.telemetry!.metrics!;
    expect(metrics.countsEqual).toBe(true);
    expect(metrics.countsAtEnd.loaded).toEqual({ counter: customers, report: customers });
    expect(metrics.countsAtEnd.rows).toEqual({ counter: customers, report: customers });
    expect(metrics.countsAtEnd.promptTokens!.counter).toBeGreaterThan(0);
    expect(metrics.throughput.metrics).toBeGreaterThan(0);
    // A customer as the worker times it spans its requests as the simulators saw them (three steps rounded to 1 ms).
    expect(metrics.customerMeanMs.bench).toBeGreaterThan(0);
    expect(metrics.customerMeanMs.metrics).toBeGreaterThanOrEqual(metrics.customerMeanMs.bench - 1.5);
    // A step as the worker times it spans its requests as the simulators saw them: never shorter (1 decimal each).
    for (const step of Object.values(metrics.stepMeanMs)) {
      expect(step.bench).toBeGreaterThan(0);
      expect(step.metrics).toBeGreaterThanOrEqual(step.bench - 0.1);
    }
    // Each customer: its three steps and four HTTP calls at least (its batch's and run's spans come on top).
    expect(result.telemetry!.tracing!.spansPerCustomer).toBeGreaterThanOrEqual(7);
  } finally {
    recorder.close();
  }
}, 600_000);
