// One customer's steps inside a batch workflow: fetch, write, load, each a local activity with its own retry policy
// and timeout, every fallback a decision recorded in the customer's outcome.
import {
  ActivityFailure,
  ApplicationFailure,
  proxyLocalActivities,
  TemporalFailure,
  TimeoutFailure,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CustomerRecord } from '../activities/store/store';
import type { Customer } from '../customer';
import { failureTypes } from '../failures';
import { newOutcome, type CustomerRow, type Step, type StepError } from '../outcomes';
import { firstName, mockCustomer, templateMessage, withMessage, newsIcon } from '../personalize';
import type { StepOptions } from './api';

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
/** LLM outages are usually short; four attempts, then the LLM-failure policy. Bad replies retry at once (nextRetryDelay). */
export const llmRetry: RetryPolicy = {
  initialInterval: '1 s',
  backoffCoefficient: 2,
  maximumInterval: '10 s',
  maximumAttempts: 4,
  nonRetryableErrorTypes: [failureTypes.llmRejected],
};
/** The client's own 20 s request timeout (llmRequestTimeoutMs), after up to 10 s waiting for its turn (the pacer). */
const llmTimeout = '40 s';
/** Saving a batch's records: retry until the store comes back, since the export needs them. */
const recordRetry: RetryPolicy = { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' };
const recordTimeout = '10 s';

/**
 * Every step is a local activity: one marker event instead of three events and two trips through a task queue,
 * which is most of what a customer would cost the server. A dead worker's local activities run again once the
 * batch's workflow task times out (10 s); the load is idempotent, so that is safe.
 */
const { fetchCustomer } = proxyLocalActivities<Activities>({ startToCloseTimeout: bankApiTimeout, retry: fetchRetry });
const { writeMessage } = proxyLocalActivities<Activities>({ startToCloseTimeout: llmTimeout, retry: llmRetry });
const { loadCustomer } = proxyLocalActivities<Activities>({ startToCloseTimeout: bankApiTimeout, retry: loadRetry });
export const { recordOutcomes } = proxyLocalActivities<Activities>({
  startToCloseTimeout: recordTimeout,
  retry: recordRetry,
});

interface StepFailure {
  type: string | undefined;
  message: string;
  attempts: number;
}

/**
 * What a local activity's failure says: its type, its message, and how many attempts were made. Its error arrives
 * as the cause itself, and its timeout wrapped in an ActivityFailure with no useful retry state (the worker retries
 * timeouts until none are left).
 */
function describe(err: unknown, policy: RetryPolicy): StepFailure {
  const wrapped = err instanceof ActivityFailure;
  if (!wrapped && !(err instanceof TemporalFailure)) throw err;
  const cause = wrapped ? err.cause : err;
  const type = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : cause?.name;
  const message = cause?.message ?? err.message;
  const detail: unknown = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  const attempt = (detail as { attempt?: unknown } | undefined)?.attempt;
  const exhausted = cause instanceof TimeoutFailure || !(cause instanceof ApplicationFailure && cause.nonRetryable);
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

/**
 * One customer: fetch from the bank API, write a message, deliver it to the run's sinks; returns the outcome and
 * the user to export. Every fallback is a decision recorded in the outcome, never silent.
 */
export async function runCustomerSteps(input: StepOptions & CustomerRow): Promise<CustomerRecord> {
  const { id, apiUrl, locale } = input;
  const outcome = newOutcome(id, input.line);
  /** Runs a step and records how long it took on the workflow's clock (deterministic on replay). */
  const timed = async <T>(step: Step, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      outcome.durationsMs[step] = Date.now() - started;
    }
  };
  /** Records a step that ended without success: its attempts, and its error as the customer's latest. */
  const stepFailed = (step: Step, err: unknown, policy: RetryPolicy, fallbackReason: string): StepError => {
    const failure = describe(err, policy);
    outcome.attempts[step] = failure.attempts;
    return (outcome.error = outcome.stepErrors[step] =
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
  try {
    const loaded = await timed('load', () =>
      loadCustomer({ sink: input.sink, apiUrl, id, message, customer: personalized, source: outcome.source! }),
    );
    outcome.attempts.load = loaded.attempt;
    if (loaded.status === 'skipped') {
      outcome.status = 'skipped';
      outcome.error = loaded.error;
    } else outcome.status = 'loaded';
    return finish(loaded.customer);
  } catch (err) {
    stepFailed('load', err, loadRetry, 'api_unavailable');
    // Not loaded, but nothing is lost: the export still holds the customer with its message.
    return finish(personalized);
  }
}
