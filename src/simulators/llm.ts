// An OpenAI-compatible chat completions server on loopback: deterministic short messages, fault knobs,
// and a log of every request it received so tests can check what was sent.
import { appendFileSync } from 'node:fs';
import type OpenAI from 'openai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkRate, close, listen, readRequestBody, sendJson } from './http';
import { createBatchRoutes, noLlmBatchFaults, type LlmBatchFaults, type LlmBatchState } from './llm-batch';

export interface LlmFaults extends LlmBatchFaults {
  latencyMs: number;
  /** Fraction answered 429 with Retry-After. */
  rateLimitRate: number;
  /** Fraction answered 500. */
  errorRate: number;
  /** Every request answered 401, as with a revoked key. */
  rejectKey: boolean;
  /** Fraction answered with an empty or over-long message. */
  badReplyRate: number;
  /** Every reply worded differently, as a live model's are (still a valid message). */
  uniqueReplies: boolean;
  retryAfterSeconds: number;
}

export const noLlmFaults = (): LlmFaults => ({
  latencyMs: 0,
  rateLimitRate: 0,
  errorRate: 0,
  rejectKey: false,
  badReplyRate: 0,
  uniqueReplies: false,
  retryAfterSeconds: 1,
  ...noLlmBatchFaults(),
});

export interface LoggedRequest {
  at: string;
  path: string;
  status: number;
  body: unknown;
}

export interface LlmSimulator {
  url: string;
  /** The base URL an OpenAI client takes (`…/v1`). */
  baseURL: string;
  faults: LlmFaults;
  requests: LoggedRequest[];
  /** The Files and Batches endpoints' files and batches. */
  batches: LlmBatchState;
  close: () => Promise<void>;
}

export interface LlmOptions {
  port?: number;
  faults?: Partial<LlmFaults>;
  /** Also append each request to this file, one JSON line each. */
  logFile?: string;
  /** Requests kept in memory for GET /_requests. */
  keepRequests?: number;
}

export const simulatedModel = 'gpt-4o-mini-simulated';

/** The messages it answers with, by language: every one must pass sdw-etl's reply check. */
export const simulatedMessages = {
  pt: [
    '{name}, investir é plantar hoje o futuro que você quer colher. Comece agora!',
    '{name}, seu dinheiro rende mais quando você investe com estratégia. Que tal começar?',
    '{name}, cada real investido hoje é um passo rumo aos seus sonhos.',
    '{name}, investir com regularidade transforma pequenas quantias em grandes conquistas.',
  ],
  en: [
    '{name}, investing today plants the future you want to harvest. Start now!',
    '{name}, your money grows when you invest with a plan. Why not begin?',
    '{name}, every real you invest today is a step toward your dreams.',
    '{name}, investing regularly turns small sums into big achievements.',
  ],
};

/**
 * The pieces of the replies worded differently each time: "{name}, {how} {when} {what}". The n-th reply takes the
 * n-th combination, so the first 512 of each language are all different, and every one passes the reply check.
 */
export const uniqueReplyPieces = {
  pt: {
    how: [
      'investir',
      'poupar e investir',
      'aplicar com calma',
      'diversificar',
      'investir todo mês',
      'planejar e investir',
      'começar a investir',
      'investir com foco',
    ],
    when: [
      'hoje',
      'desde já',
      'com estratégia',
      'com regularidade',
      'com disciplina',
      'sem pressa',
      'com metas claras',
      'pensando no futuro',
    ],
    what: [
      'abre caminhos para seus sonhos.',
      'faz seu dinheiro render.',
      'constrói o seu amanhã.',
      'traz tranquilidade para você.',
      'é um presente para você.',
      'aproxima os seus planos.',
      'faz toda a diferença.',
      'fortalece o seu futuro.',
    ],
  },
  en: {
    how: [
      'investing',
      'saving and investing',
      'investing calmly',
      'diversifying',
      'investing every month',
      'planning and investing',
      'starting to invest',
      'investing with focus',
    ],
    when: [
      'today',
      'right now',
      'with a plan',
      'regularly',
      'with discipline',
      'patiently',
      'with clear goals',
      'for the future',
    ],
    what: [
      'opens the way to your dreams.',
      'makes your money work for you.',
      'builds your tomorrow.',
      'brings you peace of mind.',
      'is a gift to yourself.',
      'brings your plans closer.',
      'makes all the difference.',
      'strengthens your future.',
    ],
  },
};

/** The n-th reply worded differently, for a name. */
export function uniqueReply(n: number, name: string, english: boolean): string {
  const pieces = english ? uniqueReplyPieces.en : uniqueReplyPieces.pt;
  const pick = (list: string[], k: number): string => list[Math.floor(n / k) % list.length]!;
  const sentence = `${pick(pieces.how, 1)} ${pick(pieces.when, 8)} ${pick(pieces.what, 64)}`;
  return `${name}, ${sentence}`;
}

