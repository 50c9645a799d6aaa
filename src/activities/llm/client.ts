// The LLM client: the OpenAI package pointed at OpenAI or any OpenAI-compatible server, never retrying by itself.
import OpenAI from 'openai';
import { exchange } from '../http';

/** Below writeMessage's start-to-close timeout, so a slow LLM fails the attempt before Temporal gives up on it. */
export const llmRequestTimeoutMs = 20_000;
/** A chat completion is a few kilobytes; anything far larger is refused instead of held in memory. */
const maxCompletionBytes = 1024 * 1024;

/**
 * The client's fetch. A request with a text body (a chat completion, one per customer) goes over node:http's
 * kept-alive connections, like the bank's: fetch spends about three times the CPU a request (docs/benchmarks.md,
 * "Where the time goes"). Anything else (the Batch API's files and polls) goes through fetch.
 */
const llmFetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
  if (typeof url !== 'string' || init?.method !== 'POST' || typeof init.body !== 'string') return fetch(url, init);
  const answer = await exchange(url, {
    method: 'POST',
    headers: Object.fromEntries(new Headers(init.headers)),
    body: init.body,
    // The client's own timeout (its signal) ends the request first; this deadline is a backstop.
    timeoutMs: llmRequestTimeoutMs + 1_000,
    maxBytes: maxCompletionBytes,
    signal: init.signal ?? undefined,
  });
  // A 204, 205 or 304 has no body, and a Response refuses one.
  const body = [204, 205, 304].includes(answer.status) ? null : answer.body;
  return new Response(body, { status: answer.status, headers: answer.headerList() });
};

export interface LlmClient {
  openai: OpenAI;
  model: string;
  /** Kept to redact it from any error text that could echo it. */
  apiKey: string;
}

export function createLlmClient(config: { baseURL: string | undefined; apiKey: string; model: string }): LlmClient {
  return {
    // Retries belong to Temporal, so the client itself never retries.
    openai: new OpenAI({
      apiKey: config.apiKey,
      baseURL: config.baseURL,
      maxRetries: 0,
      timeout: llmRequestTimeoutMs,
      fetch: llmFetch,
    }),
    model: config.model,
    apiKey: config.apiKey,
  };
}
