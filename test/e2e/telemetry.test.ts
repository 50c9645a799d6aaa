import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from '../../src/bench/otlp-receiver';
import { freePort, startWorkerProcess, type WorkerProcess } from '../../src/bench/processes';
import { parseMetrics, sumOf } from '../../src/bench/watching';
import type { RunReport } from '../../src/report';
import { generateCustomers, startBankApi, type BankApiSimulator } from '../../src/simulators/bank-api';
import { startLlm, type LlmSimulator } from '../../src/simulators/llm';
import { csvOf, downUrl, scratchDir, scratchFolderEnv, sdwEtl, writeCsv } from '../helpers';

const attribute = (span: OtlpSpan, key: string): string | undefined => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : String(value.intValue));
};

describe('a worker watched with Prometheus, OpenTelemetry and JSON logs', () => {
  const customers = 120;
  let bankApi: BankApiSimulator;
  let llm: LlmSimulator;
  let otlp: OtlpReceiver;
  let worker: WorkerProcess;
  let metricsUrl: string;
  let env: Record<string, string>;
  const stderr: string[] = [];
  const taskQueue = `sdw-etl-telemetry-${process.pid}`;
  const dir = scratchDir();

  beforeAll(async () => {
    bankApi = await startBankApi({ seed: generateCustomers(customers, 1) });
    // Some replies are unusable, so the LLM is called more often than there are messages.
    llm = await startLlm({ faults: { badReplyRate: 0.1 } });
    otlp = await startOtlpReceiver({ keepSpans: true });
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    env = {
      TEMPORAL_ADDRESS: process.env.SDW_TEST_TEMPORAL_ADDRESS!,
      SDW_TASK_QUEUE: taskQueue,
      SDW_API_URL: bankApi.url,
      SDW_DATA_DIR: path.join(dir, 'data'),
      ...scratchFolderEnv(),
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    };
    worker = await startWorkerProcess(
      { ...env, OPENAI_BASE_URL: llm.baseURL, OPENAI_API_KEY: 'sk-test', SDW_LOG_FORMAT: 'json' },
      ['--metrics-port', String(metricsPort)],
    );
    worker.process.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  });
  afterAll(async () => {
    await worker?.stop();
    await bankApi?.close();
    await llm?.close();
    await otlp?.close();
  });

  const scrape = async () => parseMetrics(await (await fetch(metricsUrl)).text());
  const pause = () => new Promise((resolve) => setTimeout(resolve, 100));

  test('while the bank API answers no one, the run shows it down; once it answers, up again', async () => {
    const apiUrl = await downUrl();
    const input = writeCsv(dir, csvOf([2, 3]), 'outage.csv');
    const runId = `outage-${process.pid}`;
    const args = ['run', '--input', input, '--output', path.join(dir, 'outage.json'), '--id', runId];
    const ran = sdwEtl([...args, '--api-url', apiUrl, '--api-outage-wait', '5m'], env, dir);
    const down = () => sumOf(samples, 'sdw_etl_bank_api_down', { run_id: runId });
    let samples = await scrape();
    while (down() !== 1) samples = await pause().then(scrape);
    // The API comes back on the same address: the run's probe sees it and the run carries on.
    const port = Number(new URL(apiUrl).port);
    const back = await startBankApi({ seed: generateCustomers(3, 1), port });
    try {
      while (down() !== 0) samples = await pause().then(scrape);
      expect((await ran).code).toBe(0);
    } finally {
      await back.close();
    }
  });

  test('the counters move during a run and equal its report at the end; its trace links every step to the run', async () => {
    // Customer 1 refuses its update; 999999 is not at the bank; "x" is no id.
    const ids = [...Array.from({ length: customers }, (_, i) => i + 1), 999999, 'x'];
    const input = writeCsv(dir, csvOf(ids), 'watched.csv');
    const runId = `watched-${process.pid}`;
    // The worker has run the outage test's customers already: this run's figures are what grows from here.
    const before = await scrape();
    const chatCallsBefore = llm.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
    const ran = sdwEtl(
      [
        'run',
        '--input',
        input,
        '--output',
        path.join(dir, 'watched.json'),
        '--id',
        runId,
        '--batch-size',
        '4',
        '--concurrency',
        '12',
      ],
      env,
      dir,
    );

    // During the run: once a batch is saved, the bank is held so no other customer can finish, and a scrape shows
    // the run part done.
    let during: Awaited<ReturnType<typeof scrape>> = [];
    while (sumOf(during, 'sdw_etl_run_customers_total', { run_id: runId }) === 0) {
      during = await pause().then(scrape);
    }
    const release = bankApi.hold();
    during = await scrape();
    release();
    const doneDuring = sumOf(during, 'sdw_etl_run_customers_total', { run_id: runId });
    expect(doneDuring).toBeGreaterThan(0);
    expect(doneDuring).toBeLessThan(customers + 1);
    expect(sumOf(during, 'sdw_etl_step_duration_seconds_count', { step: 'fetch' })).toBeGreaterThan(0);

    const { code } = await ran;
    expect(code).toBe(2); // two customers failed
    const report = JSON.parse(readFileSync(path.join(dir, `${runId}.report.json`), 'utf8')) as RunReport;
    const after = await scrape();
    const grown = (name: string, labels: Record<string, string> = {}) =>
      sumOf(after, name, labels) - sumOf(before, name, labels);
    const c = report.counts;
    expect(grown('sdw_etl_customers_total', { status: 'loaded' })).toBe(c.loaded);
    expect(grown('sdw_etl_customers_total', { status: 'failed' })).toBe(c.failed);
    expect(grown('sdw_etl_customers_total', { status: 'failed', reason: 'not_found' })).toBe(1);
    expect(grown('sdw_etl_customers_total', { status: 'failed', reason: 'api_rejected' })).toBe(1);
    expect(grown('sdw_etl_customers_total', { status: 'skipped' })).toBe(c.skipped);
    expect(grown('sdw_etl_fallbacks_total', { kind: 'template_message' })).toBe(c.templated);
    expect(grown('sdw_etl_fallbacks_total', { kind: 'mock_customer' })).toBe(c.fromMock);
    expect(grown('sdw_etl_llm_tokens_total', { kind: 'prompt' })).toBe(c.promptTokens);
    expect(grown('sdw_etl_llm_tokens_total', { kind: 'completion' })).toBe(c.completionTokens);
    expect(sumOf(after, 'sdw_etl_run_customers_total', { run_id: runId })).toBe(c.loaded + c.skipped + c.failed);
    expect(sumOf(after, 'sdw_etl_run_rows_read_total', { run_id: runId })).toBe(c.rows);
    // Every request the LLM answered is a call, the unusable replies too.
    const chatCalls = llm.requests.filter((r) => r.path.endsWith('/chat/completions')).length - chatCallsBefore;
    expect(grown('sdw_etl_llm_calls_total')).toBe(chatCalls);
    expect(chatCalls).toBeGreaterThan(c.loaded);
    expect(grown('sdw_etl_llm_message_cost_dollars_sum')).toBeGreaterThan(0);
    // A customer's time: one sample for each customer whose steps ran, the report's step times summed.
    const stepped = report.customers.filter((customer) => customer.attempts.fetch > 0);
    const stepsMs = stepped.reduce((ms, { durationsMs: d }) => ms + d.fetch + d.write + d.load, 0);
    expect(grown('sdw_etl_customer_duration_seconds_count')).toBe(stepped.length);
    expect(grown('sdw_etl_customer_duration_seconds_sum')).toBeCloseTo(stepsMs / 1000, 3);
    // The SDK's own metrics come on the same page.
    expect(after.some((s) => s.name.startsWith('temporal_'))).toBe(true);
    // No customer id on any series.
    expect(after.some((s) => Object.keys(s.labels).some((k) => /customer/.test(k)))).toBe(false);

    // The worker sends its last spans as it stops.
    await worker.stop();
    const spans = otlp.spans;
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (span: OtlpSpan): string[] => {
      const names: string[] = [];
      for (let s = byId.get(span.parentSpanId ?? ''); s; s = byId.get(s.parentSpanId ?? '')) names.push(s.name);
      return names;
    };
    const start = spans.find((s) => s.name === 'StartWorkflow:etlRun' && attribute(s, 'temporalWorkflowId') === runId);
    expect(start).toBeDefined();
    const loaded = ids.filter((id): id is number => typeof id === 'number' && id !== 1 && id !== 999999);
    // A customer's steps are spans of its first try (RunStep:*), or of the step's own activity when it was retried.
    const stepSpanNames: Record<string, string[]> = {
      fetch: ['RunStep:fetch', 'RunActivity:fetchCustomer'],
      write: ['RunStep:write', 'RunActivity:writeMessage'],
      load: ['RunStep:load', 'RunActivity:loadCustomer'],
    };
    for (const names of Object.values(stepSpanNames)) {
      const stepSpans = spans.filter((s) => names.includes(s.name) && s.traceId === start!.traceId);
      const seen = new Set(stepSpans.map((s) => Number(attribute(s, 'sdw.customer_id'))));
      for (const id of loaded) expect(seen.has(id)).toBe(true);
      for (const span of stepSpans) {
        expect(ancestors(span)).toEqual(expect.arrayContaining(['RunWorkflow:personalizeBatch', 'RunWorkflow:etlRun']));
      }
    }
    // The HTTP calls are spans of the steps that make them; a load's GET sent ahead (while its message was being
    // kept) is one of the first tries' own.
    const gets = spans.filter((s) => s.name === 'GET /users/{id}');
    expect(gets.length).toBeGreaterThan(0);
    for (const get of gets) {
      expect([...stepSpanNames.fetch!, ...stepSpanNames.load!, 'RunActivity:firstTries']).toContain(
        byId.get(get.parentSpanId!)?.name,
      );
    }
    const chat = spans.find((s) => s.name === 'POST /chat/completions')!;
    expect(stepSpanNames.write).toContain(byId.get(chat.parentSpanId!)?.name);
    // No customer data in any span: no name of a customer appears.
    const names = [...bankApi.users.values()].flatMap((u) => (u.name && u.name.length > 3 ? [u.name] : []));
    const attributes = JSON.stringify(spans.map((s) => s.attributes ?? []));
    expect(names.filter((n) => attributes.includes(n))).toEqual([]);

    // Every log line is a JSON object; a step's lines name its run, batch, customer, step, attempt and trace.
    const lines = stderr
      .join('')
      .split('\n')
      .filter((l) => l !== '');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const notFound = entries.find((e) => e.customerId === 999999 && e.step === 'fetch');
    expect(notFound).toMatchObject({ runId, level: 'WARN', attempt: 1 });
    expect(notFound!.batch).toMatch(/^lines-\d+-\d+$/);
    expect(notFound!.traceId).toBe(start!.traceId);
    const batchDone = entries.find((e) => e.message === 'Batch done' && e.runId === runId);
    expect(batchDone).toMatchObject({ level: 'INFO', traceId: start!.traceId });
    expect(batchDone!.batch).toMatch(/^lines-\d+-\d+$/);
  });
});
