// The bank API as a sink: the message appended to the customer's news with GET then PUT, never for mock data.
import { loadCustomer } from '../bank-api';
import type { Sink } from './sink';

export const bankApiSink: Sink = {
  exportsUsers: false,
  async deliver({ apiUrl, id, message, customer, source }, asked) {
    if (source === 'mock') {
      const error = {
        reason: 'mock_not_loaded',
        message: `The bank API did not answer for customer ${id}, so the mock record was exported but never written over the bank's record.`,
      };
      return { status: 'skipped', customer, error, wrote: false };
    }
    const loaded = await loadCustomer(apiUrl, id, message, asked);
    return { status: 'loaded', customer: loaded.customer, wrote: true, found: !loaded.appended };
  },
};
