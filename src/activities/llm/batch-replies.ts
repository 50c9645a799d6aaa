// A finished batch's replies: its output and error files read back, each reply tied to its customer by custom_id,
// checked as sync replies are, and kept in the campaign ledger at the batch price; stray lines ignored and counted.
import { log } from '@temporalio/activity';
import type OpenAI from 'openai';
import type { Locale } from '../../personalize';
import type { CampaignLedger } from '../store/store';
import type { BatchState } from './batch';
import {
  batchReplies,
  customerOfCustomId,
  fileTransferTimeoutMs,
  forEachAtOnce,
  type BatchLine,
  type BatchOutputLine,
} from './batch-lines';
import type { LlmClient } from './client';
import { llmFailure } from './errors';
import { nameInPrompt } from './prompts';
import { checkReply } from './reply-check';

/** Replies kept in the ledger at once. */
const choicesAtOnce = 20;

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

/**
 * Reads a finished batch's output and error files, checks every reply as the sync path does, and keeps those that
 * pass in the campaign ledger, batch-priced; failed lines and refused replies are left for the sync path.
 */
export async function collectReplies(
  store: CampaignLedger,
  llm: LlmClient,
  input: CollectInput,
): Promise<CollectedReplies> {
  const read = async (fileId: string | null): Promise<string> =>
    fileId === null ? '' : (await llm.openai.files.content(fileId, { timeout: fileTransferTimeoutMs })).text();
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
    await store.chooseMessage(input.campaign, id, {
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
}
