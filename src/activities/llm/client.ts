// The LLM client: the OpenAI package pointed at OpenAI or any OpenAI-compatible server, never retrying by itself.
import OpenAI from 'openai';

/** Below writeMessage's start-to-close timeout, so a slow LLM fails the attempt before Temporal gives up on it. */
export const llmRequestTimeoutMs = 20_000;

export interface LlmClient {
  openai: OpenAI;
  model: string;
  /** Kept to redact it from any error text that could echo it. */
  apiKey: string;
}

export function createLlmClient(config: { baseURL: string | undefined; apiKey: string; model: string }): LlmClient {
  return {
    // Retries belong to Temporal, so the client itself never retries.
    openai: new OpenAI({ apiKey: config.apiKey, baseURL: config.baseURL, maxRetries: 0, timeout: llmRequestTimeoutMs }),
    model: config.model,
    apiKey: config.apiKey,
  };
}
