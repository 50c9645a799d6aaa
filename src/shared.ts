// Names and shapes shared by the workflows, the activities, the worker and the client.
// Workflow code imports this file, so it holds no I/O.
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Workflows and the bank API's activities (SDW_TASK_QUEUE overrides it). */
export const defaultTaskQueue = 'sdw-etl';
/** LLM calls of per-customer workflows (runs made before customer batches), capped server-side at --llm-rps. */
export const llmTaskQueueFor = (taskQueue: string): string => `${taskQueue}-llm`;

/** The icon the original pipeline gave every news item it wrote. */
export const newsIcon = 'https://digitalinnovationone.github.io/santander-dev-week-2023-api/icons/credit.svg';

export const searchAttributes = {
  runId: defineSearchAttributeKey('SdwRunId', 'KEYWORD'),
  customerId: defineSearchAttributeKey('SdwCustomerId', 'INT'),
  outcome: defineSearchAttributeKey('SdwOutcome', 'KEYWORD'),
  customerSource: defineSearchAttributeKey('SdwCustomerSource', 'KEYWORD'),
  messageSource: defineSearchAttributeKey('SdwMessageSource', 'KEYWORD'),
  // A batch of customers: its customer ids, and the outcomes and data sources its customers ended with. (The
  // dev server's SQLite store holds three keyword lists at most; the message source is in the report.)
  customerIds: defineSearchAttributeKey('SdwCustomerIds', 'KEYWORD_LIST'),
  outcomes: defineSearchAttributeKey('SdwOutcomes', 'KEYWORD_LIST'),
  customerSources: defineSearchAttributeKey('SdwCustomerSources', 'KEYWORD_LIST'),
} as const;

export type Sink = 'api' | 'file' | 'both';
export const sinks: readonly Sink[] = ['api', 'file', 'both'];
/** What to do with a customer the bank API does not answer for, once retries are exhausted. */
export type ApiFailurePolicy = 'mock' | 'skip' | 'fail';
export const apiFailurePolicies: readonly ApiFailurePolicy[] = ['mock', 'skip', 'fail'];
/** What to do when the LLM gives no usable message, once retries are exhausted. */
export type LlmFailurePolicy = 'template' | 'fail';
export const llmFailurePolicies: readonly LlmFailurePolicy[] = ['template', 'fail'];
export type Locale = 'pt-BR' | 'en';

export type CustomerStatus = 'loaded' | 'skipped' | 'failed';
export type CustomerSource = 'api' | 'mock';
export type MessageSource = 'llm' | 'template';

export interface RunOptions {
  /** Path of the CSV of customer ids, as the worker sees it. */
  input: string;
  /** Path of the JSON export; the report goes beside it. */
  output: string;
  /** The bank API; when absent, the worker's SDW_API_URL. */
  apiUrl?: string;
  sink: Sink;
  /** Customers in flight at once. */
  concurrency: number;
  /** Customers per batch workflow (at most `concurrency`; see batchPlan). */
  batchSize: number;
  onApiFailure: ApiFailurePolicy;
  onLlmFailure: LlmFailurePolicy;
  locale: Locale;
  /** Rows read per page; the run continues as new after each page, so history stays bounded. */
  pageSize: number;
  /** The run whose failed, skipped and mock customers this run processes again. */
  retryOf?: string;
}

/** The most customers a run keeps in flight (--concurrency). */
export const maxConcurrency = 1000;
/** A batch's customer ids fit in one search attribute value (2 KB by default) up to this many. */
export const maxBatchSize = 100;
/** Each batch works through its customers in about this many waves, so batches open and close at different times. */
const wavesPerBatch = 4;

/**
 * How a run spreads its `lanes` (customers in flight, --concurrency) over batches of `size` customers: each batch
 * keeps `window` of its customers in flight, so several batches are open at once and one batch's start and end,
 * when few of its customers are in flight, overlap the others' work.
 */
export interface BatchPlan {
  size: number;
  window: number;
  lanes: number;
}

export function batchPlan(options: Pick<RunOptions, 'batchSize' | 'concurrency'>): BatchPlan {
  const lanes = Math.max(1, Math.floor(options.concurrency));
  const size = Math.max(1, Math.floor(Math.min(options.batchSize, lanes, maxBatchSize)));
  return { size, window: Math.ceil(size / wavesPerBatch), lanes };
}

/** The lanes a new batch gets: a full window, or what is left when that is at least half a window; 0: wait. */
export function lanesFor(plan: BatchPlan, inUse: number): number {
  const left = plan.lanes - inUse;
  return left >= Math.ceil(plan.window / 2) ? Math.min(plan.window, left) : 0;
}

/** What a run does when its input names only the CSV (as a person typing it in the Web UI would). */
export const defaultRunOptions: Omit<RunOptions, 'input'> = {
  output: 'output/SDW2023_final.json',
  sink: 'both',
  concurrency: 20,
  batchSize: 100,
  onApiFailure: 'mock',
  onLlmFailure: 'template',
  locale: 'pt-BR',
  // A page of 5,000 rows is about 100 batches and a few hundred events of the run's history.
  pageSize: 5000,
};

/** Where the next page of the CSV starts. */
export interface CsvCursor {
  byteOffset: number;
  /** Number of the last line read (1 is the header). */
  line: number;
  /** Index of the UserID column. */
  column: number;
}

