// The LLM provider: one short, personal investment message per customer, checked before it can be loaded.
// A second provider is a module beside this one with the same writeMessage contract.
import type OpenAI from 'openai';
import { Context, log } from '@temporalio/activity';
import { failureTypes } from '../../failures';
import type { MessageSource, TokenUsage } from '../../outcomes';
import { firstName, templateMessage, type Locale } from '../../personalize';
import { httpSpan } from '../../telemetry/spans';
import { activityFailure } from '../failure';
import type { LlmClient } from './client';
import { llmFailure } from './errors';
import { chatMessages, maxCompletionTokens } from './prompts';
import { checkReply } from './reply-check';

/** A bad reply is asked for again at once: backing off does not make the next one better. */
const badReplyRetryDelayMs = 200;

export interface WriteMessageInput {
  id: number;
  /** Only the first name leaves the bank's side: never account or card data. */
  firstName: string;
  locale: Locale;
}

export interface WrittenMessage {
  message: string;
  messageSource: MessageSource;
  model: string | null;
  tokens: TokenUsage;
  attempt: number;
}

/** Asks the LLM for one short, personal investment message; offline templates when no LLM is configured. */
export async function writeMessage(llm: LlmClient | undefined, input: WriteMessageInput): Promise<WrittenMessage> {
  const attempt = Context.current().info.attempt;
  const name = firstName(input.firstName, input.locale);
  if (!llm) {
    return {
      message: templateMessage(input.id, name, input.locale),
      messageSource: 'template',
      model: null,
      tokens: { promptTokens: 0, completionTokens: 0 },
      attempt,
    };
  }
  let completion: OpenAI.Chat.Completions.ChatCompletion;
  try {
    completion = await httpSpan('POST /chat/completions', { 'gen_ai.request.model': llm.model }, () =>
      llm.openai.chat.completions.create(
        {
          model: llm.model,
          messages: chatMessages(input.locale, name),
          max_tokens: maxCompletionTokens,
        },
        { signal: Context.current().cancellationSignal },
      ),
    );
  } catch (err) {
    throw llmFailure(err, llm.apiKey);
  }
  const tokens = {
    promptTokens: completion.usage?.prompt_tokens ?? 0,
    completionTokens: completion.usage?.completion_tokens ?? 0,
  };
  const checked = checkReply(completion.choices[0]?.message.content, input.locale, name);
  if ('problem' in checked) {
    log.warn('LLM reply rejected; asking again', { customerId: input.id, problem: checked.problem, attempt });
    throw activityFailure(failureTypes.llmBadReply, `The LLM's reply was not usable: ${checked.problem}.`, {
      nextRetryDelayMs: badReplyRetryDelayMs,
    });
  }
  return { message: checked.message, messageSource: 'llm', model: completion.model || llm.model, tokens, attempt };
}
