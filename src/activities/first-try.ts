// A batch's first tries: each customer's fetch, write and load, one attempt each, `window` customers at a time, in
// one activity. Most customers need nothing more and are settled here, their records saved; the workflow takes a
// customer whose step failed from that step on, with the step's own retry policy.
import { defaultMaxListeners, setMaxListeners } from 'node:events';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { outageFailureTypes } from '../failures';
import type { Customer } from '../customer';
import type { CustomerOutcome, CustomerRow, Step } from '../outcomes';
import { firstName, newsIcon, withMessage } from '../personalize';
import type { SinkChoice } from '../workflows/api';
import { activeContext, stepSpan, withinContext } from '../telemetry/spans';
import type { CampaignKey, CampaignMessage, CustomerSteps, LoadResult } from '.';
import type { CampaignEntry } from './store/store';
import type { Locale } from '../personalize';

interface FirstTryInput {
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

/**
 * What each step of a first try gave, up to the first that failed (the customer as fetched is left out once loaded);
 * how long each took, on the worker's clock.
 */
export interface FirstTry {
  customer?: Customer;
  written?: CampaignMessage;
  loaded?: LoadResult;
  stoppedAt?: StoppedAt;
  durationsMs: Partial<Record<Step, number>>;
}

/** A customer who needs nothing more: its record is saved, and this is its outcome. */
export interface Settled {
  settled: CustomerOutcome;
}

/**
 * Saves the record of a customer who needs nothing more and returns its outcome; undefined: its steps go on. `tried`
 * is undefined for a customer not tried (its campaign message reached the bank in another run).
 */
export type Settle = (id: number, tried: FirstTry | undefined) => Promise<CustomerOutcome | undefined>;

/** Logged (WARN) for each step that fails on a customer's first try; the report records the step's end. */
export const firstTryFailed = 'Step failed on its first try';

/** Called with each step's duration and result (`ok` or the failure's type): the worker's metrics. */
export type StepObserver = (step: Step, seconds: number, result: string) => void;

async function firstTry(
  steps: CustomerSteps,
  args: FirstTryInput,
  ledgerEntry: CampaignEntry | undefined,
  observe?: StepObserver,
): Promise<FirstTry> {
  const tried: FirstTry = { durationsMs: {} };
  /** A first try is each step's first attempt, also when a dead worker's first tries run again elsewhere. */
  const attempt = 1;
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
  /**
   * The load's GET, sent as soon as the LLM has answered: keeping the message in the campaign (several trips to the
   * disk or the database) goes on meanwhile instead of before it. Outside the write step's span: it is the load's.
   */
  let asked: Promise<Customer> | undefined;
  const aroundSteps = activeContext();
  const askBeforeLoad = (): void => {
    asked = withinContext(aroundSteps, () => steps.askBeforeLoad(sink, apiUrl, id));
    asked?.catch(() => undefined); // a write that fails leaves it unread; a load that reads it meets its failure
  };
  const wrote = await run(
    'write',
    () =>
      steps.write({ id, firstName: firstName(customer.name, locale), locale, kept }, attempt, {
        entry: ledgerEntry,
        whileKeeping: askBeforeLoad,
      }),
    (w) => (tried.written = w),
  );
  if (!wrote) return tried;
  const message = tried.written!.message;
  const personalized = withMessage(customer, message, newsIcon);
  const loaded = await run(
    'load',
    () => steps.load({ sink, apiUrl, id, message, customer: personalized, source: 'api' }, attempt, asked),
    (l) => (tried.loaded = l),
  );
  // Loaded: the user as the bank has it now is all the workflow needs (half the activity's result).
  if (loaded) delete tried.customer;
  return tried;
}

export interface FirstTriesInput extends Omit<FirstTryInput, 'id'> {
  /** The customers to try, in the batch's order. */
  customers: CustomerRow[];
  /** Customers tried at once. */
  window: number;
}

/**
 * The first tries by customer id: settled, or what the try got before a step failed. A customer not tried is absent
 * (the bank API may be down: the workflow's gate decides).
 */
export type FirstTries = Record<string, FirstTry | Settled>;

/** The first tries heartbeat this often, with those done so far: a dead worker's batch resumes from there. */
const firstTriesHeartbeatMs = 5_000;

/** A first try that stopped on a bank step's outage-class failure: perhaps the API answers no one. */
const hitOutage = (tried: FirstTry): boolean =>
  tried.stoppedAt !== undefined &&
  tried.stoppedAt.step !== 'write' &&
  outageFailureTypes.includes(tried.stoppedAt.type ?? '');

/**
 * The first tries of a batch's customers, `window` at a time; each customer who needs nothing more is settled at once
 * (`settle` saves its record), so the result and the heartbeats carry its outcome only. After a bank step fails in a
 * way that may be an outage, no new customer starts: the rest are left to the workflow, whose gate asks whether the
 * API answers anyone. `ledger`: the campaign's entries for the batch, read as the first tries began; a message another
 * run chooses meanwhile still wins, through the ledger's exclusive insert.
 */
export async function firstTries(
  steps: CustomerSteps,
  input: FirstTriesInput,
  ledger: Map<number, CampaignEntry>,
  settle: Settle,
  observe?: StepObserver,
): Promise<FirstTries> {
  const context = Context.current();
  const { customers, window, ...args } = input;
  // A retried attempt (its worker died) keeps the first tries its last heartbeat holds.
  const results: FirstTries = { ...(context.info.heartbeatDetails as FirstTries | undefined) };
  // Those whose message reached the bank in another run are settled untried.
  await Promise.all(
    customers.map(async ({ id }) => {
      const settled = results[id] === undefined ? await settle(id, undefined) : undefined;
      if (settled) results[id] = { settled };
    }),
  );
  const toTry = customers.map((c) => c.id).filter((id) => results[id] === undefined);
  let next = 0;
  let stopped = false;
  /** Settles in progress: a lane goes on to its next customer while the last one's record is saved. */
  const settling: Promise<void>[] = [];
  const lane = async (): Promise<void> => {
    for (let i = next++; i < toTry.length && !stopped; i = next++) {
      const id = toTry[i]!;
      const tried = await firstTry(steps, { ...args, id }, ledger.get(id), observe);
      if (hitOutage(tried)) stopped = true;
      const settled = settle(id, tried).then((outcome) => void (results[id] = outcome ? { settled: outcome } : tried));
      settled.catch(() => undefined); // its failure fails the activity below, once the lanes are done
      settling.push(settled);
    }
  };
  const lanes = Math.max(1, Math.min(window, toTry.length));
  // The openai client leaves a listener on the activity's cancellation for each call until the activity ends.
  setMaxListeners(defaultMaxListeners + toTry.length, context.cancellationSignal);
  const timer = setInterval(() => context.heartbeat(results), firstTriesHeartbeatMs);
  try {
    await Promise.all(Array.from({ length: lanes }, lane));
    await Promise.all(settling);
  } finally {
    clearInterval(timer);
  }
  return results;
}
