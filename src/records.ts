// A customer's record from what its steps gave: the same code whether the batch's first tries (an activity) or the
// batch workflow makes it.
import type { CampaignMessage, LoadedBefore, LoadResult } from './activities';
import type { FirstTry } from './activities/first-try';
import type { CustomerRecord } from './activities/store/store';
import type { Customer } from './customer';
import { newOutcome, type CustomerOutcome, type CustomerRow } from './outcomes';
import type { SinkChoice, StepOptions } from './workflows/api';

/** Sets down a message written for the customer; returns the run that chose it for the campaign (null: none). */
export function setWritten(outcome: CustomerOutcome, written: CampaignMessage): string | null {
  Object.assign(outcome, { message: written.message, messageSource: written.messageSource, model: written.model });
  outcome.tokens = written.tokens;
  outcome.attempts.write = written.attempt;
  return written.chosenBy;
}

/** Nothing more to do: the campaign's message is in the customer's feed. */
export function setAlreadyLoaded(
  outcome: CustomerOutcome,
  campaign: string,
  { loadedBy, message }: Omit<LoadedBefore, 'id'>,
): void {
  Object.assign(outcome, { status: 'already_loaded', message, messageSource: null });
  outcome.error = {
    reason: 'already_loaded',
    message: `The customer's message in campaign ${campaign} reached the bank in run ${loadedBy}.`,
  };
}

/** Sets down a delivery of the customer's message; returns the user to export (as the bank has it). */
export function setLoaded(
  outcome: CustomerOutcome,
  loaded: LoadResult,
  chosenBy: string | null,
  { runId, campaign }: Pick<StepOptions, 'runId' | 'campaign'>,
): Customer | null {
  outcome.attempts.load = loaded.attempt;
  // Another run of the campaign chose this message and put it in the feed first.
  if (loaded.status === 'loaded' && loaded.found && chosenBy !== null && chosenBy !== runId) {
    setAlreadyLoaded(outcome, campaign, { loadedBy: chosenBy, message: outcome.message! });
    return null;
  }
  if (loaded.status === 'skipped') {
    outcome.status = 'skipped';
    outcome.error = loaded.error;
  } else outcome.status = 'loaded';
  return loaded.customer;
}

/**
 * The record of a customer who needs no more steps, made without awaiting anything: one whose campaign message
 * reached the bank in an earlier run, or whose first try went through all three steps. undefined: the customer's
 * steps go on (runCustomerSteps).
 */
export function settledRecord(
  input: Pick<StepOptions, 'runId' | 'campaign'> & CustomerRow,
  loadedBefore: LoadedBefore | undefined,
  tried: FirstTry | undefined,
): CustomerRecord | undefined {
  const outcome = newOutcome(input.id, input.line);
  if (loadedBefore) {
    setAlreadyLoaded(outcome, input.campaign, loadedBefore);
    return { outcome, customer: null };
  }
  if (!tried?.written || !tried.loaded) return undefined;
  Object.assign(outcome.durationsMs, tried.durationsMs);
  outcome.attempts.fetch = 1;
  outcome.source = 'api';
  const chosenBy = setWritten(outcome, tried.written);
  return { outcome, customer: setLoaded(outcome, tried.loaded, chosenBy, input) };
}

/** Whether the customer's campaign message reached the bank's feed (a file sink alone sends nothing to the bank). */
export const reachedBank = (outcome: CustomerOutcome, sink: SinkChoice): boolean =>
  sink !== 'file' && outcome.status === 'loaded' && outcome.source === 'api';
