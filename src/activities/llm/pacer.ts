// Paces the LLM calls of one worker process (SDW_LLM_RPS): a call waits its turn, or is retried when it comes.
import { Context } from '@temporalio/activity';
import { failureTypes } from '../../failures';
import { activityFailure } from '../failure';

/** A paced call never waits longer than this; a longer wait is a retry after that delay instead (LlmRateLimited). */
const maxPacingWaitMs = 10_000;

/**
 * Spaces the LLM calls of this worker process at most `perSecond` a second (no pacing when undefined). A call whose
 * turn is more than maxPacingWaitMs away fails as rate limited, to be retried by Temporal when its turn comes.
 */
export function createPacer(perSecond: number | undefined, now = Date.now): () => Promise<void> {
  let nextTurn = 0;
  return async () => {
    if (perSecond === undefined) return;
    const t = now();
    const wait = Math.max(t, nextTurn) - t;
    if (wait > maxPacingWaitMs)
      throw activityFailure(
        failureTypes.llmRateLimited,
        `This worker's LLM calls are paced at ${perSecond}/s (SDW_LLM_RPS); retry in ${wait} ms.`,
        { nextRetryDelayMs: wait },
      );
    nextTurn = t + wait + 1000 / perSecond;
    if (wait > 0) await Context.current().sleep(wait);
  };
}
