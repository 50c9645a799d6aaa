// The benchmark's --telemetry: the pipeline's worker with metrics (--metrics-port) and/or tracing (to an OTLP receiver
// here), /metrics scraped during and after the run and set beside the bench's own figures, the spans counted.
import type { Counts } from '../outcomes';
import { freePort } from './processes';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver';
import { now, type Span, type Timeline } from './timeline';

export type TelemetryChoice = 'metrics' | 'tracing' | 'both';
export const telemetryChoices: TelemetryChoice[] = ['metrics', 'tracing', 'both'];

/** How often /metrics is read during a run: as often as a Prometheus would scrape a busy job. */
const scrapeEveryMs = 2000;

/** One sample of a Prometheus text page. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text page, by metric name and labels. */
export function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const pairs = [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]);
      return { name: match[1]!, labels: Object.fromEntries(pairs), value: Number(match[3]) };
    });
}

/** The sum of a metric's samples whose labels include `labels`. */
export const sumOf = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

/** A figure from /metrics beside the bench's own, and how far the first is from the second, in %. */
export interface Comparison {
  metrics: number;
  bench: number;
  differencePercent: number;
}

export interface TelemetryFigures {
  metrics?: {
    scrapes: number;
    failedScrapes: number;
    /** sdw_etl_customers_total over the run (a scrape before its start, one after its result) vs customers/s. */
    throughput: Comparison;
    /** Between the first and last scrape during the run, vs the customers the simulators saw finish in that time. */
    midRunThroughput?: MidRun;
    /** A customer's mean time (sdw_etl_customer_duration_seconds _sum/_count) vs the bench's mean latency, in ms. */
    customerMeanMs: Comparison;
    /**
     * Each step's mean attempt (_sum/_count) vs the simulators' per-customer time of the requests the step surely
     * spans, in ms: the load's PUT (its GET goes out during the write, while the message is being kept).
     */
    stepMeanMs: { fetch: Comparison; write: Comparison; load: Comparison };
    /** Each counter's growth over the run beside the run's summary count. */
    countsAtEnd: Record<string, { counter: number; report: number }>;
    countsEqual: boolean;
  };
  tracing?: { spans: number; spansPerCustomer: number };
}

const compare = (metrics: number, bench: number, digits = 2): Comparison => ({
  metrics: Number(metrics.toFixed(digits)),
  bench: Number(bench.toFixed(digits)),
  differencePercent: bench === 0 ? 0 : Number((((metrics - bench) / bench) * 100).toFixed(1)),
});

/** A window of the run (seconds from its start) and the throughput in it, by the counter and by the simulators. */
export type MidRun = Comparison & { fromSecond: number; toSecond: number };

interface Scrape {
  at: number;
  customers: number;
}

export interface Watching {
  /** For the worker: its --metrics-port, its OTEL_EXPORTER_OTLP_ENDPOINT. */
  workerArgs: string[];
  workerEnv: Record<string, string>;
  /** The loopback port of the span receiver (its requests are no simulator's). */
  receiverPort?: number;
  /** Scrapes just before the run starts, then every 2 s until `runEnded`, which scrapes once more. */
  runStarting: () => Promise<void>;
  runEnded: () => Promise<void>;
  /** The figures, once the worker has stopped (it sends its last spans as it stops). */
  figures: (run: {
    timeline: Timeline;
    seconds: number;
    counts: Counts;
    runId: string;
    bankPort: number;
    spans: Span[];
  }) => TelemetryFigures;
  close: () => Promise<void>;
}

