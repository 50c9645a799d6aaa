// The workflow API: what a run takes (options and their defaults), what it reports while it runs and when it ends,
// the signals and query it answers, its children's ids, and the search attributes the Web UI filters on.
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CsvCursor } from '../activities/extract';
import { campaignOf } from '../campaign';
import type { Counts, CustomerOutcome, CustomerRow } from '../outcomes';
import type { Locale } from '../personalize';

export const searchAttributes = {
  runId: defineSearchAttributeKey('SdwRunId', 'KEYWORD'),
  /** On a run made by retry-failed: the run it retries. */
  retryOf: defineSearchAttributeKey('SdwRetryOf', 'KEYWORD'),
  // A batch of customers: its customer ids, and the outcomes and data sources its customers ended with. (The
  // dev server's SQLite store holds three keyword lists at most; the message source is in the report.)
  customerIds: defineSearchAttributeKey('SdwCustomerIds', 'KEYWORD_LIST'),
  outcomes: defineSearchAttributeKey('SdwOutcomes', 'KEYWORD_LIST'),
  customerSources: defineSearchAttributeKey('SdwCustomerSources', 'KEYWORD_LIST'),
} as const;

/** Where personalized customers go: the bank API (PUT), the JSON export, or both. */
export type SinkChoice = 'api' | 'file' | 'both';
export const sinkChoices: readonly SinkChoice[] = ['api', 'file', 'both'];
/** What to do with a customer the bank API does not answer for, once retries are exhausted. */
export type ApiFailurePolicy = 'mock' | 'skip' | 'fail';
export const apiFailurePolicies: readonly ApiFailurePolicy[] = ['mock', 'skip', 'fail'];
/** What to do when the LLM gives no usable message, once retries are exhausted. */
export type LlmFailurePolicy = 'template' | 'fail';
export const llmFailurePolicies: readonly LlmFailurePolicy[] = ['template', 'fail'];
/** How messages are asked for: one request per customer, or the provider's Batch API (half the price, within 24 h). */
export type LlmMode = 'sync' | 'batch';
export const llmModes: readonly LlmMode[] = ['sync', 'batch'];

export interface RunOptions {
  /** Path of the CSV of customer ids, as the worker sees it (as the CLI saw it, when the input is stored). */
  input: string;
  /** The CLI streamed the CSV's rows into the shared store under the run's id: no worker needs the file. */
  inputStored?: boolean;
  /** Path of the JSON export; the report goes beside it. */
  output: string;
  /** The bank API; when absent, the worker's SDW_API_URL. */
  apiUrl?: string;
  sink: SinkChoice;
  /** Customers in flight at once. */
  concurrency: number;
  /** Customers per batch workflow (at most `concurrency`; see batchPlan). */
  batchSize: number;
  onApiFailure: ApiFailurePolicy;
  onLlmFailure: LlmFailurePolicy;
  locale: Locale;
  /** Rows read per page; the run continues as new after each page, so history stays bounded. */
  pageSize: number;
  /** How long the run waits out a bank API that answers no one before --on-api-failure and load failures apply. */
  apiOutageWaitMs: number;
  /** The run whose failed, skipped and mock customers this run processes again. */
  retryOf?: string;
  /** One message per customer per campaign: a customer already loaded in it is left alone. The input's base name when absent. */
  campaign?: string;
  /** `batch`: each page's messages are asked for through the Batch API first (src/workflows/llm-batch.ts); `sync` when absent. */
  llmMode?: LlmMode;
}

/** A run's options with every default in place. */
export type ResolvedRunOptions = RunOptions & { campaign: string };

/** The most customers a run keeps in flight (--concurrency): the worker's local-activity slots. */
export const maxConcurrency = 1000;
/** A batch's customer ids fit in one search attribute value (2 KB by default) up to this many. */
export const maxBatchSize = 100;
/** A page's ids are one activity result: 20,000 rows is about 600 KB, well inside Temporal's 2 MB payload limit. */
export const maxPageSize = 20_000;
/**
 * A page also ends at this many bytes of result (its rows set aside carry their values): encrypted, which adds a
 * third in base64, it stays under 1.4 MB, inside Temporal's 2 MB payload limit whatever the rows hold.
 */
export const maxPageBytes = 2 ** 20;

/** What a run does when its input names only the CSV (as a person typing it in the Web UI would). */
export const defaultRunOptions: Omit<RunOptions, 'input'> = {
  output: 'output/SDW2023_final.json',
  sink: 'both',
  concurrency: 20,
  batchSize: 100,
  onApiFailure: 'mock',
  onLlmFailure: 'template',
  locale: 'pt-BR',
  // A page of 5,000 rows is about 50 batches and a few hundred events of the run's history.
  pageSize: 5000,
  // A real bank's API is down for minutes (a Spring restart takes most of one), not seconds.
  apiOutageWaitMs: 15 * 60_000,
};

