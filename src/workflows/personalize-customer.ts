import {
  ActivityFailure,
  ApplicationFailure,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  TemporalFailure,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities, CustomerRecord } from '../activities';
import type { Customer } from '../customer';
import { firstName, mockCustomer, templateMessage, withMessage } from '../personalize';
import {
  failureTypes,
  llmTaskQueueFor,
  newOutcome,
  newsIcon,
  searchAttributes,
  type BatchOutcome,
  type CustomerOutcome,
  type PersonalizeBatchInput,
  type PersonalizeCustomerInput,
  type StepDurations,
  type StepError,
} from '../shared';

/** The bank API is flaky: eight attempts over about 12 s ride out short outages before the fallback policy decides. */
export const fetchRetry: RetryPolicy = {
  initialInterval: '500 ms',
  backoffCoefficient: 2,
  maximumInterval: '2 s',
  maximumAttempts: 8,
  nonRetryableErrorTypes: [failureTypes.customerNotFound, failureTypes.apiRejected],
};
/** A load has no fallback and its message is already paid for: it keeps trying for about 35 s. */
export const loadRetry: RetryPolicy = { ...fetchRetry, maximumAttempts: 20 };
/** One HTTP request is cut at 10 s (apiRequestTimeoutMs); a load makes two (GET, then PUT). */
const bankApiTimeout = '25 s';
/** The bank and LLM activities heartbeat every second: a dead worker's call is retried within 5 s. */
const heartbeatTimeout = '5 s';

/** LLM outages are usually short; four attempts, then the LLM-failure policy. Bad replies retry at once (nextRetryDelay). */
export const llmRetry: RetryPolicy = {
  initialInterval: '1 s',
  backoffCoefficient: 2,
  maximumInterval: '10 s',
  maximumAttempts: 4,
  nonRetryableErrorTypes: [failureTypes.llmRejected],
};
/** Above the client's own 20 s request timeout (llmRequestTimeoutMs), so the client's error is the one reported. */
const llmTimeout = '30 s';
/** A paced LLM call may first wait up to 10 s for its turn (maxPacingWaitMs). */
const pacedLlmTimeout = '40 s';

