// sdw-etl's own Prometheus metrics: their names, labels and buckets, and how a batch's saved outcomes count in them.
// Recorded through the SDK's metric meter, so they leave by the worker's --metrics-port with the SDK's own.
import type { MetricMeter } from '@temporalio/common';
import type { CustomerRecord } from '../activities/store/store';
import { estimateCostUsd } from '../pricing';

/**
 * The names as they are created; the Prometheus exporter adds `_total` to counters and the unit to histograms
 * (`sdw_etl_step_duration` becomes `sdw_etl_step_duration_seconds`). No label ever holds a customer id; only the
 * per-run series (one each per run) hold a run id.
 */
export const metricNames = {
  /** Customers whose outcome was saved, by status and reason (the step error's reason, or `none`). */
  customers: 'sdw_etl_customers',
  /** Fallbacks taken: `mock_customer` (the bank did not answer), `template_message` (no LLM message). */
  fallbacks: 'sdw_etl_fallbacks',
  /** LLM tokens by model and kind (prompt, completion), of the messages saved. */
  llmTokens: 'sdw_etl_llm_tokens',
  /** The estimated cost of each LLM-written message, in dollars; its `_sum` is the spend. */
  llmCost: 'sdw_etl_llm_message_cost',
  /** LLM requests (every attempt) by model and result (`ok` or the failure type). */
  llmCalls: 'sdw_etl_llm_calls',
  /** Each attempt of a step (fetch: bank GET, write: LLM, load: bank GET+PUT or file), by step and result. */
  stepDuration: 'sdw_etl_step_duration',
  /** Each customer whose steps ran: the time its steps took, first request to last answer, retries included. */
  customerDuration: 'sdw_etl_customer_duration',
  /** Rows of a run's CSV read so far (customers, invalid rows and duplicates), per run. */
  runRowsRead: 'sdw_etl_run_rows_read',
  /** Customers of a run whose outcome was saved, per run. */
  runCustomers: 'sdw_etl_run_customers',
  /** 1 while a run waits for (or gave up on) a bank API that answers no one, 0 once it answers; per run. */
  bankApiDown: 'sdw_etl_bank_api_down',
} as const;

/**
 * Prometheus exporter bucket boundaries: steps take milliseconds to tens of seconds, a customer tenths of a second to
 * minutes (an outage's retries); a message costs micro-dollars.
 */
export const histogramBuckets: Record<string, number[]> = {
  [metricNames.stepDuration]: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60],
  [metricNames.customerDuration]: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
  [metricNames.llmCost]: [0.00001, 0.00002, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.01],
};

/** The model label of customers with no LLM message, and of calls on a worker with no model named. */
const noModel = 'none';

/** The steps measured, by activity name. */
export const stepOfActivity: Record<string, string> = {
  fetchCustomer: 'fetch',
  writeMessage: 'write',
  loadCustomer: 'load',
};

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** The worker's instruments, made once on the SDK's metric meter (the runtime's: a no-op without --metrics-port). */
export function createWorkerMetrics(meter: MetricMeter, llmModel: string | undefined) {
  const customers = meter.createCounter(metricNames.customers, undefined, 'Customers whose outcome was saved');
  const fallbacks = meter.createCounter(metricNames.fallbacks, undefined, 'Fallbacks taken');
  const tokens = meter.createCounter(metricNames.llmTokens, undefined, 'LLM tokens of saved messages');
  const cost = meter.createHistogram(metricNames.llmCost, 'float', 'dollars', 'Estimated cost of each LLM message');
  const llmCalls = meter.createCounter(metricNames.llmCalls, undefined, 'LLM requests, every attempt');
  const stepDuration = meter.createHistogram(
    metricNames.stepDuration,
    'float',
    'seconds',
    'Duration of each attempt of a step',
  );
  const customerDuration = meter.createHistogram(
    metricNames.customerDuration,
    'float',
    'seconds',
    "The time a customer's steps took, retries included",
  );
  const runCustomers = meter.createCounter(metricNames.runCustomers, undefined, 'Customers of a run saved');
  const runRowsRead = meter.createCounter(metricNames.runRowsRead, undefined, "Rows of a run's CSV read");
  return {
    /** Counts customers once their outcome is saved for the first time (docs/operations.md, "Watching it run"). */
    savedOutcomes(runId: string, records: CustomerRecord[]): void {
      if (records.length === 0) return;
      for (const { outcome } of records) {
        customers.add(1, { status: outcome.status, reason: outcome.error?.reason ?? 'none' });
        const { fetch, write, load } = outcome.durationsMs;
        if (outcome.attempts.fetch > 0)
          customerDuration.record((fetch + write + load) / 1000, { status: outcome.status });
        if (outcome.source === 'mock') fallbacks.add(1, { kind: 'mock_customer' });
        if (outcome.messageSource === 'template') fallbacks.add(1, { kind: 'template_message' });
        // Tokens as the report counts them: whatever a customer's messages cost, used or not.
        const { promptTokens, completionTokens } = outcome.tokens;
        if (promptTokens + completionTokens === 0) continue;
        const model = outcome.model ?? noModel;
        tokens.add(promptTokens, { model, kind: 'prompt' });
        tokens.add(completionTokens, { model, kind: 'completion' });
        cost.record(estimateCostUsd(outcome.model, promptTokens, completionTokens, outcome.tokens.pricing), { model });
      }
      runCustomers.add(records.length, { run_id: runId });
    },
    /** Counts a page of a run's CSV once it is read. */
    rowsRead(runId: string, rows: number): void {
      runRowsRead.add(rows, { run_id: runId });
    },
    /** One attempt of a step: its duration and, for an LLM call, the call. */
    stepAttempt(step: string, seconds: number, result: string): void {
      stepDuration.record(seconds, { step, result });
      if (step === 'write' && llmModel !== undefined) llmCalls.add(1, { model: llmModel, result });
    },
  };
}
