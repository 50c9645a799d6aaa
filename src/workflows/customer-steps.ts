// One customer's steps inside a batch workflow: fetch, write, load, each a local activity with its own retry policy
// and timeout, every fallback a decision recorded in the customer's outcome.
import { proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FirstTry } from '../activities/first-try';
import { afterFirstTry, BankStepFailed, describe, reasonFor } from './step-failures';
import type { CustomerRecord } from '../activities/store/store';
import type { Customer } from '../customer';
import { failureTypes, outageFailureTypes } from '../failures';
import { newOutcome, type CustomerRow, type Step, type StepError } from '../outcomes';
import { firstName, mockCustomer, templateMessage, withMessage, newsIcon } from '../personalize';
import type { StepOptions } from './api';
import { setLoaded, setWritten } from '../records';
import type { BankApiGate } from './bank-api-gate';

/**
 * A bank call rides out a blip with four attempts over about 3.5 s; a longer failure goes to the batch's gate, which
 * tells an outage (wait for it) from this customer's own problem. A customer's own data and refusals are final.
 */
export const bankRetry: RetryPolicy = {
  initialInterval: '500 ms',
  backoffCoefficient: 2,
  maximumInterval: '2 s',
  maximumAttempts: 4,
  nonRetryableErrorTypes: [failureTypes.customerNotFound, failureTypes.apiRejected, failureTypes.apiBadData],
};
/** A step that keeps failing while the API serves others is this customer's problem after this many rounds of retries. */
const maxBankRounds = 3;
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
/** The client's own 20 s request timeout (llmRequestTimeoutMs), after up to 10 s waiting for a slot of the LLM quota. */
const llmTimeout = '40 s';
/** Saving a batch's records or a campaign's message: retry until the store comes back, since nothing goes on without. */
export const recordRetry: RetryPolicy = { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' };
export const recordTimeout = '10 s';

/**
 * A step retried after the first try is a local activity of its own: one marker event instead of three events and two
 * trips through a task queue. A dead worker's local activities run again once the batch's workflow task times out;
 * every step is idempotent, so that is safe.
 */
function stepActivities(bank: RetryPolicy, llm: RetryPolicy) {
  const { fetchCustomer, loadCustomer } = proxyLocalActivities<Activities>({
    startToCloseTimeout: bankApiTimeout,
    retry: bank,
  });
  const { writeMessage } = proxyLocalActivities<Activities>({ startToCloseTimeout: llmTimeout, retry: llm });
  return { fetchCustomer, writeMessage, loadCustomer };
}
/** The step activities, each with its policy in full. */
const full = stepActivities(bankRetry, llmRetry);
/** A step's policy once the customer's first try has made its first attempt: the same policy, one attempt fewer. */
const afterFirstAttempt = (policy: RetryPolicy): RetryPolicy => ({
  ...policy,
  maximumAttempts: (policy.maximumAttempts ?? 2) - 1,
});
/** The step activities for a step the customer's first try made once already. */
const rest = stepActivities(afterFirstAttempt(bankRetry), afterFirstAttempt(llmRetry));
export const { chooseMessage, loadedInCampaign } = proxyLocalActivities<Activities>({
  startToCloseTimeout: recordTimeout,
  retry: recordRetry,
});

/**
 * Runs a bank step through the gate: an outage-class failure is asked about (is the API serving others?) and the
 * step runs again when it should, so an outage shorter than --api-outage-wait costs time, never a fallback.
 */
async function throughGate<T extends { attempt: number }>(
  gate: BankApiGate,
  id: number,
  work: () => Promise<T>,
): Promise<T> {
  let attempts = 0;
  for (let round = 1; ; round++) {
    try {
      const result = await work();
      gate.answered(id);
      return { ...result, attempt: attempts + result.attempt };
    } catch (err) {
      const failure = describe(err, bankRetry);
      attempts += failure.attempts;
      const type = failure.type ?? '';
      if (!outageFailureTypes.includes(type)) {
        if (type !== '') gate.answered(id);
        throw new BankStepFailed(attempts, { reason: reasonFor(failure, 'api_unavailable'), message: failure.message });
      }
      // The API served others all along: a 5xx that repeats is this customer's (its data breaks the API).
      const verdict = round < maxBankRounds ? await gate.afterFailure(id) : 'customer';
      if (verdict === 'retry') continue;
      if (verdict === 'gaveUp') {
        const since = gate.state().since;
        const message = `${failure.message} The bank API answered no one from ${since} for longer than the run waits (--api-outage-wait).`;
        throw new BankStepFailed(attempts, { reason: 'api_down', message });
      }
      const reason = type === failureTypes.apiServerError ? 'api_error' : 'api_unavailable';
      throw new BankStepFailed(attempts, { reason, message: failure.message });
    }
  }
}

/** The reasons a fetch can end with for which --on-api-failure applies: the API did not answer for the customer. */
const noAnswerReasons = ['api_down', 'api_unavailable'];

/**
 * One customer: fetch from the bank API, write a message, deliver it to the run's sinks; returns the outcome and
 * the user to export (as the bank has it). Every fallback is a decision recorded in the outcome, never silent.
 */
export async function runCustomerSteps(
  input: StepOptions & CustomerRow & { tried?: FirstTry },
  gate: BankApiGate,
): Promise<CustomerRecord> {
  const { id, apiUrl, locale } = input;
  const outcome = newOutcome(id, input.line);
  /** The step the first try stopped at, once its own policy retried it: the first try's attempt counts too. */
  let retried: Step | undefined;
  /** What the batch's first tries got for this customer; nothing when it was not tried (its steps run from the start). */
  const tried: FirstTry = input.tried ?? { durationsMs: {} };
  /** Runs a step and records how long it took on the workflow's clock (deterministic on replay). */
  const timed = async <T>(step: Step, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      outcome.durationsMs[step] = (tried.durationsMs[step] ?? 0) + Date.now() - started;
    }
  };
  /** Records a step that ended without success: its attempts, and its error as the customer's latest. */
  const stepFailed = (step: Step, attempts: number, error: StepError): StepError => {
    outcome.attempts[step] = attempts;
    return (outcome.error = outcome.stepErrors[step] = error);
  };
  const bankStepFailed = (step: Step, err: unknown): StepError => {
    if (!(err instanceof BankStepFailed)) throw err;
    return stepFailed(step, err.attempts, err.stepError);
  };
  /** The outcome, and the user the export will hold (none when the customer has no data). */
  const finish = (customer: Customer | null): CustomerRecord => {
    if (retried) outcome.attempts[retried] = (outcome.attempts[retried] ?? 0) + 1;
    return { outcome, customer };
  };
  const kept = { campaign: input.campaign, runId: input.runId };
  /** A step after the first try; `steps`: the step activities to use (the rest of its policy after a first attempt). */
  const orRetry = <T>(
    step: Step,
    policy: RetryPolicy,
    got: T | undefined,
    retry: (steps: typeof rest) => Promise<T>,
  ): Promise<T> =>
    afterFirstTry(tried, step, policy, got, () => {
      if (tried.stoppedAt?.step !== step || retried === step) return retry(full);
      retried = step;
      return retry(rest);
    });

  // Extract.
  let customer: Customer;
  try {
    const first = tried.customer && { customer: tried.customer, attempt: 1 };
    const fetched = await timed('fetch', () =>
      throughGate(gate, id, () => orRetry('fetch', bankRetry, first, (steps) => steps.fetchCustomer({ apiUrl, id }))),
    );
    customer = fetched.customer;
    outcome.attempts.fetch = fetched.attempt;
    outcome.source = 'api';
  } catch (err) {
    const { reason } = bankStepFailed('fetch', err);
    if (!noAnswerReasons.includes(reason) || input.onApiFailure === 'fail') return finish(null);
    if (input.onApiFailure === 'skip') {
      outcome.status = 'skipped';
      return finish(null);
    }
    customer = mockCustomer(id);
    outcome.source = 'mock';
  }

  // Transform: a message from real data is the campaign's, chosen once and kept before any load.
  const keptIn = outcome.source === 'api' ? kept : undefined;
  let chosenBy: string | null = null;
  try {
    const written = await timed('write', () =>
      orRetry('write', llmRetry, tried.written, (steps) =>
        steps.writeMessage({ id, firstName: firstName(customer.name, locale), locale, kept: keptIn }),
      ),
    );
    chosenBy = setWritten(outcome, written);
  } catch (err) {
    const failure = describe(err, llmRetry);
    stepFailed('write', failure.attempts, {
      reason: reasonFor(failure, 'llm_unavailable'),
      message: failure.message,
    });
    if (input.onLlmFailure === 'fail') return finish(null);
    const template = { message: templateMessage(id, customer.name, locale), messageSource: 'template' as const };
    const chosen = keptIn
      ? await chooseMessage({ kept: keptIn, id, chosen: { ...template, model: null, tokens: outcome.tokens } })
      : { ...template, chosenBy: null };
    Object.assign(outcome, { message: chosen.message, messageSource: chosen.messageSource });
    chosenBy = chosen.chosenBy;
  }
  const message = outcome.message!;
  const personalized = withMessage(customer, message, newsIcon);

  // Load.
  try {
    const loaded = await timed('load', () =>
      throughGate(gate, id, () =>
        orRetry('load', bankRetry, tried.loaded, (steps) =>
          steps.loadCustomer({
            sink: input.sink,
            apiUrl,
            id,
            message,
            customer: personalized,
            source: outcome.source!,
          }),
        ),
      ),
    );
    return finish(setLoaded(outcome, loaded, chosenBy, input));
  } catch (err) {
    bankStepFailed('load', err);
    // Not loaded: the export shows the customer as the bank has it; the message is in the report only.
    return finish(customer);
  }
}
