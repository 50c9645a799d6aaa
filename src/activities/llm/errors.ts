// Maps whatever the OpenAI client throws to a failure Temporal retries (outages, 429 after Retry-After) or not.
import OpenAI from 'openai';
import type { ApplicationFailure } from '@temporalio/common';
import { failureTypes } from '../../failures';
import { activityFailure } from '../failure';
import { retryAfterMs } from '../http';

export function llmFailure(err: unknown, apiKey: string): ApplicationFailure {
  // Whatever its length: a short key echoed by a server is still a key.
  const redact = (text: string): string => (apiKey === '' ? text : text.split(apiKey).join('[redacted]'));
  if (err instanceof OpenAI.RateLimitError) {
    const headers = err.headers;
    const ms = headers?.get('retry-after-ms');
    const delay = ms ? Number(ms) : retryAfterMs(headers?.get('retry-after') ?? null);
    return activityFailure(failureTypes.llmRateLimited, `The LLM is rate limiting (429); retry in ${delay} ms.`, {
      nextRetryDelayMs: delay,
    });
  }
  if (
    err instanceof OpenAI.AuthenticationError ||
    err instanceof OpenAI.PermissionDeniedError ||
    err instanceof OpenAI.BadRequestError ||
    err instanceof OpenAI.NotFoundError ||
    err instanceof OpenAI.UnprocessableEntityError
  ) {
    return activityFailure(
      failureTypes.llmRejected,
      redact(`The LLM refused the request (${err.status}): ${err.message}`),
      { nonRetryable: true },
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return activityFailure(failureTypes.llmUnavailable, redact(`The LLM did not answer: ${message}`));
}
