// A batch workflow: up to 100 customers of a run, `window` of them in flight at once, each with its own steps.
import { log, upsertSearchAttributes } from '@temporalio/workflow';
import type { CustomerRecord } from '../activities/store/store';
import { searchAttributes, type BatchOutcome, type PersonalizeBatchInput } from './api';
import { createBankApiGate } from './bank-api-gate';
import { loadedInCampaign, recordOutcomes, runCustomerSteps } from './customer-steps';

/**
 * One workflow start and a handful of workflow tasks for the lot instead of for each customer. Every customer
 * still has its own steps, retries, fallbacks and outcome.
 */
export async function personalizeBatch(input: PersonalizeBatchInput): Promise<BatchOutcome> {
  const { customers, window, bankApi, ...options } = input;
  const gate = createBankApiGate(
    options.apiUrl,
    customers.map((c) => c.id),
    bankApi,
  );
  // One read for the batch: the customers whose campaign message reached the bank before are left alone.
  const loadedBefore = new Map(
    (await loadedInCampaign({ campaign: options.campaign, runId: input.runId, ids: customers.map((c) => c.id) })).map(
      (entry) => [entry.id, entry],
    ),
  );
  // A sliding window: `window` lanes, each taking the next customer as soon as its last one is done.
  const records: CustomerRecord[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < customers.length) {
      await gate.open(); // while the bank API answers no one, no new customer starts
      if (next >= customers.length) return; // another lane took the last customer meanwhile
      const i = next++;
      const customer = customers[i]!;
      records[i] = await runCustomerSteps(
        { ...options, ...customer, loadedBefore: loadedBefore.get(customer.id) },
        gate,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(window ?? customers.length, customers.length)) }, lane));
  const outcomes = records.map((record) => record.outcome);
  // The campaign's messages this batch put in the bank's feed (a file sink alone sends nothing to the bank).
  const reachedBank =
    options.sink === 'file' ? [] : outcomes.filter((o) => o.status === 'loaded' && o.source === 'api');
  // One record call for the batch: the outcomes are safe in the workflow until then.
  await recordOutcomes({
    runId: input.runId,
    records,
    loadedInto: { campaign: options.campaign, ids: reachedBank.map((o) => o.id) },
  });
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
