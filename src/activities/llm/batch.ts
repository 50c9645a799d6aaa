// Batch mode's provider side: a page's customers written as JSONL chat requests, uploaded and made into OpenAI
// batches; a batch's state; its replies checked and kept in the campaign ledger; the run's batches cancelled.
import { Context, log } from '@temporalio/activity';
import { toFile } from 'openai';
import type OpenAI from 'openai';
import type { Locale } from '../../personalize';
import { firstName } from '../../personalize';
import * as bankApi from '../bank-api';
import type { RecordStore } from '../store/store';
import type { LlmClient } from './client';
import { llmFailure } from './errors';
import { chatMessages, maxCompletionTokens, nameInPrompt } from './prompts';
import { checkReply } from './reply-check';
import { batchReplies, customerOfCustomId, customIdOf, type BatchLine, type BatchOutputLine } from './batch-lines';

/** The provider's limits on one batch input file. */
export const maxRequestsPerBatch = 50_000;
export const maxBatchFileBytes = 200 * 1024 * 1024;
/** Customers fetched from the bank at once while a batch is written: the sync path's default concurrency. */
const fetchesAtOnce = 20;
/** Replies kept in the ledger at once. */
const choicesAtOnce = 20;
/** The provider's batches looked through for one this run already made (newest first) before making it again. */
const batchesSearchedForOurs = 500;

/** A batch made at the provider and the customers it asks for. */
export interface SubmittedBatch {
  batchId: string;
  ids: number[];
}

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

export interface CollectInput {
  runId: string;
  campaign: string;
  locale: Locale;
  batch: BatchState;
  ids: number[];
}

/** What a batch's replies came to: kept in the ledger, refused by the check, failed, or ignored (unknown custom_id). */
export interface CollectedReplies {
  accepted: number;
  rejected: number;
  failedLines: number;
  ignored: number;
  /** Up to ten of the ignored custom_ids, for the log and the status. */
  ignoredCustomIds: string[];
}

interface Deps {
  store: RecordStore;
  llm: LlmClient | undefined;
  apiUrl: string;
}

/** Runs `fn` over `items`, `atOnce` at a time, heartbeating as it goes. */
async function forEachAtOnce<T>(items: T[], atOnce: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      await fn(items[next++]!);
      if (next % 100 === 0) Context.current().heartbeat(next);
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, lane));
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

  return {
    /**
     * Writes a request for each customer not yet in the campaign ledger (a customer the bank does not give is left
     * to the sync path), uploads them and makes the batches; a batch this run made already under `key` is reused.
     * With no LLM (offline templates) nothing is submitted.
     */
    submitLlmBatches: async (input: SubmitBatchesInput): Promise<SubmittedBatch[]> => {
      if (!deps.llm) return [];
      const llm = deps.llm;
      const chosen = await deps.store.readCampaign(input.campaign, input.ids);
      const lines = new Map<number, string>();
      let unfetched = 0;
      await forEachAtOnce(
        input.ids.filter((id) => !chosen.has(id)),
        fetchesAtOnce,
        async (id) => {
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
            const file = await llm.openai.files.create({
              file: await toFile(Buffer.from(jsonl), `${input.key.replaceAll('/', '_')}-${part}.jsonl`),
              purpose: 'batch',
            });
            batch = await llm.openai.batches.create({
              input_file_id: file.id,
              endpoint: '/v1/chat/completions',
              completion_window: '24h',
              metadata: { sdw_run: input.runId, sdw_key: key },
            });
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
        throw llmFailure(err, llm.apiKey);
      }
    },

    /** A batch's state at the provider. */
    pollLlmBatch: async (args: { batchId: string }): Promise<BatchState> => {
      const llm = llmOf();
      try {
        return stateOf(await llm.openai.batches.retrieve(args.batchId));
      } catch (err) {
        throw llmFailure(err, llm.apiKey);
      }
    },

    /**
     * Reads a finished batch's output and error files, checks every reply as the sync path does, and keeps those
     * that pass in the campaign ledger, batch-priced; failed lines and refused replies are left for the sync path.
     */
    collectLlmBatch: async (input: CollectInput): Promise<CollectedReplies> => {
      const llm = llmOf();
      const read = async (fileId: string | null): Promise<string> =>
        fileId === null ? '' : (await llm.openai.files.content(fileId)).text();
      let output: string, errors: string, requests: string;
      try {
        const batch = await llm.openai.batches.retrieve(input.batch.batchId);
        [output, errors, requests] = await Promise.all([
          read(input.batch.outputFileId),
          read(input.batch.errorFileId),
          read(batch.input_file_id),
        ]);
      } catch (err) {
        throw llmFailure(err, llm.apiKey);
      }
      const names = new Map<number, string>();
      for (const line of batchReplies<BatchLine>(requests).lines) {
        const id = customerOfCustomId(line.custom_id);
        const prompt = line.body.messages.find((m) => m.role === 'user')?.content;
        const name = prompt === undefined ? undefined : nameInPrompt(input.locale, prompt);
        if (id !== undefined && name !== undefined) names.set(id, name);
      }
      const ours = new Set(input.ids);
      const seen = new Set<number>();
      const result: CollectedReplies = { accepted: 0, rejected: 0, failedLines: 0, ignored: 0, ignoredCustomIds: [] };
      const replies: { id: number; reply: OpenAI.Chat.Completions.ChatCompletion }[] = [];
      const replyLines = batchReplies<BatchOutputLine>(output);
      result.ignored += replyLines.unreadable;
      for (const line of replyLines.lines) {
        const id = customerOfCustomId(line.custom_id);
        if (id === undefined || !ours.has(id) || seen.has(id) || !names.has(id)) {
          result.ignored += 1;
          if (result.ignoredCustomIds.length < 10) result.ignoredCustomIds.push(String(line.custom_id).slice(0, 80));
          continue;
        }
        seen.add(id);
        const body = line.response?.status_code === 200 ? line.response.body : undefined;
        if (body) replies.push({ id, reply: body });
        else result.failedLines += 1;
      }
      const errorLines = batchReplies(errors);
      result.failedLines += errorLines.lines.length + errorLines.unreadable;
      await forEachAtOnce(replies, choicesAtOnce, async ({ id, reply }) => {
        const checked = checkReply(reply.choices[0]?.message.content, input.locale, names.get(id)!);
        if ('problem' in checked) {
          result.rejected += 1;
          return;
        }
        const tokens = {
          promptTokens: reply.usage?.prompt_tokens ?? 0,
          completionTokens: reply.usage?.completion_tokens ?? 0,
          pricing: 'batch' as const,
        };
        const model = reply.model || llm.model;
        await deps.store.chooseMessage(input.campaign, id, {
          message: checked.message,
          messageSource: 'llm',
          model,
          tokens,
          runId: input.runId,
        });
        result.accepted += 1;
      });
      if (result.ignored) log.warn('LLM batch replies ignored', { batchId: input.batch.batchId, ...result });
      log.info('LLM batch collected', { batchId: input.batch.batchId, ...result });
      return result;
    },

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