/** Sets up what `choice` watches (undefined: nothing, as without --telemetry). */
export async function startWatching(choice: TelemetryChoice | undefined): Promise<Watching | undefined> {
  if (!choice) return undefined;
  const withMetrics = choice !== 'tracing';
  const receiver: OtlpReceiver | undefined =
    choice !== 'metrics' ? await startOtlpReceiver({ keepSpans: false }) : undefined;
  const metricsUrl = withMetrics ? `http://127.0.0.1:${await freePort()}/metrics` : undefined;
  const scrapes: Scrape[] = [];
  let first: Sample[] = [];
  let last: Sample[] = [];
  let failed = 0;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const scrape = async (): Promise<Sample[]> => {
    const at = now();
    const samples = parseMetrics(await (await fetch(metricsUrl!)).text());
    scrapes.push({ at, customers: sumOf(samples, 'sdw_etl_customers_total') });
    return samples;
  };
  return {
    workerArgs: metricsUrl ? ['--metrics-port', new URL(metricsUrl).port] : [],
    workerEnv: receiver ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } : {},
    receiverPort: receiver?.port,
    async runStarting() {
      if (!metricsUrl) return;
      first = await scrape();
      timer = setInterval(() => {
        inFlight = scrape().then(
          () => undefined,
          () => void (failed += 1),
        );
      }, scrapeEveryMs);
    },
    async runEnded() {
      if (!metricsUrl) return;
      clearInterval(timer);
      await inFlight;
      last = await scrape();
    },
    figures({ timeline, seconds, counts, runId, bankPort, spans }) {
      const figures: TelemetryFigures = {};
      if (receiver) {
        const n = Math.max(1, timeline.customers);
        figures.tracing = {
          spans: receiver.received(),
          spansPerCustomer: Number((receiver.received() / n).toFixed(1)),
        };
      }
      if (!metricsUrl) return figures;
      const grown = (name: string, labels: Record<string, string> = {}): number =>
        sumOf(last, name, labels) - sumOf(first, name, labels);
      const start = scrapes[0]!;
      const end = scrapes.at(-1)!;
      const stepMean = (step: string): number =>
        (grown('sdw_etl_step_duration_seconds_sum', { step }) * 1000) /
        Math.max(1, grown('sdw_etl_step_duration_seconds_count', { step }));
      const b = timeline.breakdownMs;
      // Customers with no matched LLM call count 0 ms in the bench's LLM mean: the mean of the matched ones.
      const matched = timeline.customers - timeline.unmatchedLlm;
      const countsAtEnd: Record<string, { counter: number; report: number }> = {
        loaded: { counter: grown('sdw_etl_customers_total', { status: 'loaded' }), report: counts.loaded },
        skipped: { counter: grown('sdw_etl_customers_total', { status: 'skipped' }), report: counts.skipped },
        failed: { counter: grown('sdw_etl_customers_total', { status: 'failed' }), report: counts.failed },
        fromMock: { counter: grown('sdw_etl_fallbacks_total', { kind: 'mock_customer' }), report: counts.fromMock },
        templated: {
          counter: grown('sdw_etl_fallbacks_total', { kind: 'template_message' }),
          report: counts.templated,
        },
        promptTokens: { counter: grown('sdw_etl_llm_tokens_total', { kind: 'prompt' }), report: counts.promptTokens },
        completionTokens: {
          counter: grown('sdw_etl_llm_tokens_total', { kind: 'completion' }),
          report: counts.completionTokens,
        },
        rows: { counter: grown('sdw_etl_run_rows_read_total', { run_id: runId }), report: counts.rows },
      };
      figures.metrics = {
        scrapes: scrapes.length,
        failedScrapes: failed,
        throughput: compare(
          (end.customers - start.customers) / ((end.at - start.at) / 1000),
          timeline.customers / seconds,
        ),
        midRunThroughput: midRun(start.at, scrapes.slice(1, -1), spans, bankPort),
        customerMeanMs: compare(
          (grown('sdw_etl_customer_duration_seconds_sum') * 1000) /
            Math.max(1, grown('sdw_etl_customer_duration_seconds_count')),
          timeline.meanLatencyMs,
          1,
        ),
        stepMeanMs: {
          fetch: compare(stepMean('fetch'), b.getCustomer.mean, 1),
          write: compare(stepMean('write'), matched > 0 ? (b.llm.mean * timeline.customers) / matched : 0, 1),
          load: compare(stepMean('load'), b.put.mean, 1),
        },
        countsAtEnd,
        countsEqual: Object.values(countsAtEnd).every((c) => c.counter === c.report),
      };
      return figures;
    },
    async close() {
      clearInterval(timer);
      await receiver?.close();
    },
  };
}

/**
 * The counter's rate between the first and last scrape taken during the run, beside the customers whose last bank
 * answer came in the same window (a customer is counted when its batch is saved, so the counter lags by up to a
 * batch: the longer the window, the less that shows).
 */
function midRun(runStart: number, during: Scrape[], spans: Span[], bankPort: number): MidRun | undefined {
  if (during.length < 2) return undefined;
  const from = during[0]!;
  const to = during.at(-1)!;
  const lastAnswer = new Map<string, number>();
  for (const span of spans) {
    if (span.port !== bankPort || !/^\/users\/\d+$/.test(span.path)) continue;
    lastAnswer.set(span.path, Math.max(lastAnswer.get(span.path) ?? 0, span.end));
  }
  const finished = [...lastAnswer.values()].filter((end) => end > from.at && end <= to.at).length;
  const windowSeconds = (to.at - from.at) / 1000;
  return {
    ...compare((to.customers - from.customers) / windowSeconds, finished / windowSeconds),
    fromSecond: Number(((from.at - runStart) / 1000).toFixed(1)),
    toSecond: Number(((to.at - runStart) / 1000).toFixed(1)),
  };
}

const pct = (c: Comparison): string => `${c.differencePercent >= 0 ? '+' : ''}${c.differencePercent}%`;

/** The figures as lines beside the bench's own. */
export function describeTelemetry(t: TelemetryFigures): string[] {
  const lines: string[] = [];
  const m = t.metrics;
  if (m) {
    const mid = m.midRunThroughput;
    lines.push(
      `/metrics: ${m.throughput.metrics}/s over the run vs the bench's ${m.throughput.bench}/s (${pct(m.throughput)})` +
        (mid
          ? `; ${mid.metrics}/s from ${mid.fromSecond} s to ${mid.toSecond} s vs ${mid.bench}/s finished at the simulators (${pct(mid)})`
          : '') +
        ` [${m.scrapes} scrapes${m.failedScrapes ? `, ${m.failedScrapes} failed` : ''}]`,
    );
    lines.push(
      `/metrics: mean customer latency ${m.customerMeanMs.metrics} vs the bench's ${m.customerMeanMs.bench} ms (${pct(m.customerMeanMs)})`,
    );
    const steps = Object.entries(m.stepMeanMs).map(([step, c]) => `${step} ${c.metrics} vs ${c.bench} ms (${pct(c)})`);
    lines.push(`/metrics: mean step ${steps.join(', ')}`);
    const differ = Object.entries(m.countsAtEnd).filter(([, c]) => c.counter !== c.report);
    lines.push(
      m.countsEqual
        ? `/metrics: the counters at the end equal the run's summary (${Object.entries(m.countsAtEnd)
            .map(([k, c]) => `${k} ${c.report}`)
            .join(', ')})`
        : `/metrics: counters that differ from the run's summary: ${differ.map(([k, c]) => `${k} ${c.counter} vs ${c.report}`).join(', ')}`,
    );
  }
  if (t.tracing) lines.push(`traces: ${t.tracing.spans} spans received, ${t.tracing.spansPerCustomer} per customer`);
  return lines;
}
