// What batch mode's llmBatch workflow shows while it waits: its batches, for `sdw-etl status`.
import { defineQuery } from '@temporalio/workflow';
import type { BatchState, CollectedReplies } from '../activities/llm/batch';

/** A batch of the page as `status` shows it. */
export interface LlmBatchView extends BatchState {
  /** 0 for the first submission, 1 and 2 for resubmissions. */
  round: number;
  /** When it was submitted or last changed state. */
  since: string;
  /** What its replies came to, once read. */
  collected: CollectedReplies | null;
}

export const llmBatchQuery = defineQuery<LlmBatchView[]>('llmBatches');
