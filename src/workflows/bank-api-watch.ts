// The run's watch over the bank API while it answers no one: one probe loop for the whole run (gentle, whatever
// --concurrency is), the open batches told when it is back or when the run stops waiting.
import {
  CancellationScope,
  getExternalWorkflowHandle,
  log,
  proxyLocalActivities,
  setHandler,
  sleep,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bankApiDownSignal, bankApiStateSignal, type BankApiState, type RunProgress } from './api';

/** The first probe comes a second after the outage is seen, then each 1.5 times later, at most every 10 s. */
const firstProbeDelayMs = 1_000;
const probeBackoff = 1.5;
const maxProbeIntervalMs = 10_000;
/** A probe is one request, asked once. */
const probeRetry: RetryPolicy = { maximumAttempts: 1 };
const probeTimeout = '10 s';
const { probeBankApi } = proxyLocalActivities<Activities>({ startToCloseTimeout: probeTimeout, retry: probeRetry });

export interface BankApiWatch {
  state(): BankApiState;
  /** The run is cancelled: batches waiting for the API stop waiting and apply their policies. */
  stopWaiting(): Promise<void>;
}

export function watchBankApi(
  progress: RunProgress,
  apiUrl: string | undefined,
  outageWaitMs: number,
  openBatchIds: () => string[],
): BankApiWatch {
  let watching = false;

  const announce = async (state: BankApiState): Promise<void> => {
    progress.bankApi = state;
    await Promise.all(
      openBatchIds().map(
        (id) =>
          getExternalWorkflowHandle(id)
            .signal(bankApiStateSignal, state)
            .catch(() => undefined), // a batch that closed meanwhile needs no news
      ),
    );
  };

  const watch = async (): Promise<void> => {
    if (watching) return;
    watching = true;
    const outage = progress.bankApiOutages.at(-1)!;
    let interval = firstProbeDelayMs;
    for (;;) {
      await sleep(interval);
      interval = Math.min(maxProbeIntervalMs, interval * probeBackoff);
      if (await probeBankApi({ apiUrl, id: progress.probeId ?? 1 })) {
        outage.until = new Date().toISOString();
        log.info('The bank API answers again', { since: outage.since });
        await announce({ status: 'up', since: null });
        watching = false;
        return;
      }
      if (progress.bankApi.status === 'down' && Date.now() - Date.parse(outage.since) >= outageWaitMs) {
        outage.gaveUp = true;
        log.warn('The bank API has been down longer than the run waits; failure policies apply', { ...outage });
        await announce({ ...progress.bankApi, status: 'gaveUp' });
      }
    }
  };
  // The watch goes on while a cancelled run drains its batches.
  const startWatching = (): void => void CancellationScope.nonCancellable(watch);

  setHandler(bankApiDownSignal, ({ since, probeId }) => {
    if (progress.bankApi.status !== 'up') return;
    log.warn('The bank API answers no one; the run waits for it', { since });
    progress.probeId = probeId;
    progress.bankApiOutages.push({ since, until: null, gaveUp: false });
    void announce({ status: 'down', since });
    startWatching();
  });
  // A run that continued as new during an outage keeps watching.
  if (progress.bankApi.status !== 'up') startWatching();

  return {
    state: () => progress.bankApi,
    async stopWaiting() {
      if (progress.bankApi.status !== 'down') return;
      progress.bankApiOutages.at(-1)!.gaveUp = true;
      await announce({ ...progress.bankApi, status: 'gaveUp' });
    },
  };
}
