// A batch's view of the bank API: after a bank step's own retries run out on an outage-class failure, is it this
// customer's problem or everyone's? Everyone's: the customers wait, new ones hold, and the run watches the API.
import {
  condition,
  getExternalWorkflowHandle,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bankApiDownSignal, bankApiStateSignal, type BankApiState } from './api';

/** A probe is one request, asked once: its answer (or its silence) is the point. */
const probeRetry: RetryPolicy = { maximumAttempts: 1 };
/** Above the probe's own 5 s request timeout. */
const probeTimeout = '10 s';
const { probeBankApi } = proxyLocalActivities<Activities>({ startToCloseTimeout: probeTimeout, retry: probeRetry });

/**
 * What to do after a bank step failed on an outage-class failure: `retry` it (the API serves others, or is back), or
 * `gaveUp` (the API answered no one for longer than the run waits).
 */
export type Verdict = 'retry' | 'gaveUp';

export interface BankApiGate {
  afterFailure(customerId: number): Promise<Verdict>;
  /** A customer the API answered for: the best one to probe with. */
  answered(customerId: number): void;
  /** Resolves once the API is not known to be down, so a new customer may start. */
  open(): Promise<void>;
  state(): BankApiState;
}

export function createBankApiGate(
  apiUrl: string | undefined,
  customerIds: number[],
  initial?: BankApiState,
): BankApiGate {
  let state: BankApiState = initial ?? { status: 'up', since: null };
  let lastAnswered: number | undefined;
  let probing: Promise<boolean> | undefined;
  setHandler(bankApiStateSignal, (next) => void (state = next));
  const parent = workflowInfo().parent;

  /** Another customer to ask about: one the API answered for, else another of the batch, else user 1 (a 404 answers too). */
  const probeIdFor = (customerId: number): number =>
    lastAnswered ?? customerIds.find((id) => id !== customerId) ?? (customerId === 1 ? 2 : 1);

  return {
    answered(customerId) {
      lastAnswered = customerId;
    },
    state: () => state,
    open: () => condition(() => state.status !== 'down'),
    async afterFailure(customerId) {
      if (state.status === 'up') {
        const probeId = probeIdFor(customerId);
        // Customers failing at the same moment share one probe.
        probing ??= probeBankApi({ apiUrl, id: probeId }).finally(() => (probing = undefined));
        if (await probing) return 'retry';
        if (state.status === 'up') {
          state = { status: parent ? 'down' : 'gaveUp', since: new Date().toISOString() };
          if (parent) {
            await getExternalWorkflowHandle(parent.workflowId).signal(bankApiDownSignal, {
              since: state.since!,
              probeId,
            });
          }
        }
      }
      await condition(() => state.status !== 'down');
      return state.status === 'up' ? 'retry' : 'gaveUp';
    },
  };
}
