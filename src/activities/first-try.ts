// A customer's first try: fetch, write and load in one local activity, one attempt each. Most customers need
// nothing more; the workflow takes a customer whose step failed from that step on, with the step's own retry policy.
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Customer } from '../customer';
import type { Step } from '../outcomes';
import { firstName, newsIcon, withMessage } from '../personalize';
import type { SinkChoice } from '../workflows/api';
import { stepSpan } from '../telemetry/spans';
import type { CampaignKey, CampaignMessage, CustomerSteps, LoadResult } from '.';
import type { Locale } from '../personalize';

export interface FirstTryInput {
  apiUrl: string | undefined;
  id: number;
  sink: SinkChoice;
  locale: Locale;
  /** Where the customer's message is kept: a first try fetched the bank's data, so its message is always kept. */
  kept: CampaignKey;
}

/** The step a first try stopped at, and why: the failure's type (matched by name against retry policies) and message. */
export interface StoppedAt {
  step: Step;
  type: string | undefined;
  message: string;
}

/** What each step of a first try gave, up to the first that failed; how long each took, on the worker's clock. */
export interface FirstTry {
  customer?: Customer;
  written?: CampaignMessage;
  loaded?: LoadResult;
  stoppedAt?: StoppedAt;
  durationsMs: Partial<Record<Step, number>>;
}

/** Logged (WARN) for each step that fails on a customer's first try; the report records the step's end. */
export const firstTryFailed = 'Step failed on its first try';

/** Called with each step's duration and result (`ok` or the failure's type): the worker's metrics. */
export type StepObserver = (step: Step, seconds: number, result: string) => void;

export async function firstTry(steps: CustomerSteps, args: FirstTryInput, observe?: StepObserver): Promise<FirstTry> {
  const tried: FirstTry = { durationsMs: {} };
  const attempt = Context.current().info.attempt;
  /** Runs one step; a failure ends the try (false), recorded with its type. */
  const run = async <T>(step: Step, work: () => Promise<T>, keep: (value: T) => void): Promise<boolean> => {
    const started = performance.now();
    let result = 'ok';
    try {
      keep(await stepSpan(step, args.id, work));
      return true;
    } catch (err) {
      const type = err instanceof ApplicationFailure ? (err.type ?? undefined) : (err as Error).name;
      result = type ?? 'error';
      tried.stoppedAt = { step, type, message: (err as Error).message };
      log.warn(firstTryFailed, { step, customerId: args.id, failureType: result });
      return false;
    } finally {
      const ms = performance.now() - started;
      tried.durationsMs[step] = Math.round(ms);
      observe?.(step, ms / 1000, result);
    }
  };
  const { apiUrl, id, locale, kept, sink } = args;
  if (
    !(await run(
      'fetch',
      () => steps.fetch({ apiUrl, id }),
      (c) => (tried.customer = c),
    ))
  )
    return tried;
  const customer = tried.customer!;
  const wrote = await run(
    'write',
    () => steps.write({ id, firstName: firstName(customer.name, locale), locale, kept }, attempt),
    (w) => (tried.written = w),
  );
  if (!wrote) return tried;
  const message = tried.written!.message;
  const personalized = withMessage(customer, message, newsIcon);
  await run(
    'load',
    () => steps.load({ sink, apiUrl, id, message, customer: personalized, source: 'api' }, attempt),
    (l) => (tried.loaded = l),
  );
  return tried;
}
