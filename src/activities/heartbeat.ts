import { Context } from '@temporalio/activity';

/** Often enough that a few missed beats stay well inside the workflows' five-second heartbeat timeout. */
const heartbeatEveryMs = 1_000;

/**
 * Heartbeats while the work runs, so when a worker dies its activity is retried elsewhere within the
 * heartbeat timeout (seconds) rather than the start-to-close timeout.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  if (context.info.isLocal) return work(); // A local activity is watched through its workflow task instead.
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), heartbeatEveryMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