/** A stable small hash, so the same prompt always gets the same answer. */
function hash(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619) >>> 0;
  return h;
}

/** Roughly what a tokenizer counts: about four characters a token. */
const tokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

interface ChatRequest {
  model?: string;
  messages?: { role?: string; content?: unknown }[];
}

function reply(request: ChatRequest, unique: number | undefined): string {
  const user = request.messages?.find((m) => m.role === 'user');
  const prompt = typeof user?.content === 'string' ? user.content : '';
  const english = /\bWrite a message for\b/.test(prompt);
  const name =
    /(?:mensagem para|message for) "?(.+?)"? (?:sobre|about)/.exec(prompt)?.[1]?.trim() ||
    (english ? 'Customer' : 'Cliente');
  if (unique !== undefined) return uniqueReply(unique, name, english);
  const list = english ? simulatedMessages.en : simulatedMessages.pt;
  return (list[hash(prompt) % list.length] ?? '{name}').replace('{name}', name);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startLlm(options: LlmOptions = {}): Promise<LlmSimulator> {
  const faults: LlmFaults = { ...noLlmFaults(), ...options.faults };
  for (const key of ['rateLimitRate', 'errorRate', 'badReplyRate', 'batchLineErrorRate'] as const)
    checkRate(key, faults[key]);
  const requests: LoggedRequest[] = [];
  let repliesWritten = 0;
  const keep = options.keepRequests ?? 10_000;
  let created = 0;
  const batchRoutes = createBatchRoutes(faults, answerChat);

  const log = (entry: LoggedRequest): void => {
    requests.push(entry);
    if (requests.length > keep) requests.shift();
    if (options.logFile) appendFileSync(options.logFile, JSON.stringify(entry) + '\n');
  };
  const error = (
    res: ServerResponse,
    status: number,
    type: string,
    message: string,
    headers: Record<string, string> = {},
  ): void => sendJson(res, status, { error: { message, type, param: null, code: type } }, headers);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/_requests') return sendJson(res, 200, requests);
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      if (faults.rejectKey) return error(res, 401, 'invalid_api_key', 'Incorrect API key provided.');
      // The model sdw-etl asks for by default is offered, as OpenAI offers it.
      const models = [simulatedModel, 'gpt-4o-mini'];
      return sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'sdw-etl' })),
      });
    }
    // Checked before any await: a request's body must be read in the same turn it arrives, or its chunks pass by.
    if (batchRoutes.serves(url) && (await batchRoutes.handle(req, res, url))) return;
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      return error(res, 404, 'not_found', `Unknown route ${req.method} ${url.pathname}`);
    }
    const text = await readRequestBody(req);
    let body: ChatRequest | undefined;
    try {
      body = text === undefined ? undefined : (JSON.parse(text) as ChatRequest);
    } catch {
      body = undefined;
    }
    const at = new Date().toISOString();
    const answer = (status: number): void => log({ at, path: url.pathname, status, body: body ?? text ?? null });
    if (!body || !Array.isArray(body.messages)) {
      answer(400);
      return error(res, 400, 'invalid_request_error', 'The request body must be JSON with a messages array.');
    }
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (faults.rejectKey) {
      answer(401);
      // Like some real servers, it echoes the key it refused: the client must keep it out of what it reports.
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      return error(res, 401, 'invalid_api_key', `Incorrect API key provided: ${key}.`);
    }
    if (Math.random() < faults.rateLimitRate) {
      answer(429);
      return error(res, 429, 'rate_limit_exceeded', 'Rate limit reached.', {
        'retry-after': String(faults.retryAfterSeconds),
      });
    }
    if (Math.random() < faults.errorRate) {
      answer(500);
      return error(res, 500, 'server_error', 'The server had an error while processing your request.');
    }
    answer(200);
    return sendJson(res, 200, answerChat(body));
  }

  /** A reply to a chat request (sync, or a batch's line), with the bad-reply knob applied. */
  function answerChat(request: unknown): OpenAI.Chat.Completions.ChatCompletion {
    const body = request as ChatRequest;
    let content = reply(body, faults.uniqueReplies ? repliesWritten++ : undefined);
    if (Math.random() < faults.badReplyRate) {
      content = created % 2 === 0 ? '' : `${content} ${'Invista! '.repeat(30)}`.trim();
    }
    const messages = body.messages ?? [];
    const prompt = messages.map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n');
    created += 1;
    const promptTokens = tokens(prompt) + 7 * messages.length;
    return {
      id: `chatcmpl-sim-${created}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: simulatedModel,
      choices: [
        { index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: tokens(content),
        total_tokens: promptTokens + tokens(content),
      },
    };
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) error(res, 500, 'server_error', 'The simulator failed.');
    });
  });
  const url = await listen(server, options.port ?? 0);
  return { url, baseURL: `${url}/v1`, faults, requests, batches: batchRoutes.state, close: () => close(server) };
}
