// personalizeCustomer as a careless edit could leave it: the message is written before the customer is
// fetched. Histories of the real workflow must not replay on this code.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../src/activities';
import type { CustomerOutcome, PersonalizeCustomerInput } from '../../src/shared';

const { fetchCustomer, writeMessage } = proxyActivities<Activities>({ startToCloseTimeout: '10 s' });

export async function personalizeCustomer(input: PersonalizeCustomerInput): Promise<CustomerOutcome | undefined> {
  await writeMessage({ id: input.id, firstName: 'x', locale: input.locale });
  await fetchCustomer({ apiUrl: input.apiUrl, id: input.id });
  return undefined;
}
