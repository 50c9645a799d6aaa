// The sinks a run delivers to, by its --sink, and a delivery to all of them.
import type { Customer } from '../../customer';
import type { SinkChoice } from '../../workflows/api';
import { bankApiSink } from './bank-api';
import { fileSink } from './file';
import type { Delivered, Delivery, Sink } from './sink';

const sinksByChoice: Record<SinkChoice, readonly Sink[]> = {
  api: [bankApiSink],
  file: [fileSink],
  both: [bankApiSink, fileSink],
};

/** Whether a run with this --sink loads its customers into the bank API. */
export const loadsIntoBank = (choice: SinkChoice): boolean => sinksByChoice[choice].includes(bankApiSink);

/** Whether a run with this --sink writes the JSON export of its users. */
export const exportsUsers = (choice: SinkChoice): boolean => sinksByChoice[choice].some((sink) => sink.exportsUsers);

/** Delivers to each of the run's sinks in turn; the first that does not load decides, and the first sink's customer is exported. */
export async function deliverTo(choice: SinkChoice, delivery: Delivery, asked?: Promise<Customer>): Promise<Delivered> {
  let first: Extract<Delivered, { status: 'loaded' }> | undefined;
  let wrote = false;
  for (const sink of sinksByChoice[choice]) {
    const delivered = await sink.deliver(delivery, asked);
    if (delivered.status === 'skipped') return delivered;
    first ??= delivered;
    wrote ||= delivered.wrote;
  }
  return { ...first!, wrote };
}
