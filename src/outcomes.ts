// What happens to a customer and what a run counts: the outcome each customer ends with, and the tally of them.
// Workflows, activities, the client and the reports share these shapes; nothing here does I/O.

/**
 * `already_loaded`: the customer's campaign message was loaded by an earlier run; nothing was done this time.
 * `not_processed`: the run ended (was cancelled) before it reached the customer; nothing was tried for it.
 */
export type CustomerStatus = 'loaded' | 'skipped' | 'failed' | 'already_loaded' | 'not_processed';
/** Every status a customer can end with, for what lists or sums them all (the progress bar); the type checks it is complete. */
export const customerStatuses = Object.keys({
  loaded: 0,
  skipped: 0,
  failed: 0,
  already_loaded: 0,
  not_processed: 0,
} satisfies Record<CustomerStatus, 0>) as CustomerStatus[];
export type CustomerSource = 'api' | 'mock';
export type MessageSource = 'llm' | 'template';
/** A customer's three steps: extract, transform, load. */
export type Step = 'fetch' | 'write' | 'load';
export const steps: readonly Step[] = ['fetch', 'write', 'load'];

/** A CSV row that names a customer. */
export interface CustomerRow {
  id: number;
  line: number;
}

/** A CSV row set aside: not a customer id, or an id the run already has. */
export interface InvalidRow {
  line: number;
  value: string;
  reason: string;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** 'batch': spent through the provider's Batch API, priced at its batch price (absent: the sync price). */
  pricing?: 'batch';
}

export interface StepError {
  reason: string;
  message: string;
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
  /** Attempts each step made (0: the step did not run). */
  attempts: Record<Step, number>;
  /** Milliseconds of workflow time each step took, retries and backoff included (0: the step did not run). */
  durationsMs: Record<Step, number>;
  /** Why the customer did not end loaded, or what was worked around (the last step that went wrong). */
  error: StepError | null;
  /** The error each step ended with once its retries were spent, when it did not succeed. */
  stepErrors: Partial<Record<Step, StepError>>;
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

/** A customer the run never reached before it was cancelled or stopped: nothing was tried for it. */
export const notProcessed = (id: number, line: number, cancelled: boolean): CustomerOutcome => ({
  ...newOutcome(id, line),
  status: 'not_processed',
  error: {
    reason: 'not_processed',
    message: cancelled
      ? 'The run was cancelled before this customer was processed.'
      : 'The run ended before this customer was processed.',
  },
});

export interface Counts {
  /** Data rows read from the CSV (blank lines aside). */
  rows: number;
  invalid: number;
  duplicates: number;
  loaded: number;
  skipped: number;
  failed: number;
  alreadyLoaded: number;
  notProcessed: number;
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
  alreadyLoaded: 0,
  notProcessed: 0,
  fromMock: 0,
  templated: 0,
  promptTokens: 0,
  completionTokens: 0,
});

/** The count each status adds to. */
export const countOf: Record<CustomerStatus, keyof Counts> = {
  loaded: 'loaded',
  skipped: 'skipped',
  failed: 'failed',
  not_processed: 'notProcessed',
  already_loaded: 'alreadyLoaded',
};

/** Adds one customer's outcome to a run's counts. */
export function tally(counts: Counts, outcome: CustomerOutcome): void {
  counts[countOf[outcome.status]] += 1;
  if (outcome.source === 'mock') counts.fromMock += 1;
  if (outcome.messageSource === 'template') counts.templated += 1;
  counts.promptTokens += outcome.tokens.promptTokens;
  counts.completionTokens += outcome.tokens.completionTokens;
}

/** Adds a row set aside to a run's counts. */
export function tallyInvalid(counts: Counts, row: InvalidRow): void {
  if (row.reason === 'duplicate') counts.duplicates += 1;
  else counts.invalid += 1;
}