/** Writing small local files (a customer's record, or a batch's): retry until the disk comes back; the export needs them. */
const recordRetry: RetryPolicy = { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' };
const recordTimeout = '10 s';

/** The steps as normal activities: how runs started before `localBankSteps` were written, kept so they replay. */
const remoteSteps = {
  fetchCustomer: proxyActivities<Activities>({
    startToCloseTimeout: bankApiTimeout,
    heartbeatTimeout,
    retry: fetchRetry,
  }).fetchCustomer,
  loadCustomer: proxyActivities<Activities>({ startToCloseTimeout: bankApiTimeout, heartbeatTimeout, retry: loadRetry })
    .loadCustomer,
  recordOutcome: proxyActivities<Activities>({ startToCloseTimeout: recordTimeout, retry: recordRetry }).recordOutcome,
};
/**
 * The bank calls and the record as local activities: each is one marker event instead of three events and two
 * round trips through a task queue, which is most of what a customer costs the server. A dead worker's local
 * activity runs again when its workflow task times out (10 s); the load is idempotent, so that is safe.
 */
const localSteps = {
  fetchCustomer: proxyLocalActivities<Activities>({ startToCloseTimeout: bankApiTimeout, retry: fetchRetry })
    .fetchCustomer,
  loadCustomer: proxyLocalActivities<Activities>({ startToCloseTimeout: bankApiTimeout, retry: loadRetry })
    .loadCustomer,
  recordOutcome: proxyLocalActivities<Activities>({ startToCloseTimeout: recordTimeout, retry: recordRetry })
    .recordOutcome,
  recordOutcomes: proxyLocalActivities<Activities>({ startToCloseTimeout: recordTimeout, retry: recordRetry })
    .recordOutcomes,
};
/** The patch that moved the bank steps and the record to local activities (see localSteps). */
export const localBankSteps = 'local-bank-steps';

interface StepFailure {
  type: string | undefined;
  message: string;
  attempts: number;
}

/**
 * What an activity failure says: its type, its message, and how many attempts were made. A normal activity's
 * failure arrives wrapped in an ActivityFailure with its retry state; a local activity's error arrives as the cause
 * itself, and its timeout wrapped but with no useful retry state (the worker retries timeouts until none are left).
 */
function describe(err: unknown, policy: RetryPolicy): StepFailure {
  const wrapped = err instanceof ActivityFailure;
  if (!wrapped && !(err instanceof TemporalFailure)) throw err;
  const cause = wrapped ? err.cause : err;
  const type = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : cause?.name;
  const message = cause?.message ?? err.message;
  const detail: unknown = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  const attempt = (detail as { attempt?: unknown } | undefined)?.attempt;
  const exhausted =
    cause instanceof TimeoutFailure ||
    (wrapped
      ? err.retryState === 'MAXIMUM_ATTEMPTS_REACHED'
      : !(cause instanceof ApplicationFailure && cause.nonRetryable));
  const attempts = typeof attempt === 'number' ? attempt : exhausted ? (policy.maximumAttempts ?? 1) : 1;
  return { type, message, attempts };
}

const reasons: Record<string, string> = {
  [failureTypes.customerNotFound]: 'not_found',
  [failureTypes.apiRejected]: 'api_rejected',
  [failureTypes.llmRejected]: 'llm_rejected',
  [failureTypes.llmBadReply]: 'llm_bad_reply',
  [failureTypes.llmRateLimited]: 'llm_rate_limited',
  [failureTypes.llmUnavailable]: 'llm_unavailable',
};
const reasonFor = (failure: StepFailure, fallback: string): string => reasons[failure.type ?? ''] ?? fallback;

/** The three steps of one customer, as the workflow calls them. */
interface Steps {
  fetchCustomer: Activities['fetchCustomer'];
  writeMessage: Activities['writeMessage'];
  loadCustomer: Activities['loadCustomer'];
}

/**
 * The LLM call as a local activity, like the bank steps: a normal activity costs the server several times what the
 * rest of a customer does. Its rate is paced in each worker process (SDW_LLM_RPS), no longer capped server-side.
 */
const { writeMessage: localWriteMessage } = proxyLocalActivities<Activities>({
  startToCloseTimeout: pacedLlmTimeout,
  retry: llmRetry,
});

/**
 * One customer in its own workflow: how runs started before customer batches did it, kept so they finish and replay.
 */
export async function personalizeCustomer(input: PersonalizeCustomerInput): Promise<CustomerOutcome> {
  const steps = patched(localBankSteps) ? localSteps : remoteSteps;
  const { writeMessage } = proxyActivities<Activities>({
    startToCloseTimeout: llmTimeout,
    heartbeatTimeout,
    retry: llmRetry,
    taskQueue: llmTaskQueueFor(workflowInfo().taskQueue),
  });
  const record = await personalize(input, { ...steps, writeMessage });
  await steps.recordOutcome({ runId: input.runId, record });
  const { outcome } = record;
  log.info('Customer done', { customerId: input.id, status: outcome.status, reason: outcome.error?.reason });
  upsertSearchAttributes([
    { key: searchAttributes.outcome, value: outcome.status },
    ...(outcome.source ? [{ key: searchAttributes.customerSource, value: outcome.source }] : []),
    ...(outcome.messageSource ? [{ key: searchAttributes.messageSource, value: outcome.messageSource }] : []),
  ]);
  return outcome;
}

/**
 * A batch of customers, `window` of them in flight at once: one workflow start and a handful of workflow tasks for
 * the lot instead of for each. Every customer still has its own steps, retries, fallbacks and outcome.
 */
export async function personalizeBatch(input: PersonalizeBatchInput): Promise<BatchOutcome> {
  const { customers, window, ...common } = input;
  // A sliding window: `window` lanes, each taking the next customer as soon as its last one is done.
  const records: CustomerRecord[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < customers.length) {
      const i = next++;
      records[i] = await personalize(
        { ...common, ...customers[i]! },
        { ...localSteps, writeMessage: localWriteMessage },
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(window ?? customers.length, customers.length)) }, lane));
  // One record call for the batch: the outcomes are safe in the workflow until then.
  await localSteps.recordOutcomes({ runId: input.runId, records });
  const outcomes = records.map((record) => record.outcome);
  const count = (status: string): number => outcomes.filter((o) => o.status === status).length;
  log.info('Batch done', {
    customers: customers.length,
    loaded: count('loaded'),
    skipped: count('skipped'),
    failed: count('failed'),
  });
  const present = <T>(values: (T | null)[]): T[] => [...new Set(values)].filter((v): v is T => v !== null).sort();
  upsertSearchAttributes([
    { key: searchAttributes.outcomes, value: present(outcomes.map((o) => o.status)) },
    { key: searchAttributes.customerSources, value: present(outcomes.map((o) => o.source)) },
  ]);
  return { outcomes };
}

