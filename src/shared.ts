// Names and shapes shared by the workflows, the activities, the worker and the client.
// Workflow code imports this file, so it holds no I/O.
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** Workflows and the bank API's activities (SDW_TASK_QUEUE overrides it). */
export const defaultTaskQueue = 'sdw-etl';
/** LLM calls only, beside the main queue, so their rate can be capped server-side whatever the number of workers. */
export const llmTaskQueueFor = (taskQueue: string): string => `${taskQueue}-llm`;

/** The icon the original pipeline gave every news item it wrote. */
export const newsIcon = 'https://digitalinnovationone.github.io/santander-dev-week-2023-api/icons/credit.svg';

export const searchAttributes = {
  runId: defineSearchAttributeKey('SdwRunId', 'KEYWORD'),
  customerId: defineSearchAttributeKey('SdwCustomerId', 'INT'),
  outcome: defineSearchAttributeKey('SdwOutcome', 'KEYWORD'),
  customerSource: defineSearchAttributeKey('SdwCustomerSource', 'KEYWORD'),
  messageSource: defineSearchAttributeKey('SdwMessageSource', 'KEYWORD'),
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
  concurrency: number;
  onApiFailure: ApiFailurePolicy;
  onLlmFailure: LlmFailurePolicy;
  locale: Locale;
  /** Rows read per page; the run continues as new after each page, so history stays bounded. */
  pageSize: number;
  /** The run whose failed, skipped and mock customers this run processes again. */
  retryOf?: string;
}

/** What a run does when its input names only the CSV (as a person typing it in the Web UI would). */
export const defaultRunOptions: Omit<RunOptions, 'input'> = {
  output: 'output/SDW2023_final.json',
  sink: 'both',
  concurrency: 20,
  onApiFailure: 'mock',
  onLlmFailure: 'template',
  locale: 'pt-BR',
  pageSize: 500,
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
  ids: { id: number; line: number }[];
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

export type RunState = 'running' | 'paused' | 'draining' | 'exporting' | 'completed' | 'cancelled';

export interface Progress {
  runId: string;
  state: RunState;
  startedAt: string;
  counts: Counts;
  inFlight: number;
  /** Customer ids being processed right now. */
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
/** No new customer starts until resumed; the ones in flight finish. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');

export const customerWorkflowId = (runId: string, id: number): string => `${runId}/customer-${id}`;

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
