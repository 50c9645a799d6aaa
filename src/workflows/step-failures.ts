// How a customer's step ended without success, as the workflow tells it: the failure's type, message and attempts,
// the reason the outcome records, and a step that goes on after the customer's first try.
import {
  ActivityFailure,
  ApplicationFailure,
  TemporalFailure,
  TimeoutFailure,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { FirstTry } from '../activities/first-try';
import { failureTypes } from '../failures';
import type { Step, StepError } from '../outcomes';

export interface StepFailure {
  type: string | undefined;
  message: string;
  attempts: number;
}

/**
 * What a local activity's failure says: its type, its message, and how many attempts were made. Its error arrives
 * as the cause itself, and its timeout wrapped in an ActivityFailure with no useful retry state (the worker retries
 * timeouts until none are left).
 */
export function describe(err: unknown, policy: RetryPolicy): StepFailure {
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
  [failureTypes.apiBadData]: 'api_bad_data',
  [failureTypes.llmRejected]: 'llm_rejected',
  [failureTypes.llmBadReply]: 'llm_bad_reply',
  [failureTypes.llmRateLimited]: 'llm_rate_limited',
  [failureTypes.llmUnavailable]: 'llm_unavailable',
};
export const reasonFor = (failure: StepFailure, fallback: string): string => reasons[failure.type ?? ''] ?? fallback;

/** A bank step that ended without success: how many attempts it made, and why. */
export class BankStepFailed extends Error {
  constructor(
    readonly attempts: number,
    readonly stepError: StepError,
  ) {
    super(stepError.message);
  }
}

/**
 * A step after the first try: what the first try got, else the step's local activity with its retry policy. A failure
 * the policy calls final ends the step as the first try left it, so it is not asked again.
 */
export async function afterFirstTry<T>(
  tried: FirstTry,
  step: Step,
  policy: RetryPolicy,
  got: T | undefined,
  retry: () => Promise<T>,
): Promise<T> {
  if (got !== undefined) return got;
  const stopped = tried.stoppedAt?.step === step ? tried.stoppedAt : undefined;
  if (stopped?.type !== undefined && policy.nonRetryableErrorTypes?.includes(stopped.type)) {
    throw ApplicationFailure.create({ ...stopped, nonRetryable: true, details: [{ attempt: 1 }] });
  }
  return retry();
}