/**
 * One customer: fetch from the bank API, write a message, load it into the customer's news; returns the outcome
 * and the user to export. Every fallback is a decision recorded in the outcome, never silent.
 */
async function personalize(input: PersonalizeCustomerInput, steps: Steps): Promise<CustomerRecord> {
  const { id, apiUrl, locale } = input;
  const { fetchCustomer, writeMessage, loadCustomer } = steps;
  const outcome = newOutcome(id, input.line);
  const durations: StepDurations = { fetch: 0, write: 0, load: 0 };
  const stepErrors: Partial<Record<keyof StepDurations, StepError>> = {};
  outcome.durationsMs = durations;
  outcome.stepErrors = stepErrors;
  /** Runs a step and records how long it took on the workflow's clock (deterministic on replay). */
  const timed = async <T>(step: keyof typeof durations, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      durations[step] = Date.now() - started;
    }
  };
  /** Records a step that ended without success: its attempts, and its error as the customer's latest. */
  const stepFailed = (
    step: keyof StepDurations,
    err: unknown,
    policy: RetryPolicy,
    fallbackReason: string,
  ): StepError => {
    const failure = describe(err, policy);
    outcome.attempts[step] = failure.attempts;
    return (outcome.error = stepErrors[step] =
      { reason: reasonFor(failure, fallbackReason), message: failure.message });
  };
  /** The outcome, and the user the export will hold (none when the customer has no data). */
  const finish = (customer: Customer | null): CustomerRecord => ({ outcome, customer });

  // Extract.
  let customer: Customer;
  try {
    const fetched = await timed('fetch', () => fetchCustomer({ apiUrl, id }));
    customer = fetched.customer;
    outcome.attempts.fetch = fetched.attempt;
    outcome.source = 'api';
  } catch (err) {
    const { reason } = stepFailed('fetch', err, fetchRetry, 'api_unavailable');
    if (reason !== 'api_unavailable' || input.onApiFailure === 'fail') return finish(null);
    if (input.onApiFailure === 'skip') {
      outcome.status = 'skipped';
      return finish(null);
    }
    customer = mockCustomer(id);
    outcome.source = 'mock';
  }

  // Transform.
  try {
    const written = await timed('write', () =>
      writeMessage({ id, firstName: firstName(customer.name, locale), locale }),
    );
    outcome.message = written.message;
    outcome.messageSource = written.messageSource;
    outcome.model = written.model;
    outcome.tokens = written.tokens;
    outcome.attempts.write = written.attempt;
  } catch (err) {
    stepFailed('write', err, llmRetry, 'llm_unavailable');
    if (input.onLlmFailure === 'fail') return finish(null);
    outcome.message = templateMessage(id, customer.name, locale);
    outcome.messageSource = 'template';
  }
  const message = outcome.message;
  const personalized = withMessage(customer, message, newsIcon);

  // Load.
  if (input.sink === 'file') {
    outcome.status = 'loaded';
    return finish(personalized);
  }
  if (outcome.source === 'mock') {
    outcome.status = 'skipped';
    outcome.error = {
      reason: 'mock_not_loaded',
      message: `The bank API did not answer for customer ${id}, so the mock record was exported but never written over the bank's record.`,
    };
    return finish(personalized);
  }
  try {
    const loaded = await timed('load', () => loadCustomer({ apiUrl, id, message }));
    outcome.attempts.load = loaded.attempt;
    outcome.status = 'loaded';
    return finish(loaded.customer);
  } catch (err) {
    stepFailed('load', err, loadRetry, 'api_unavailable');
    // Not loaded, but nothing is lost: the export still holds the customer with its message.
    return finish(personalized);
  }
}