export interface InvalidRow {
  line: number;
  value: string;
  reason: string;
}

export interface UserIdPage {
  ids: CustomerRow[];
  invalid: InvalidRow[];
  /** undefined when the file is exhausted. */
  next: CsvCursor | undefined;
}

export interface Counts {
  /** Data rows read from the CSV (blank lines aside). */
  rows: number;
  invalid: number;
  duplicates: number;
  loaded: number;
  skipped: number;
  failed: number;
  fromMock: number;
  templated: number;
  promptTokens: number;
  completionTokens: number;
}

export const emptyCounts = (): Counts => ({
  rows: 0,
  invalid: 0,
  duplicates: 0,
  loaded: 0,
  skipped: 0,
  failed: 0,
  fromMock: 0,
  templated: 0,
  promptTokens: 0,
  completionTokens: 0,
});

/** What the run carries from one continue-as-new to the next. */
export interface RunProgress {
  startedAt: string;
  paused: boolean;
  cursor: CsvCursor | undefined;
  pages: number;
  counts: Counts;
}

export interface EtlRunInput extends Partial<RunOptions> {
  input: string;
  /** Set by the run itself when it continues as new. */
  progress?: RunProgress;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface Attempts {
  fetch: number;
  write: number;
  load: number;
}

/** Time each step took in milliseconds of workflow time, retries and backoff included (0: the step did not run). */
export interface StepDurations {
  fetch: number;
  write: number;
  load: number;
}

/** One customer's outcome: what the report says of it. */
export interface CustomerOutcome {
  id: number;
  line: number;
  status: CustomerStatus;
  source: CustomerSource | null;
  messageSource: MessageSource | null;
  message: string | null;
  model: string | null;
  tokens: TokenUsage;
  attempts: Attempts;
  /** Absent in outcomes of runs made before step timings were recorded. */
  durationsMs?: StepDurations;
  /** Why the customer did not end loaded, or what was worked around (the last step that went wrong). */
  error: StepError | null;
  /** The error each step ended with once its retries were spent, when it did not succeed. */
  stepErrors?: Partial<Record<keyof StepDurations, StepError>>;
}

export interface StepError {
  reason: string;
  message: string;
}

/** A customer's outcome before anything happened to it: failed until a step says otherwise. */
export const newOutcome = (id: number, line: number): CustomerOutcome => ({
  id,
  line,
  status: 'failed',
  source: null,
  messageSource: null,
  message: null,
  model: null,
  tokens: { promptTokens: 0, completionTokens: 0 },
  attempts: { fetch: 0, write: 0, load: 0 },
  durationsMs: { fetch: 0, write: 0, load: 0 },
  error: null,
  stepErrors: {},
});

/** Adds one customer's outcome to a run's counts. */
export function tally(counts: Counts, outcome: CustomerOutcome): void {
  counts[outcome.status] += 1;
  if (outcome.source === 'mock') counts.fromMock += 1;
  if (outcome.messageSource === 'template') counts.templated += 1;
  counts.promptTokens += outcome.tokens.promptTokens;
  counts.completionTokens += outcome.tokens.completionTokens;
}

export interface PersonalizeCustomerInput {
  runId: string;
  id: number;
  line: number;
  apiUrl: string | undefined;
  sink: Sink;
  onApiFailure: ApiFailurePolicy;
  onLlmFailure: LlmFailurePolicy;
  locale: Locale;
}

/** A CSV row that names a customer. */
export interface CustomerRow {
  id: number;
  line: number;
}

export interface PersonalizeBatchInput extends Omit<PersonalizeCustomerInput, 'id' | 'line'> {
  customers: CustomerRow[];
  /** Customers of the batch in flight at once; all of them when absent. */
  window?: number;
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
  /** Customers being processed right now (at most the run's concurrency). */
  inFlight: number;
  /** Customer ids of the batches being processed: those in flight, and those done or waiting in the same batches. */
  inFlightIds: number[];
  retryOf: string | null;
}

export interface RunSummary {
  runId: string;
  startedAt: string;
  endedAt: string;
  counts: Counts;
  estimatedCostUsd: number;
  exportPath: string | null;
  reportPath: string;
  /** Absent in summaries of runs made before the HTML report existed. */
  htmlReportPath?: string;
}

export const progressQuery = defineQuery<Progress>('progress');
/** No new batch of customers starts until resumed; the open batches finish. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');

/** The workflow of one customer, in runs made before customer batches. */
export const customerWorkflowId = (runId: string, id: number): string => `${runId}/customer-${id}`;
/** A batch is named by the CSV lines it spans, unique within a run. */
export const batchWorkflowId = (runId: string, customers: CustomerRow[]): string =>
  `${runId}/lines-${customers[0]!.line}-${customers[customers.length - 1]!.line}`;

/** Failure types the activities raise, matched by name in workflows and retry policies. */
export const failureTypes = {
  inputInvalid: 'InputInvalid',
  customerNotFound: 'CustomerNotFound',
  apiRejected: 'ApiRejected',
  apiUnavailable: 'ApiUnavailable',
  apiRateLimited: 'ApiRateLimited',
  llmRejected: 'LlmRejected',
  llmUnavailable: 'LlmUnavailable',
  llmRateLimited: 'LlmRateLimited',
  llmBadReply: 'LlmBadReply',
  exportFailed: 'ExportFailed',
} as const;
