// What a sink is: a place a personalized customer is delivered to. Each sink is one module of this folder;
// index.ts picks them by the run's --sink, so a new sink is a new file, not a change to workflow code.
import type { Customer } from '../../customer';
import type { CustomerSource, StepError } from '../../outcomes';

export interface Delivery {
  /** The bank API of the run. */
  apiUrl: string;
  id: number;
  message: string;
  /** The customer with the message appended to its news. */
  customer: Customer;
  /** Where the customer's data came from: a mock record is never written over a system of record. */
  source: CustomerSource;
}

/**
 * `wrote`: the sink made a call or a write (false when nothing needed doing). `found`: the message was in the
 * customer's feed before this delivery (an earlier attempt, or another run of the campaign, put it there).
 */
export type Delivered =
  | { status: 'loaded'; customer: Customer; wrote: boolean; found: boolean }
  | { status: 'skipped'; customer: Customer; error: StepError; wrote: false };

export interface Sink {
  /**
   * Delivers one customer; delivering the same message again changes nothing. Failures are ApplicationFailures.
   * `asked`: the bank's answer to the load's GET, when the first try sent it while the message was being kept.
   */
  deliver(delivery: Delivery, asked?: Promise<Customer>): Promise<Delivered>;
  /** Whether the run's JSON export holds the customers this sink received. */
  readonly exportsUsers: boolean;
}