/** A run's options: its input's, the defaults for the rest, and the campaign named after the input file unless given. */
export const resolveRunOptions = ({ progress: _progress, ...input }: EtlRunInput): ResolvedRunOptions => ({
  ...defaultRunOptions,
  ...input,
  campaign: input.campaign ?? campaignOf(input.input),
});

/** Whether the bank API answers: `down` while the run waits for it, `gaveUp` once it waited --api-outage-wait. */
export interface BankApiState {
  status: 'up' | 'down' | 'gaveUp';
  /** When it stopped answering; null while up. */
  since: string | null;
}

/** A time the bank API answered no one, as the run saw it. */
export interface BankApiOutage {
  since: string;
  /** When it answered again; null if it had not by the end of the run. */
  until: string | null;
  /** The run stopped waiting and applied its failure policies. */
  gaveUp: boolean;
}

/** What the run carries from one continue-as-new to the next. */
export interface RunProgress {
  startedAt: string;
  paused: boolean;
  cursor: CsvCursor | undefined;
  pages: number;
  counts: Counts;
  bankApi: BankApiState;
  bankApiOutages: BankApiOutage[];
  /** The customer the run probes the bank API with while it is down. */
  probeId: number | null;
  /** Batch mode: the page's llmBatch workflow while the run waits for it. */
  llmBatchWorkflowId?: string | null;
  /** Batch mode: replies the Batch API returned with an unknown or repeated custom_id, ignored. */
  llmRepliesIgnored?: number;
}

export interface EtlRunInput extends Partial<RunOptions> {
  input: string;
  /** Set by the run itself when it continues as new. */
  progress?: RunProgress;
}

/** What every customer's steps take from the run's options. */
export interface StepOptions {
  runId: string;
  apiUrl: string | undefined;
  sink: SinkChoice;
  onApiFailure: ApiFailurePolicy;
  onLlmFailure: LlmFailurePolicy;
  locale: Locale;
  campaign: string;
}

export interface PersonalizeBatchInput extends StepOptions {
  customers: CustomerRow[];
  /** Customers of the batch in flight at once; all of them when absent. */
  window?: number;
  /** The bank API as the run saw it when the batch started. */
  bankApi?: BankApiState;
}

export interface BatchOutcome {
  /** One per customer, in the batch's order. */
  outcomes: CustomerOutcome[];
}

export type RunState = 'running' | 'paused' | 'draining' | 'exporting' | 'completed' | 'cancelled';

export interface Progress {
  runId: string;
  state: RunState;
  startedAt: string;
  counts: Counts;
  /**
   * Customers whose steps are running right now (at most the run's concurrency). A batch's customers whose steps are
   * done are counted once the batch has saved their records; until then their ids are still in inFlightIds.
   */
  inFlight: number;
  /** Customer ids of the batches being processed: those in flight, and those done or waiting in the same batches. */
  inFlightIds: number[];
  retryOf: string | null;
  bankApi: BankApiState;
  apiOutageWaitMs: number;
  campaign: string;
  /** In batch mode, the page's llmBatch workflow while the run waits for it (its llmBatches query lists the batches). */
  llmBatchWorkflowId?: string | null;
}

export interface RunSummary {
  runId: string;
  campaign: string;
  startedAt: string;
  endedAt: string;
  counts: Counts;
  estimatedCostUsd: number;
  /** Present when some tokens went through the Batch API: what they cost less than sync. */
  batchSavingUsd?: number;
  exportPath: string | null;
  reportPath: string;
  htmlReportPath: string;
  bankApiOutages: BankApiOutage[];
}

export const progressQuery = defineQuery<Progress>('progress');
/** No new batch of customers starts until resumed; the open batches finish. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** From a batch to its run: its first tries are done, and it needs `lanes` fewer lanes for the customers left. */
export const lanesReleasedSignal = defineSignal<[{ batchId: string; lanes: number }]>('lanesReleased');
/** From a batch to its run: the bank API answers no one (a probe of another customer failed too). */
export const bankApiDownSignal = defineSignal<[{ since: string; probeId: number }]>('bankApiDown');
/** From the run to its open batches: the bank API is down, back, or given up on. */
export const bankApiStateSignal = defineSignal<[BankApiState]>('bankApiState');

/** A batch is named by the CSV lines it spans, unique within a run. */
export const batchWorkflowId = (runId: string, customers: CustomerRow[]): string =>
  `${runId}/lines-${customers[0]!.line}-${customers[customers.length - 1]!.line}`;
