// A batch workflow: up to 100 customers of a run, `window` of them in flight at once, each with its own steps.
import {
  ActivityFailure,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { LoadedBefore } from '../activities';
import type { FirstTries, FirstTry } from '../activities/first-try';
import type { CustomerOutcome } from '../outcomes';
import type { CustomerRecord } from '../activities/store/store';
import {
  lanesReleasedSignal,
  searchAttributes,
  type BatchOutcome,
  type PersonalizeBatchInput,
  type StepOptions,
} from './api';
import { createBankApiGate } from './bank-api-gate';
import { loadedInCampaign, recordRetry, recordTimeout, runCustomerSteps } from './customer-steps';
import { reachedBank, settledRecord } from '../records';

/**
 * The first tries run `window` customers at a time, each at most its three steps' timeouts end to end (90 s), and a
 * lane plan may leave a batch ten or twenty waves: the heartbeat, not this, notices a dead worker.
 */
const firstTriesTimeout = '30 minutes';
/** The activity heartbeats every 5 s (firstTriesHeartbeatMs): a dead worker's first tries resume elsewhere within 20 s. */
const firstTriesHeartbeatTimeout = '20 s';
/** Run again from the last heartbeat when a worker dies; a batch whose first tries fail for good runs every step itself. */
const firstTriesRetry: RetryPolicy = { initialInterval: '1 s', maximumAttempts: 3 };
const { firstTries } = proxyActivities<Activities>({
  startToCloseTimeout: firstTriesTimeout,
  heartbeatTimeout: firstTriesHeartbeatTimeout,
  retry: firstTriesRetry,
});
/**
 * Saving the batch's records is an activity, not a local one: the workflow task that schedules it completes at once,
 * so the run learns of the lanes this batch released without waiting for the save.
 */
const { recordOutcomes } = proxyActivities<Activities>({ startToCloseTimeout: recordTimeout, retry: recordRetry });

/** What a first try needs of the run's options. */
const pick = ({ apiUrl, sink, locale }: StepOptions) => ({ apiUrl, sink, locale });

/**
 * One workflow start and a handful of workflow tasks for the lot instead of for each customer. Every customer
 * still has its own steps, retries, fallbacks and outcome.
 */
export async function personalizeBatch(input: PersonalizeBatchInput): Promise<BatchOutcome> {
  const { customers, window, bankApi, ...options } = input;
  const ids = customers.map((c) => c.id);
  const gate = createBankApiGate(options.apiUrl, ids, bankApi);
  const lanes = Math.max(1, Math.min(window ?? customers.length, customers.length));
  const kept = { campaign: options.campaign, runId: input.runId };
  // One activity for the lot: the campaign's ledger read once (a customer whose message reached the bank before is
  // left alone), then every other customer's three steps, one attempt each, with no workflow task between them. A
  // customer who needs nothing more is settled there: its record saved, its outcome all the result holds.
  const { tries, loadedBefore } = await firstTries({ customers, window: lanes, kept, ...pick(options) }).then(
    (tries) => ({ tries, loadedBefore: [] as LoadedBefore[] }),
    async (err: unknown) => {
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('First tries failed; every step of the batch runs on its own', { error: err.message });
      const none: FirstTries = {};
      return { tries: none, loadedBefore: await loadedInCampaign({ ...kept, ids }) };
    },
  );
  const loadedBy = new Map(loadedBefore.map((entry) => [entry.id, entry]));
  const outcomes: CustomerOutcome[] = [];
  /** The records this workflow makes; the first tries saved those of the customers they settled. */
  const records: CustomerRecord[] = [];
  const rest: number[] = [];
  const triedOf = (id: number): FirstTry | undefined => {
    const entry = tries[id];
    return entry && !('settled' in entry) ? entry : undefined;
  };
  customers.forEach((customer, i) => {
    const entry = tries[customer.id];
    if (entry && 'settled' in entry) {
      outcomes[i] = entry.settled;
      if (entry.settled.attempts.fetch > 0) gate.answered(customer.id);
      return;
    }
    // Without first tries, a customer whose message reached the bank in another run needs nothing more either.
    const record = settledRecord({ ...options, ...customer }, loadedBy.get(customer.id), undefined);
    if (!record) return void rest.push(i);
    outcomes[i] = record.outcome;
    records.push(record);
  });
  // The lanes no customer of this batch needs any more: the run may give them to a new batch at once. A batch with
  // nothing left to do ends in this workflow task instead, and its end gives the run every lane it held (a signal
  // would hold the end back by a round trip).
  const granted = window ?? customers.length;
  const needed = Math.min(lanes, rest.length);
  const goesOn = rest.length > 0 || records.length > 0;
  const { parent, workflowId } = workflowInfo();
  const released =
    parent && goesOn && needed < granted
      ? getExternalWorkflowHandle(parent.workflowId).signal(lanesReleasedSignal, {
          batchId: workflowId,
          lanes: granted - needed,
        })
      : undefined;
  // The others: a sliding window of `needed` lanes, each taking the next customer as soon as its last one is done.
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < rest.length) {
      await gate.open(); // while the bank API answers no one, no new customer starts
      if (next >= rest.length) return; // another lane took the last customer meanwhile
      const i = rest[next++]!;
      const customer = customers[i]!;
      const record = await runCustomerSteps({ ...options, ...customer, tried: triedOf(customer.id) }, gate);
      outcomes[i] = record.outcome;
      records.push(record);
    }
  };
  await Promise.all(Array.from({ length: needed }, lane));
  // One record call for the customers this workflow settled: their outcomes are safe in the workflow until then.
  if (records.length > 0) {
    const loadedHere = records.filter((r) => reachedBank(r.outcome, options.sink)).map((r) => r.outcome.id);
    await recordOutcomes({
      runId: input.runId,
      records,
      loadedInto: { campaign: options.campaign, ids: loadedHere },
    });
  }
  await released;
  const count = (status: string): number => outcomes.filter((o) => o.status === status).length;
  log.info('Batch done', {
    customers: customers.length,
    loaded: count('loaded'),
    skipped: count('skipped'),
    failed: count('failed'),
    alreadyLoaded: count('already_loaded'),
  });
  const present = <T>(values: (T | null)[]): T[] => [...new Set(values)].filter((v): v is T => v !== null).sort();
  upsertSearchAttributes([
    { key: searchAttributes.outcomes, value: present(outcomes.map((o) => o.status)) },
    { key: searchAttributes.customerSources, value: present(outcomes.map((o) => o.source)) },
  ]);
  return { outcomes };
}
