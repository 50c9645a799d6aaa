// The JSON export as a sink (the original's offline mode): the export writes each customer from its record.
import type { Sink } from './sink';

export const fileSink: Sink = {
  exportsUsers: true,
  deliver: ({ customer }) => Promise.resolve({ status: 'loaded', customer, wrote: false, found: false }),
};
