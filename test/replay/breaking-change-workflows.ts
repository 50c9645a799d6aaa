// personalizeBatch as a careless edit could leave it: each customer's message is written before the customer is
// fetched. Histories of the real workflow must not replay on this code.
import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../src/activities';
import type { BatchOutcome, PersonalizeBatchInput } from '../../src/workflows/api';

const { fetchCustomer, writeMessage } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10 s' });

export async function personalizeBatch(input: PersonalizeBatchInput): Promise<BatchOutcome> {
  for (const { id } of input.customers) {
    await writeMessage({ id, firstName: 'x', locale: input.locale });
    await fetchCustomer({ apiUrl: input.apiUrl, id });
  }
  return { outcomes: [] };
}
