// Batch mode's provider side: a page's customers written as JSONL chat requests, uploaded and made into OpenAI
// batches; a batch's state; its replies checked and kept in the campaign ledger; the run's batches cancelled.
import { CancelledFailure, Context, log } from '@temporalio/activity';
import { toFile } from 'openai';
import type OpenAI from 'openai';
import type { Locale } from '../../personalize';
import { firstName } from '../../personalize';
import * as bankApi from '../bank-api';
import type { RecordStore } from '../store/store';
import type { LlmClient } from './client';
import { llmFailure } from './errors';
import { chatMessages, maxCompletionTokens } from './prompts';
import { collectReplies, type CollectedReplies, type CollectInput } from './batch-replies';
import { customIdOf, fileTransferTimeoutMs, forEachAtOnce, type BatchLine } from './batch-lines';

/** The provider's limits on one batch input file. */
export const maxRequestsPerBatch = 50_000;
export const maxBatchFileBytes = 200 * 1024 * 1024;
/** Customers fetched from the bank at once while a batch is written: the sync path's default concurrency. */
const fetchesAtOnce = 20;
/** The provider's batches looked through for one this run already made (newest first) before making it again. */
const batchesSearchedForOurs = 500;

/** A batch made at the provider and the customers it asks for. */
export interface SubmittedBatch {
  batchId: string;
  ids: number[];
}

export type { CollectedReplies, CollectInput };

export interface SubmitBatchesInput {
  runId: string;
  campaign: string;
  /** The bank API; the worker's when absent. */
  apiUrl: string | undefined;
  locale: Locale;
  ids: number[];
  /** Unique within the run for each submission (page and round): the key that finds a batch already made. */
  key: string;
}

/** A batch as the provider reports it. */
export interface BatchState {
  batchId: string;
  status: OpenAI.Batches.Batch['status'];
  total: number;
  completed: number;
  failed: number;
  outputFileId: string | null;
  errorFileId: string | null;
}

interface Deps {
  store: RecordStore;
  llm: LlmClient | undefined;
  apiUrl: string;
}

/** A long activity heartbeats this often whatever it is doing (fetching, uploading, reading), well inside its heartbeat timeout. */
const heartbeatEveryMs = 10_000;

/** Runs `fn` while heartbeating every heartbeatEveryMs, so a dead worker's attempt is retried within the timeout. */
async function heartbeating<T>(fn: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), heartbeatEveryMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The JSONL files for these lines, each within the provider's request and byte limits. */
export function batchFiles(lines: string[]): string[] {
  const files: string[] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 1;
    if (current.length === maxRequestsPerBatch || (current.length > 0 && bytes + size > maxBatchFileBytes)) {
      files.push(current.join('\n') + '\n');
      current = [];
      bytes = 0;
    }
    current.push(line);
    bytes += size;
  }
  if (current.length) files.push(current.join('\n') + '\n');
  return files;
}

