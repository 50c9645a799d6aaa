// Activity failures with a type matched by name and the attempt that failed, so workflows can report attempts.
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';

export interface FailureDetails {
  /** The attempt that failed, so the workflow can report how many were made. */
  attempt: number | null;
}

function currentAttempt(): number | null {
  try {
    return Context.current().info.attempt;
  } catch {
    return null; // Called outside an activity, e.g. by the export reading the CSV again.
  }
}

/** An activity failure with a type the workflows and retry policies match by name. */
export function activityFailure(
  type: string,
  message: string,
  options: { nonRetryable?: boolean; nextRetryDelayMs?: number } = {},
): ApplicationFailure {
  const details: FailureDetails = { attempt: currentAttempt() };
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: options.nonRetryable ?? false,
    nextRetryDelay: options.nextRetryDelayMs,
    details: [details],
  });
}