export const createBatchActivities = (deps: Deps) => {
  const llmOf = (): LlmClient => {
    if (!deps.llm) throw new Error('Batch mode needs an LLM; this worker has none configured.');
    return deps.llm;
  };
  /** The run's batches the provider knows, by our key, among its newest. */
  const ourBatches = async (openai: OpenAI, runId: string): Promise<Map<string, OpenAI.Batches.Batch>> => {
    const found = new Map<string, OpenAI.Batches.Batch>();
    let seen = 0;
    for await (const batch of openai.batches.list({ limit: 100 })) {
      if (batch.metadata?.sdw_run === runId && batch.metadata.sdw_key) found.set(batch.metadata.sdw_key, batch);
      if (++seen >= batchesSearchedForOurs) break;
    }
    return found;
  };

  /**
   * Writes a request for each customer not yet in the campaign ledger (a customer the bank does not give is left to
   * the sync path), uploads them and makes the batches; a batch this run made already under `key` is reused. With no
   * LLM (offline templates) nothing is submitted. A cancelled attempt stops its uploads and creations where they are.
   */
  const submit = async (input: SubmitBatchesInput): Promise<SubmittedBatch[]> => {
    if (!deps.llm) return [];
    const llm = deps.llm;
    const signal = Context.current().cancellationSignal;
    const chosen = await deps.store.readCampaign(input.campaign, input.ids);
    const lines = new Map<number, string>();
    let unfetched = 0;
    await forEachAtOnce(
      input.ids.filter((id) => !chosen.has(id)),
      fetchesAtOnce,
      async (id) => {
        if (signal.aborted) return;
        const customer = await bankApi.fetchCustomer(input.apiUrl ?? deps.apiUrl, id).catch(() => undefined);
        if (!customer) return void (unfetched += 1);
        const name = firstName(firstName(customer.name, input.locale), input.locale);
        const body = {
          model: llm.model,
          messages: chatMessages(input.locale, name),
          max_tokens: maxCompletionTokens,
        };
        const line: BatchLine = { custom_id: customIdOf(id), method: 'POST', url: '/v1/chat/completions', body };
        lines.set(id, JSON.stringify(line));
      },
    );
    if (signal.aborted) throw new CancelledFailure('The batch submission was cancelled with its run.');
    const ids = input.ids.filter((id) => lines.has(id));
    const files = batchFiles(ids.map((id) => lines.get(id)!));
    try {
      const made = await ourBatches(llm.openai, input.runId);
      const submitted: SubmittedBatch[] = [];
      let first = 0;
      for (const [part, jsonl] of files.entries()) {
        const count = jsonl.split('\n').length - 1;
        const partIds = ids.slice(first, first + count);
        first += count;
        const key = `${input.key}/part-${part}`;
        let batch = made.get(key);
        if (!batch) {
          const file = await llm.openai.files.create(
            {
              file: await toFile(Buffer.from(jsonl), `${input.key.replaceAll('/', '_')}-${part}.jsonl`),
              purpose: 'batch',
            },
            { signal, timeout: fileTransferTimeoutMs },
          );
          batch = await llm.openai.batches.create(
            {
              input_file_id: file.id,
              endpoint: '/v1/chat/completions',
              completion_window: '24h',
              metadata: { sdw_run: input.runId, sdw_key: key },
            },
            { signal },
          );
        }
        submitted.push({ batchId: batch.id, ids: partIds });
      }
      log.info('LLM batches submitted', {
        batches: submitted.map((b) => b.batchId),
        requests: ids.length,
        alreadyChosen: chosen.size,
        unfetched,
      });
      return submitted;
    } catch (err) {
      // Cancelled with the run: reported as cancelled, so the workflow goes on to cancel what was made.
      if (signal.aborted) throw new CancelledFailure('The batch submission was cancelled with its run.');
      throw llmFailure(err, llm.apiKey);
    }
  };

  return {
    /** The page's batches made at the provider (see `submit`), heartbeating throughout. */
    submitLlmBatches: (input: SubmitBatchesInput): Promise<SubmittedBatch[]> => heartbeating(() => submit(input)),
    /** A batch's state at the provider. */
    pollLlmBatch: async (args: { batchId: string }): Promise<BatchState> => {
      const llm = llmOf();
      try {
        return stateOf(await llm.openai.batches.retrieve(args.batchId));
      } catch (err) {
        throw llmFailure(err, llm.apiKey);
      }
    },

    /** A finished batch's replies checked and kept in the ledger (see batch-replies.ts), heartbeating throughout. */
    collectLlmBatch: (input: CollectInput): Promise<CollectedReplies> =>
      heartbeating(() => collectReplies(deps.store, llmOf(), input)),

    /** Cancels the run's batches still running at the provider: those named, and any made under the run's metadata. */
    cancelLlmBatches: async (args: { runId: string; batchIds: string[] }): Promise<string[]> => {
      if (!deps.llm) return [];
      const llm = deps.llm;
      try {
        const ids = new Set([
          ...args.batchIds,
          ...[...(await ourBatches(llm.openai, args.runId)).values()].map((b) => b.id),
        ]);
        const cancelled: string[] = [];
        for (const id of ids) {
          const batch = await llm.openai.batches.retrieve(id);
          if (!['validating', 'in_progress', 'finalizing'].includes(batch.status)) continue;
          await llm.openai.batches.cancel(id);
          cancelled.push(id);
        }
        log.info('LLM batches cancelled', { runId: args.runId, batches: cancelled });
        return cancelled;
      } catch (err) {
        throw llmFailure(err, llm.apiKey);
      }
    },
  };
};

function stateOf(batch: OpenAI.Batches.Batch): BatchState {
  return {
    batchId: batch.id,
    status: batch.status,
    total: batch.request_counts?.total ?? 0,
    completed: batch.request_counts?.completed ?? 0,
    failed: batch.request_counts?.failed ?? 0,
    outputFileId: batch.output_file_id ?? null,
    errorFileId: batch.error_file_id ?? null,
  };
}
